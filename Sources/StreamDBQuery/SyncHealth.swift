import Foundation
import GRDB
import StreamDBModel
import StreamDBStore

/// What a monitor wants to know of each source after a cron run: its last run (outcome, times,
/// counts, errors by kind) and when a run last succeeded. `streamdb sync --metrics-file` writes
/// it in Prometheus' text format.
public struct SyncHealth: Sendable {
    public struct Source: Sendable {
        public let name: String
        /// The source's last run (the highest id); nil for a source never synced.
        public let lastRun: SyncRunLedger.Run?
        /// Its errors by `sync_errors.kind`, most first.
        public let errorsByKind: [(kind: String, count: Int)]
        /// When the last run that ended `ok` finished.
        public let lastSuccessAt: Date?
    }

    /// By name.
    public let sources: [Source]

    static func load(sources names: [String]?, in db: Database) throws -> SyncHealth {
        let sources = try Row.fetchAll(db, sql: "SELECT id, name FROM sources ORDER BY name")
        var result: [Source] = []
        for source in sources {
            let name: String = source["name"]
            if let names, !names.contains(name) { continue }
            let sourceID: Int64 = source["id"]
            let run = try Row.fetchOne(
                db, sql: "SELECT * FROM sync_runs WHERE source_id = ? ORDER BY id DESC LIMIT 1", arguments: [sourceID]
            ).map { try SyncRunLedger.run($0, source: name, in: db) }
            let errors = try Row.fetchAll(
                db, sql: "SELECT kind, count(*) AS n FROM sync_errors WHERE sync_run_id = ? GROUP BY kind ORDER BY n DESC, kind",
                arguments: [run?.id]
            ).map { (kind: $0["kind"] as String, count: $0["n"] as Int) }
            let success = try String.fetchOne(
                db, sql: "SELECT max(finished_at) FROM sync_runs WHERE source_id = ? AND outcome = 'ok'", arguments: [sourceID])
            result.append(Source(name: name, lastRun: run, errorsByKind: errors, lastSuccessAt: success.flatMap(Timestamp.parse)))
        }
        return SyncHealth(sources: result)
    }
}
