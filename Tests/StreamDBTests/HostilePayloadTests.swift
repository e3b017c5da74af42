import Foundation
import GRDB
import StreamDBAPI
import StreamDBModel
import StreamDBOutput
import StreamDBQuery
import StreamDBStore
import StreamDBSync
import Testing

/// The hostile payload corpus (`Fixtures/hostile`): every body a server could get wrong, served
/// over real HTTP as one stream's detail answer, synced into a real database, with the outcome
/// `Fixtures/hostile/MANIFEST.tsv` defines for it.
@Suite("Hostile payloads")
struct HostilePayloadTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "Fixtures/hostile")

    /// One line of the manifest.
    struct Entry: Sendable {
        enum Outcome: String, Sendable {
            case stored, rejected
            /// Stored, but the payload view does not give the body back exactly (a known limit).
            case storedAltered = "stored-altered"
        }
        let file: String
        let outcome: Outcome
        /// The kinds of the stream's `sync_errors` rows in the run, sorted.
        let errors: [String]
        /// An SQL condition on the stream's current row (`st`: streams, `v`: stream_versions).
        let check: String?
    }

    static func manifest() throws -> [Entry] {
        let text = try String(contentsOf: folder.appending(path: "MANIFEST.tsv"), encoding: .utf8)
        return try text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }.map { line in
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard columns.count == 4, let outcome = Entry.Outcome(rawValue: columns[1]) else {
                throw ManifestError(line: String(line))
            }
            return Entry(
                file: columns[0], outcome: outcome,
                errors: columns[2] == "-" ? [] : columns[2].split(separator: ",").map(String.init).sorted(),
                check: columns[3] == "-" ? nil : columns[3])
        }
    }

    struct ManifestError: Error, CustomStringConvertible {
        let line: String
        var description: String { "MANIFEST.tsv: not 'file<TAB>stored|stored-altered|rejected<TAB>errors<TAB>check': \(line)" }
    }

    /// A corpus file's bytes with the placeholders replaced by the uid asked for.
    static func body(_ file: String, uid: String) throws -> [UInt8] {
        var bytes = [UInt8](try Data(contentsOf: folder.appending(path: file)))
        for (placeholder, value) in [("{{UID_UPPER}}", uid.uppercased()), ("{{UID}}", uid)] {
            bytes = replacing(Array(placeholder.utf8), with: Array(value.utf8), in: bytes)
        }
        return bytes
    }

    private static func replacing(_ pattern: [UInt8], with replacement: [UInt8], in bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == pattern[0], i + pattern.count <= bytes.count, Array(bytes[i..<(i + pattern.count)]) == pattern {
                out += replacement
                i += pattern.count
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    @Test("Every file of the corpus has a defined outcome in MANIFEST.tsv, and every outcome names a file")
    func manifestCoversCorpus() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path()).filter { $0 != "MANIFEST.tsv" }.sorted()
        let entries = try Self.manifest()
        #expect(entries.map(\.file).sorted() == files)
        #expect(Set(entries.map(\.file)).count == entries.count, "a file is listed twice")
        #expect(files.count >= 93)
    }

    /// Everything the database holds about one stream, to compare before and after.
    static func rows(_ uid: String, _ db: Database) throws -> [[Row]] {
        [
            try Row.fetchAll(db, sql: "SELECT * FROM streams WHERE job_uid = ?", arguments: [uid]),
            try Row.fetchAll(db, sql: "SELECT * FROM snapshots WHERE job_uid = ? ORDER BY version", arguments: [uid]),
            try Row.fetchAll(db, sql: "SELECT * FROM status_history WHERE job_uid = ? ORDER BY changed_at, observed_at", arguments: [uid]),
        ]
    }

    /// `platform_json` and `binary_json` strings that hold JSON, in canonical spelling.
    static func configsCanonical(_ payload: JSONValue) -> JSONValue {
        guard case .object(var members) = payload else { return payload }
        for key in ["platform_json", "binary_json"] {
            if case .string(let text)? = members[key], let parsed = try? JSONValue.parse(text) {
                members[key] = .string(parsed.canonicalText)
            }
        }
        return .object(members)
    }

    @Test(
        "Each hostile body has its defined outcome; a rejected one leaves the stream's stored history as it was",
        .timeLimit(.minutes(2)))
    func corpus() async throws {
        let entries = try Self.manifest()
        let healthy = 3
        try await withHarness(streams: entries.count + healthy, seed: 31) { h in
            try await h.sync()
            let live = h.fleet.liveStreams
            var served: [String: [UInt8]] = [:]
            var before: [String: [[Row]]] = [:]
            for (entry, stream) in zip(entries, live) {
                served[stream.jobUID] = try Self.body(entry.file, uid: stream.jobUID)
                before[stream.jobUID] = try h.read { db in try Self.rows(stream.jobUID, db) }
            }
            // The streams without a hostile body change status, so the run has to store them.
            let others = live.suffix(healthy)
            for stream in others { h.fleet.setStatus(stream.jobUID, stream.status == 6 ? 11 : 6) }
            h.server.setOptions { [served] in $0.detailBodies = served }

            var options = SyncOptions()
            options.useList = false  // every stream through its detail route
            let started = ContinuousClock.now
            let report = try await h.sync(options)
            #expect(ContinuousClock.now - started < .seconds(60), "the corpus run took \(ContinuousClock.now - started)")
            #expect(report.outcome == .partial)
            #expect(report.counts.seen == entries.filter { $0.outcome != .rejected }.count + healthy)
            #expect(report.counts.errors == (try h.count("SELECT count(*) FROM sync_errors WHERE sync_run_id = ?", [report.runID])))
            #expect(
                try h.count(
                    "SELECT count(*) FROM sync_errors WHERE sync_run_id = ? AND (message = '' OR instr(message, char(10)) > 0)",
                    [report.runID]) == 0)
            for stream in others {
                #expect(
                    try h.count("SELECT status FROM streams WHERE job_uid = ?", [stream.jobUID]) == h.fleet.stream(stream.jobUID)?.status)
            }

            for (entry, stream) in zip(entries, live) {
                let uid = stream.jobUID
                let (after, errors, current) = try h.read { db in
                    (
                        try Self.rows(uid, db),
                        try String.fetchAll(
                            db, sql: "SELECT kind FROM sync_errors WHERE sync_run_id = ? AND job_uid = ? ORDER BY kind",
                            arguments: [report.runID, uid]),
                        try Row.fetchOne(
                            db,
                            sql: """
                                SELECT v.version, v.sync_run_id, v.payload FROM streams AS st JOIN stream_versions AS v
                                  ON v.job_uid = st.job_uid AND v.version = st.current_version WHERE st.job_uid = ?
                                """, arguments: [uid])
                    )
                }
                let old = try #require(before[uid])
                #expect(errors == entry.errors, "\(entry.file): sync_errors kinds")
                switch entry.outcome {
                case .rejected:
                    #expect(after == old, "\(entry.file): a rejected body changed the stored stream")
                case .stored, .storedAltered:
                    // A new version from this run, and the versions before it untouched.
                    #expect(after[1].count == old[1].count + 1, "\(entry.file): no new version")
                    #expect(Array(after[1].prefix(old[1].count)) == old[1], "\(entry.file): an earlier version changed")
                    #expect(current?["sync_run_id"] as Int64? == report.runID, "\(entry.file): the current version is not this run's")
                    // The payload view gives back the object as served (credentials masked; the
                    // config strings as canonical JSON when they are JSON).
                    let payload = (current?["payload"] as String?).flatMap { try? JSONValue.parse($0) }
                    let expected = try JSONValue.parse(
                        Data(try JSONValue.parse(Data(try #require(served[uid]))).canonicalBytes(maskingCredentials: true)))
                    if entry.outcome == .stored {
                        #expect(
                            payload.map(Self.configsCanonical) == Self.configsCanonical(expected),
                            "\(entry.file): the stored payload is not the body as served")
                    } else {
                        withKnownIssue("\(entry.file): the payload view alters this body (see MANIFEST.tsv)") {
                            #expect(payload.map(Self.configsCanonical) == Self.configsCanonical(expected))
                        }
                    }
                }
                if let check = entry.check {
                    let holds = try h.read { db in
                        try Bool.fetchOne(
                            db,
                            sql: """
                                SELECT (\(check)) FROM streams AS st JOIN stream_versions AS v
                                  ON v.job_uid = st.job_uid AND v.version = st.current_version WHERE st.job_uid = ?
                                """, arguments: [uid])
                    }
                    #expect(holds == true, "\(entry.file): \(check)")
                }
            }
            // The database is whole, and once the server serves good bodies again the mirror completes.
            #expect(try h.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") } == "ok")
            // Every stored document is JSON to SQLite too (no CHECK says so since migration 0012).
            #expect(try h.count("SELECT count(*) FROM documents WHERE json IS NOT NULL AND NOT json_valid(json)") == 0)
            #expect(try h.count("SELECT count(*) FROM documents WHERE json IS NOT NULL") > entries.count)
            #expect(try h.count(TestHarness.missingCurrentVersionsSQL) == 0)
            h.server.setOptions { $0.detailBodies = [:] }
            #expect(try await h.sync().outcome == .ok)
            #expect(try h.mirrorsFleet())
        }
    }
}
