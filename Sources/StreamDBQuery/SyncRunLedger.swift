import Foundation
import GRDB
import StreamDBModel
import StreamDBStore

/// `streamdb runs`: the last sync runs with outcome and counts, and the errors of each.
public struct SyncRunLedger: Sendable {
    public struct Run: Sendable {
        public let id: Int64
        public let startedAt: Date?
        public let finishedAt: Date?
        /// Nil for a value this streamdb does not know (a newer one wrote it).
        public let outcome: SyncOutcome?
        public let listing: ListingState?
        public let counts: SyncCounts
        public let sourceURL: String
        /// The name of the source synced.
        public let source: String?

        /// Seconds from start to finish; nil for a run that did not finish.
        public var elapsedSeconds: Double? {
            guard let startedAt, let finishedAt else { return nil }
            return finishedAt.timeIntervalSince(startedAt)
        }
    }

    public struct Error: Sendable {
        public let runID: Int64
        public let jobUID: String?
        /// As stored in `sync_errors.kind` (`http_503`, `invalid_field`, ...).
        public let kind: String
        public let attempts: Int64?
        public let message: String
    }

    /// The last runs, oldest first.
    public let runs: [Run]
    /// The first errors of those runs, in order.
    public let errors: [Error]
    /// Whether the database holds more than one source.
    public let severalSources: Bool

    static func load(last: Int, errorLimit: Int, source: String? = nil, in db: Database) throws -> SyncRunLedger {
        let runs = try Row.fetchAll(
            db,
            sql: """
                SELECT * FROM (
                    SELECT r.*, src.name AS source FROM sync_runs AS r LEFT JOIN sources AS src ON src.id = r.source_id
                    WHERE ?1 IS NULL OR src.name = ?1 ORDER BY r.id DESC LIMIT ?2
                ) ORDER BY id
                """, arguments: [source, last]
        ).map { try run($0, source: $0["source"], in: db) }
        let errors = try Row.fetchAll(
            db,
            sql: """
                SELECT e.sync_run_id, e.job_uid, e.kind, e.attempts, e.message FROM sync_errors AS e
                WHERE e.sync_run_id IN (
                    SELECT r.id FROM sync_runs AS r LEFT JOIN sources AS src ON src.id = r.source_id
                    WHERE ?1 IS NULL OR src.name = ?1 ORDER BY r.id DESC LIMIT ?2)
                ORDER BY e.sync_run_id, e.id LIMIT ?3
                """, arguments: [source, last, errorLimit]
        ).map { row in
            Error(
                runID: row["sync_run_id"], jobUID: row["job_uid"], kind: row["kind"], attempts: row["attempts"],
                message: row["message"])
        }
        return SyncRunLedger(
            runs: runs, errors: errors, severalSources: try SourceInfo.several(in: db))
    }

    /// A `sync_runs` row as a ``Run``.
    static func run(_ row: Row, source: String?, in db: Database) throws -> Run {
        var counts = SyncCounts()
        counts.seen = row["streams_seen"]
        counts.new = row["streams_new"]
        counts.changed = row["streams_changed"]
        counts.unchanged = row["streams_unchanged"]
        counts.gone = row["streams_gone"]
        counts.back = row["streams_back"]
        counts.errors = row["errors"]
        counts.replaced =
            try Int.fetchOne(
                db, sql: "SELECT count(*) FROM stream_replacements WHERE sync_run_id = ? AND verdict = 'replaced'",
                arguments: [row["id"] as Int64]) ?? 0
        return Run(
            id: row["id"], startedAt: row.date("started_at"), finishedAt: row.date("finished_at"),
            outcome: SyncOutcome(rawValue: row["outcome"]), listing: (row["listing"] as String?).flatMap(ListingState.init),
            counts: counts, sourceURL: row["source_url"], source: source)
    }
}
