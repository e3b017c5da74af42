import Foundation
import GRDB

/// The counts of one sync run, as stored in `sync_runs`.
public struct SyncCounts: Sendable, Equatable {
    public var seen = 0
    public var new = 0
    public var changed = 0
    public var unchanged = 0
    public var gone = 0
    public var back = 0
    public var errors = 0

    public init() {}
}

/// The ledger: `sync_runs` and `sync_errors`.
extension HistoryStore {
    /// Starts a run. Runs left 'running' by a process that died are marked 'interrupted' first:
    /// the caller holds the ``SyncLock``, so no other run can be going on.
    public func beginRun(sourceURL: String, startedAt: String) async throws -> Int64 {
        try await write { db in
            try db.execute(sql: """
                UPDATE sync_runs SET outcome = 'interrupted',
                    message = 'the sync process stopped before it finished (killed or crashed)'
                WHERE outcome = 'running'
                """)
            try db.execute(
                sql: "INSERT INTO sync_runs (started_at, source_url, outcome, streamdb_version) VALUES (?, ?, 'running', ?)",
                arguments: [startedAt, sourceURL, StreamDBVersion.current])
            return db.lastInsertedRowID
        }
    }

    /// Closes a run with its outcome and counts.
    public func finishRun(
        _ runID: Int64, finishedAt: String, outcome: String, listing: String?, counts: SyncCounts, message: String?
    ) async throws {
        try await write { db in
            try db.execute(sql: """
                UPDATE sync_runs SET finished_at = ?, outcome = ?, listing = ?, streams_seen = ?,
                    streams_new = ?, streams_changed = ?, streams_unchanged = ?, streams_gone = ?,
                    streams_back = ?, errors = (SELECT count(*) FROM sync_errors WHERE sync_run_id = ?),
                    message = ?
                WHERE id = ?
                """, arguments: [
                    finishedAt, outcome, listing, counts.seen, counts.new, counts.changed,
                    counts.unchanged, counts.gone, counts.back, runID, message, runID,
                ])
        }
    }

    static func recordError(
        runID: Int64, jobUID: String?, kind: String, httpStatus: Int?, url: String?, attempts: Int?,
        message: String, in db: Database
    ) throws {
        let line = message.replacingOccurrences(of: "\n", with: " ")
        try db.cachedStatement(sql: """
            INSERT INTO sync_errors (sync_run_id, job_uid, kind, http_status, url, attempts, message, occurred_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [runID, jobUID, kind, httpStatus, url, attempts, String(line.prefix(1000)), Timestamp.now()])
    }

    /// Records one error in its own transaction.
    public func recordError(
        runID: Int64, jobUID: String?, kind: String, httpStatus: Int? = nil, url: String? = nil,
        attempts: Int? = nil, message: String
    ) async throws {
        try await write { db in
            try Self.recordError(runID: runID, jobUID: jobUID, kind: kind, httpStatus: httpStatus, url: url,
                                 attempts: attempts, message: message, in: db)
        }
    }

    /// The streams the database holds as present that this run has not seen (yet).
    public func presentStreamsNotSeen(in runID: Int64) async throws -> [String] {
        try await read { db in
            try String.fetchAll(db, sql: """
                SELECT job_uid FROM streams
                WHERE gone_at IS NULL AND (last_seen_run_id IS NULL OR last_seen_run_id <> ?)
                ORDER BY job_uid
                """, arguments: [runID])
        }
    }

    /// Whether this run has already recorded the stream (seen in the listing, say).
    public func wasSeen(_ jobUID: String, in runID: Int64) async throws -> Bool {
        try await read { db in
            try Bool.fetchOne(db, sql: "SELECT last_seen_run_id = ? FROM streams WHERE job_uid = ?",
                              arguments: [runID, jobUID]) ?? false
        }
    }
}
