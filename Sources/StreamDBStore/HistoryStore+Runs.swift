import Foundation
import GRDB
import StreamDBModel

/// The ledger: `sync_runs` and `sync_errors`.
extension HistoryStore {
    /// Starts a run. Runs left 'running' by a process that died are marked 'interrupted' first:
    /// the caller holds the ``SyncLock``, so no other run can be going on.
    public func beginRun(source: SyncSource, startedAt: String) async throws -> Int64 {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE sync_runs SET outcome = 'interrupted',
                        message = 'the sync process stopped before it finished (killed or crashed)'
                    WHERE outcome = 'running'
                    """)
            try db.execute(
                sql: """
                    INSERT INTO sync_runs (started_at, source_url, source_id, outcome, streamdb_version)
                    VALUES (?, ?, ?, 'running', ?)
                    """,
                arguments: [startedAt, source.baseURL, source.id, StreamDBVersion.current])
            let runID = db.lastInsertedRowID
            try db.execute(
                sql: "UPDATE sources SET first_synced_at = coalesce(first_synced_at, ?), last_synced_at = ? WHERE id = ?",
                arguments: [startedAt, startedAt, source.id])
            return runID
        }
    }

    /// Closes a run with its outcome and counts; returns the counts as stored, with the run's
    /// errors counted from `sync_errors` (the one place they are counted).
    public func finishRun(
        _ runID: Int64, finishedAt: String, outcome: SyncOutcome, listing: ListingState, counts: SyncCounts,
        message: String?
    ) async throws -> SyncCounts {
        try await write { db in
            let errors = try Self.errorCount(runID: runID, in: db)
            try db.execute(
                sql: """
                    UPDATE sync_runs SET finished_at = ?, outcome = ?, listing = ?, streams_seen = ?,
                        streams_new = ?, streams_changed = ?, streams_unchanged = ?, streams_gone = ?,
                        streams_back = ?, errors = ?, message = ?
                    WHERE id = ?
                    """,
                arguments: [
                    finishedAt, outcome.rawValue, listing.rawValue, counts.seen, counts.new, counts.changed,
                    counts.unchanged, counts.gone, counts.back, errors, message, runID,
                ])
            var stored = counts
            stored.errors = errors
            return stored
        }
    }

    /// Applies the replacement rule (the view `replacement_candidates`, migration 0005) after a
    /// run has written: new pairings are recorded, and a pairing whose verdict changed (a second
    /// candidate appeared) is updated. Returns the replacements this run found.
    public func detectReplacements(runID: Int64) async throws -> Int {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO stream_replacements (old_stream_id, new_stream_id, stream_uid, case_type, detected_at, sync_run_id, verdict)
                    SELECT old_stream_id, new_stream_id, stream_uid, case_type, detected_at, sync_run_id, verdict
                    FROM replacement_candidates WHERE true
                    ON CONFLICT (old_stream_id, new_stream_id) DO UPDATE SET verdict = excluded.verdict
                    WHERE verdict <> excluded.verdict
                    """)
            return try Int.fetchOne(
                db, sql: "SELECT count(*) FROM stream_replacements WHERE sync_run_id = ? AND verdict = 'replaced'", arguments: [runID]) ?? 0
        }
    }

    /// The message of a run's first error, for a run that stored nothing.
    public func firstErrorMessage(runID: Int64) async throws -> String? {
        try await read { db in
            try String.fetchOne(
                db, sql: "SELECT message FROM sync_errors WHERE sync_run_id = ? ORDER BY id LIMIT 1", arguments: [runID])
        }
    }

    static func errorCount(runID: Int64, in db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM sync_errors WHERE sync_run_id = ?", arguments: [runID]) ?? 0
    }

    static func recordError(_ entry: SyncErrorEntry, runID: Int64, in db: Database) throws {
        let line = entry.message.replacingOccurrences(of: "\n", with: " ")
        try db.cachedStatement(
            sql: """
                INSERT INTO sync_errors (sync_run_id, job_uid, kind, http_status, url, attempts, message, occurred_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            runID, entry.jobUID, entry.kind.description, entry.httpStatus, entry.url, entry.attempts,
            String(line.prefix(1000)), Timestamp.now(),
        ])
    }

    /// Records one error in its own transaction.
    public func recordError(_ entry: SyncErrorEntry, runID: Int64) async throws {
        try await write { db in try Self.recordError(entry, runID: runID, in: db) }
    }

    /// The streams of `sourceID` that the database holds as present and this run has not seen
    /// (yet): only the source's own streams are asked for again, and can be found gone.
    ///
    /// In the order of their rows (`stream_id`), which is the order of `streams_by_source` (no
    /// sort) and of the table's pages: the detail requests finish roughly in this order, so each
    /// batch the writer records touches a run of neighbouring pages. In job_uid order a batch of a
    /// hundred touched about a hundred pages, and a detail-only sync of 2,000 wrote 3,101 pages to
    /// the log instead of 744 (bench/ANALYSIS.md).
    public func presentStreamsNotSeen(in runID: Int64, sourceID: Int64) async throws -> [String] {
        try await write { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT job_uid FROM streams
                    WHERE source_id = ? AND gone_at IS NULL AND (last_seen_run_id IS NULL OR last_seen_run_id <> ?)
                    ORDER BY stream_id
                    """, arguments: [sourceID, runID])
        }
    }

    /// Whether this run has already recorded the stream (seen in the listing, say).
    public func wasSeen(_ jobUID: String, in runID: Int64) async throws -> Bool {
        try await read { db in
            try Bool.fetchOne(
                db, sql: "SELECT last_seen_run_id = ? FROM streams WHERE job_uid = ?", arguments: [runID, jobUID]) ?? false
        }
    }
}
