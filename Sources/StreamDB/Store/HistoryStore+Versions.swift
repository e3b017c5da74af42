import Foundation
import GRDB

/// What recording one served stream did to the history.
public struct RecordResult: Sendable, Equatable {
    public enum Change: Sendable, Equatable {
        /// A job_uid never seen before: version 1.
        case new
        /// A known stream whose content changed: a new version.
        case changed
        /// Same content as the current version: no version, no status row.
        case unchanged
    }

    public let change: Change
    /// The stream had been gone and is served again.
    public let back: Bool
    /// The stream's current version after recording.
    public let version: Int64
}

extension HistoryStore {
    /// Records snapshots in one transaction, as a sync does with a page: for tools that build a
    /// history without HTTP (the benchmark), through the same write path.
    public func record(_ snapshots: [StreamSnapshot], observedAt: String, runID: Int64) async throws -> [RecordResult] {
        try await write { db in
            try snapshots.map { try Self.record($0, observedAt: observedAt, runID: runID, in: db) }
        }
    }
}

/// Where a version gets written. Every function here runs inside the caller's transaction, so a
/// stream's version, documents, regions, areas, status row and streams row land together or not
/// at all.
extension HistoryStore {
    /// Records one served stream: a new version when its content differs from the current one,
    /// otherwise only "seen" (and the latest `updated_at`).
    static func record(
        _ snapshot: StreamSnapshot, observedAt: String, runID: Int64, in db: Database
    ) throws -> RecordResult {
        let current = try Row.fetchOne(
            db.cachedStatement(sql: """
                SELECT stream_id, current_version, current_content_hash, status, gone_at, last_seen_at
                FROM streams WHERE job_uid = ?
                """),
            arguments: [snapshot.jobUID])
        let wasGone = current.map { $0["gone_at"] as String? != nil } ?? false
        let previousStatus: DatabaseValue = current?["status"] ?? .null

        if let current, current["current_content_hash"] as String == snapshot.contentHash {
            let streamID: Int64 = current["stream_id"]
            let version: Int64 = current["current_version"]
            try db.cachedStatement(sql: """
                UPDATE streams
                SET last_seen_at = ?, last_seen_run_id = ?, updated_at = coalesce(?, updated_at), gone_at = NULL,
                    served_digest = ?
                WHERE stream_id = ?
                """).execute(arguments: [observedAt, runID, snapshot.serverUpdatedAt, snapshot.servedDigest, streamID])
            if wasGone {
                try insertBack(streamID: streamID, snapshot: snapshot, version: version, observedAt: observedAt, runID: runID, in: db)
            }
            return RecordResult(change: .unchanged, back: wasGone, version: version)
        }

        let version = (current?["current_version"] as Int64? ?? 0) + 1
        let restID = try storeDocument(snapshot.rest, in: db) { id in
            for (position, region) in snapshot.regions.enumerated() {
                try db.cachedStatement(sql: """
                    INSERT INTO regions (id, title, first_seen_at) VALUES (?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET title = excluded.title
                    """).execute(arguments: [region.id, region.title, observedAt])
                try db.cachedStatement(sql: "INSERT INTO document_regions (document_id, position, region_id) VALUES (?, ?, ?)")
                    .execute(arguments: [id, position, region.id])
            }
        }
        let platformID = try snapshot.platformConfig.map { config in
            let id = try storeDocument(config, in: db) { _ in }
            // The rows derived from a pipeline config are written when a document is first used as
            // one (config_case_types has a row per such document), also when the same document was
            // stored before in another role.
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO config_case_types (document_id, case_type) VALUES (?, ?)")
                .execute(arguments: [id, snapshot.fields.caseType])
            if db.changesCount > 0 {
                for area in snapshot.areas {
                    try db.cachedStatement(sql: """
                        INSERT INTO config_areas (document_id, position, area_id, shape, point_count)
                        VALUES (?, ?, ?, ?, ?)
                        """).execute(arguments: [id, area.position, area.areaID, area.shape, area.pointCount])
                }
                for fence in snapshot.fences {
                    try db.cachedStatement(sql: """
                        INSERT INTO config_fences (document_id, position, fence_id, fence) VALUES (?, ?, ?, ?)
                        """).execute(arguments: [id, fence.position, fence.fenceID, fence.json])
                }
            }
            return id
        }
        let binaryID = try snapshot.binaryConfig.map { try storeDocument($0, in: db) { _ in } }

        let fields = snapshot.fields
        let status = databaseValue(snapshot.status)
        let streamID: Int64
        if let current {
            streamID = current["stream_id"]
            try db.cachedStatement(sql: """
                UPDATE streams SET id = ?, status = ?, stream_uid = ?, camera_group_uid = ?, case_type = ?,
                    stream_case_type = ?, ovms_client = ?, created_at = ?, updated_at = coalesce(?, updated_at),
                    last_seen_at = ?, last_seen_run_id = ?, gone_at = NULL, current_version = ?,
                    current_content_hash = ?, served_digest = ?
                WHERE stream_id = ?
                """).execute(arguments: [
                    fields.id, status, fields.streamUID, fields.cameraGroupUID, fields.caseType,
                    fields.streamCaseType, fields.ovmsClient, fields.createdAt, snapshot.serverUpdatedAt,
                    observedAt, runID, version, snapshot.contentHash, snapshot.servedDigest, streamID,
                ])
        } else {
            try db.cachedStatement(sql: """
                INSERT INTO streams (job_uid, id, status, stream_uid, camera_group_uid, case_type,
                    stream_case_type, ovms_client, created_at, updated_at, first_seen_at, last_seen_at,
                    last_seen_run_id, gone_at, current_version, current_content_hash, served_digest)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)
                """).execute(arguments: [
                    snapshot.jobUID, fields.id, status, fields.streamUID, fields.cameraGroupUID,
                    fields.caseType, fields.streamCaseType, fields.ovmsClient, fields.createdAt,
                    snapshot.serverUpdatedAt, observedAt, observedAt, runID, version, snapshot.contentHash,
                    snapshot.servedDigest,
                ])
            streamID = db.lastInsertedRowID
        }

        // The status event this version carries: 'first_seen' for a new stream, 'changed' when the
        // status differs from the version before. A return after a 404 is a 'back' presence event.
        var statusChange: (at: String, source: String)?
        if current == nil {
            statusChange = statusChangeTime(snapshot, lastSeenAt: nil, observedAt: observedAt)
        } else if !wasGone && previousStatus != status {
            statusChange = statusChangeTime(snapshot, lastSeenAt: current?["last_seen_at"], observedAt: observedAt)
        }
        guard let contentHash = HexBytes.decode(snapshot.contentHash) else {
            throw StoreError(.other, "the content hash of \(snapshot.jobUID) is not hex (a bug in streamdb); nothing of it was stored.")
        }
        try db.cachedStatement(sql: """
            INSERT INTO versions (stream_id, version, observed_at, sync_run_id, content_hash, status,
                server_updated_at, rest_id, platform_config_id, binary_config_id,
                status_changed_at, status_changed_at_source)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                streamID, version, observedAt, runID, contentHash, status,
                snapshot.serverUpdatedAt, restID, platformID, binaryID,
                statusChange?.at, statusChange?.source,
            ])
        if wasGone {
            try insertBack(streamID: streamID, snapshot: snapshot, version: version, observedAt: observedAt, runID: runID, in: db)
        }
        for note in snapshot.notes {
            try recordError(runID: runID, jobUID: snapshot.jobUID, kind: note.kind, httpStatus: nil, url: nil,
                            attempts: nil, message: "version \(version): \(note.message)", in: db)
        }
        return RecordResult(change: current == nil ? .new : .changed, back: wasGone, version: version)
    }

    /// Records a present stream served again exactly as last time (its ``ServedDigest`` matched
    /// `streams.served_digest`): seen in this run, with the latest `updated_at`; no version, no
    /// status row. Returns the current version, or nil when the stream is no longer present with
    /// that digest (gone, or recorded anew since the run began): the caller then records the
    /// normalised object instead.
    static func recordUnchanged(
        jobUID: String, servedDigest: String, serverUpdatedAt: String?, observedAt: String, runID: Int64,
        in db: Database
    ) throws -> Int64? {
        try Int64.fetchOne(
            db.cachedStatement(sql: """
                UPDATE streams
                SET last_seen_at = ?, last_seen_run_id = ?, updated_at = coalesce(?, updated_at)
                WHERE job_uid = ? AND gone_at IS NULL AND served_digest = ?
                RETURNING current_version
                """),
            arguments: [observedAt, runID, serverUpdatedAt, jobUID, servedDigest])
    }

    /// `streams.served_digest` of every present stream that has one, by job_uid: what
    /// ``recordUnchanged(jobUID:servedDigest:serverUpdatedAt:observedAt:runID:in:)`` compares with.
    public func servedDigests() async throws -> [String: String] {
        try await read { db in
            var digests: [String: String] = [:]
            let rows = try Row.fetchCursor(db, sql: """
                SELECT job_uid, served_digest FROM streams WHERE gone_at IS NULL AND served_digest IS NOT NULL
                """)
            while let row = try rows.next() {
                digests[row[0]] = row[1] as String
            }
            return digests
        }
    }

    /// Records that a stream answered 404: `gone_at` and a 'gone' status row, once. Returns false
    /// when the stream is unknown or already gone.
    static func markGone(jobUID: String, observedAt: String, runID: Int64, in db: Database) throws -> Bool {
        guard let row = try Row.fetchOne(db, sql: "SELECT stream_id, status, gone_at FROM streams WHERE job_uid = ?", arguments: [jobUID]),
              row["gone_at"] as String? == nil
        else { return false }
        let streamID: Int64 = row["stream_id"]
        try db.execute(sql: "UPDATE streams SET gone_at = ? WHERE stream_id = ?", arguments: [observedAt, streamID])
        try db.execute(sql: """
            INSERT INTO presence_events (stream_id, event, status, previous_status, observed_at,
                server_updated_at, changed_at, changed_at_source, sync_run_id, version)
            VALUES (?, 'gone', NULL, ?, ?, NULL, ?, 'sync', ?, NULL)
            """, arguments: [streamID, row["status"] as DatabaseValue, observedAt, observedAt, runID])
        return true
    }

    /// Inserts a document unless one with the same hash is stored; returns its id. `whenNew` runs
    /// once, for a document stored for the first time, to add the rows derived from it.
    private static func storeDocument(
        _ document: StreamSnapshot.Document, in db: Database, whenNew: (Int64) throws -> Void
    ) throws -> Int64 {
        // One statement for a new document (most of a first sync's), a second for a known one.
        // Only a conflict on sha256 is passed over: a CHECK still fails the statement.
        try db.cachedStatement(sql: """
            INSERT INTO documents (sha256, json, raw, parse_error) VALUES (?, ?, ?, ?)
            ON CONFLICT (sha256) DO NOTHING
            """).execute(arguments: [document.sha256, document.json, document.raw, document.parseError])
        if db.changesCount == 1 {
            let id = db.lastInsertedRowID
            try whenNew(id)
            return id
        }
        guard let id = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM documents WHERE sha256 = ?"),
                                          arguments: [document.sha256]) else {
            throw StoreError(.other, "document \(document.sha256) was neither stored nor found (a bug in streamdb).")
        }
        return id
    }

    /// The best estimate of when a status change happened. The server moves updated_at with every
    /// change of the row: when it falls after the last sync that saw the old state and not after
    /// this one, it dates the change better than the sync does.
    private static func statusChangeTime(
        _ snapshot: StreamSnapshot, lastSeenAt: String?, observedAt: String
    ) -> (at: String, source: String) {
        if let serverTime = snapshot.serverUpdatedAt.flatMap(Timestamp.parse),
           let observed = Timestamp.parse(observedAt), serverTime <= observed,
           lastSeenAt.flatMap(Timestamp.parse).map({ serverTime > $0 }) ?? true {
            return (Timestamp.format(serverTime), "server")
        }
        return (observedAt, "sync")
    }

    /// A stream served again after a 404: a 'back' presence event, dated by the sync (the payload's
    /// updated_at says nothing about when it came back), naming the version it came back with.
    private static func insertBack(
        streamID: Int64, snapshot: StreamSnapshot, version: Int64, observedAt: String, runID: Int64, in db: Database
    ) throws {
        try db.cachedStatement(sql: """
            INSERT INTO presence_events (stream_id, event, status, previous_status, observed_at,
                server_updated_at, changed_at, changed_at_source, sync_run_id, version)
            VALUES (?, 'back', ?, NULL, ?, ?, ?, 'sync', ?, ?)
            """).execute(arguments: [
                streamID, databaseValue(snapshot.status), observedAt, snapshot.serverUpdatedAt, observedAt, runID, version,
            ])
    }

    static func databaseValue(_ status: StreamSnapshot.StatusValue) -> DatabaseValue {
        switch status {
        case .int(let i): return i.databaseValue
        case .text(let s): return s.databaseValue
        }
    }
}
