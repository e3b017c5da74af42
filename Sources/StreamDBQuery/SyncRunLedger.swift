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

    static func load(last: Int, errorLimit: Int, in db: Database) throws -> SyncRunLedger {
        let runs = try Row.fetchAll(
            db, sql: "SELECT * FROM (SELECT * FROM sync_runs ORDER BY id DESC LIMIT ?) ORDER BY id", arguments: [last]
        ).map { row in
            var counts = SyncCounts()
            counts.seen = row["streams_seen"]
            counts.new = row["streams_new"]
            counts.changed = row["streams_changed"]
            counts.unchanged = row["streams_unchanged"]
            counts.gone = row["streams_gone"]
            counts.back = row["streams_back"]
            counts.errors = row["errors"]
            return Run(
                id: row["id"], startedAt: row.date("started_at"), finishedAt: row.date("finished_at"),
                outcome: SyncOutcome(rawValue: row["outcome"]), listing: (row["listing"] as String?).flatMap(ListingState.init),
                counts: counts, sourceURL: row["source_url"])
        }
        let errors = try Row.fetchAll(
            db,
            sql: """
                SELECT e.sync_run_id, e.job_uid, e.kind, e.attempts, e.message FROM sync_errors AS e
                WHERE e.sync_run_id IN (SELECT id FROM sync_runs ORDER BY id DESC LIMIT ?)
                ORDER BY e.sync_run_id, e.id LIMIT ?
                """, arguments: [last, errorLimit]
        ).map { row in
            Error(
                runID: row["sync_run_id"], jobUID: row["job_uid"], kind: row["kind"], attempts: row["attempts"],
                message: row["message"])
        }
        return SyncRunLedger(runs: runs, errors: errors)
    }
}
