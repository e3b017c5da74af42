import Foundation
import GRDB

/// Finds a stream by its job_uid or a unique prefix of it, like git's short hashes.
enum StreamLookup {
    static func resolve(_ text: String, in db: Database) throws -> String {
        let needle = text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard !needle.isEmpty, needle.allSatisfy({ $0.isHexDigit || $0 == "-" }) else {
            throw QueryError("'\(text)' is not a job_uid or the start of one.")
        }
        let matches = try String.fetchAll(
            db, sql: "SELECT job_uid FROM streams WHERE job_uid >= ? AND job_uid < ? ORDER BY job_uid LIMIT 6",
            arguments: [needle, needle + "\u{7f}"])
        switch matches.count {
        case 1: return matches[0]
        case 0:
            let near = try String.fetchAll(
                db,
                sql: "SELECT job_uid FROM streams WHERE substr(job_uid, 1, 4) = substr(?, 1, 4) ORDER BY job_uid LIMIT 3",
                arguments: [needle])
            let hint = near.isEmpty ? "" : " Close matches: \(near.joined(separator: ", "))."
            throw QueryError("no stream with job_uid '\(text)' in the database.\(hint)")
        default:
            let shown = matches.prefix(5).joined(separator: ", ")
            throw QueryError(
                "'\(text)' matches several streams (\(shown)\(matches.count > 5 ? ", ..." : "")); give more of the job_uid.")
        }
    }
}
