import Foundation
import GRDB
import StreamDBModel

extension StatusTimeline {
    /// The timelines of every job of `jobUID`'s chain of replacements (older and newer), as one:
    /// each entry names its job, and each hand-over is a `replaced` entry at the time the old
    /// job's 404 was seen.
    static func loadChain(jobUID: String, since: Date?, until: Date?, in db: Database) throws -> StatusTimeline {
        let jobs = try chain(of: jobUID, in: db)
        var entries: [Entry] = []
        var firstSeen: Date?
        for job in jobs {
            let timeline = try load(jobUID: job, since: since, until: until, asOf: nil, in: db)
            firstSeen = firstSeen ?? timeline.firstSeenAt
            entries += timeline.entries.map { entry in
                var entry = entry
                entry.jobUID = job
                return entry
            }
        }
        let handovers = try Row.fetchAll(
            db,
            sql: """
                SELECT old_job_uid, new_job_uid, detected_at FROM replacements
                WHERE old_job_uid IN (SELECT value FROM json_each(?)) ORDER BY detected_at
                """, arguments: [String(decoding: try JSONSerialization.data(withJSONObject: jobs), as: UTF8.self)])
        for row in handovers {
            guard let at = row.date("detected_at") else { continue }
            if let since, at < since { continue }
            if let until, at > until { continue }
            var entry = Entry(
                at: at, until: nil, isInterval: false, event: .replaced, status: nil, durationSeconds: nil, timeSource: .sync)
            entry.jobUID = row["old_job_uid"]
            entry.replacedBy = row["new_job_uid"]
            entries.append(entry)
        }
        entries.sort { ($0.at, $0.isInterval ? 0 : 1) < ($1.at, $1.isInterval ? 0 : 1) }
        return StatusTimeline(jobUID: jobUID, entries: entries, asOf: nil, firstSeenAt: firstSeen)
    }

    /// The jobs of the chain `jobUID` belongs to, first to last (the job alone when it is in none).
    static func chain(of jobUID: String, in db: Database) throws -> [String] {
        let jobs = try String.fetchAll(
            db,
            sql: """
                SELECT job_uid FROM stream_chains
                WHERE chain_job_uid = (SELECT chain_job_uid FROM stream_chains WHERE job_uid = ? LIMIT 1)
                ORDER BY position
                """, arguments: [jobUID])
        return jobs.isEmpty ? [jobUID] : jobs
    }
}
