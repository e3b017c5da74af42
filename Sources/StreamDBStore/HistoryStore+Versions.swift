import Foundation
import GRDB
import StreamDBModel

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

/// The `streams` row of a stream as recording finds it.
private struct CurrentStream {
    let streamID: Int64
    let version: Int64
    let contentHash: String
    let status: DatabaseValue
    let isGone: Bool
    let lastSeenAt: String?
    let sourceID: Int64?

    static func fetch(_ jobUID: String, in db: Database) throws -> CurrentStream? {
        let row = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT stream_id, current_version, current_content_hash, status, gone_at, last_seen_at, source_id
                    FROM streams WHERE job_uid = ?
                    """),
            arguments: [jobUID])
        return row.map { row in
            CurrentStream(
                streamID: row[0], version: row[1], contentHash: row[2], status: row[3], isGone: row[4] as String? != nil,
                lastSeenAt: row[5], sourceID: row[6])
        }
    }
}

/// The documents of one version, by id in `documents`.
private struct VersionDocuments {
    let restID: Int64
    let platformID: Int64?
    let binaryID: Int64?
}

/// What recording a served stream came to.
enum RecordAttempt {
    case recorded(RecordResult)
    /// The job_uid is another source's stream (named): nothing was written.
    case otherSource(String)
}

/// The regions a batch written straight through has already upserted, with the title written:
/// a fleet has a few regions and every new payload document names them again. Only for a batch
/// in one transaction (a rollback throws the batch and this away together).
final class WrittenRegions {
    var titles: [Int64: String] = [:]
}

/// Where a version gets written. Every function here runs inside the caller's transaction, so a
/// stream's version, documents, regions, areas, status event and streams row land together or not
/// at all.
extension HistoryStore {
    /// Records one served stream: a new version when its content differs from the current one,
    /// otherwise only "seen" (and the latest `updated_at`); nothing when the job_uid is another
    /// source's.
    static func record(
        _ snapshot: StreamSnapshot, observedAt: String, runID: Int64, sourceID: Int64, regions: WrittenRegions? = nil,
        in db: Database
    ) throws -> RecordAttempt {
        let current = try CurrentStream.fetch(snapshot.jobUID, in: db)
        if let current, current.sourceID != sourceID {
            return .otherSource(try otherSource(of: snapshot.jobUID, than: sourceID, in: db) ?? "another source")
        }
        return .recorded(
            try record(snapshot, current, observedAt: observedAt, runID: runID, sourceID: sourceID, regions: regions, in: db))
    }

    private static func record(
        _ snapshot: StreamSnapshot, _ current: CurrentStream?, observedAt: String, runID: Int64, sourceID: Int64,
        regions: WrittenRegions?, in db: Database
    ) throws -> RecordResult {
        if let current, current.contentHash == snapshot.contentHash {
            return try recordSeenAgain(snapshot, current, observedAt: observedAt, runID: runID, in: db)
        }
        let version = (current?.version ?? 0) + 1
        let documents = try storeDocuments(snapshot, observedAt: observedAt, regions: regions, in: db)
        let streamID = try upsertStream(
            snapshot, current, version: version, restID: documents.restID, observedAt: observedAt, runID: runID,
            sourceID: sourceID, in: db)
        try insertVersion(
            snapshot, streamID: streamID, version: version, documents: documents,
            statusChange: statusChange(snapshot, current, observedAt: observedAt),
            observedAt: observedAt, runID: runID, in: db)
        if current?.isGone == true {
            try insertBack(streamID: streamID, snapshot: snapshot, version: version, observedAt: observedAt, runID: runID, in: db)
        }
        for note in snapshot.notes {
            let entry = SyncErrorEntry(jobUID: snapshot.jobUID, kind: note.kind, message: "version \(version): \(note.message)")
            try recordError(entry, runID: runID, in: db)
        }
        return RecordResult(change: current == nil ? .new : .changed, back: current?.isGone ?? false, version: version)
    }

    /// The same content as the current version: seen in this run, no new version.
    private static func recordSeenAgain(
        _ snapshot: StreamSnapshot, _ current: CurrentStream, observedAt: String, runID: Int64, in db: Database
    ) throws -> RecordResult {
        try db.cachedStatement(
            sql: """
                UPDATE streams
                SET last_seen_at = ?, last_seen_run_id = ?, updated_at = coalesce(?, updated_at), gone_at = NULL,
                    served_digest = ?
                WHERE stream_id = ?
                """
        ).execute(arguments: [observedAt, runID, snapshot.serverUpdatedAt, snapshot.servedDigest, current.streamID])
        if current.isGone {
            try insertBack(
                streamID: current.streamID, snapshot: snapshot, version: current.version, observedAt: observedAt,
                runID: runID, in: db)
        }
        return RecordResult(change: .unchanged, back: current.isGone, version: current.version)
    }

    /// Stores the version's documents (each once, by hash) and, for a document stored for the
    /// first time in its role, the rows derived from it.
    private static func storeDocuments(
        _ snapshot: StreamSnapshot, observedAt: String, regions: WrittenRegions?, in db: Database
    ) throws -> VersionDocuments {
        let restID = try storeDocument(snapshot.rest, in: db) { id in
            try storeRegions(snapshot.regions, documentID: id, observedAt: observedAt, written: regions, in: db)
        }
        let platformID = try snapshot.platformConfig.map { config in
            let id = try storeDocument(config, in: db) { _ in }
            try storeConfigRows(snapshot, documentID: id, in: db)
            return id
        }
        let binaryID = try snapshot.binaryConfig.map { try storeDocument($0, in: db) { _ in } }
        return VersionDocuments(restID: restID, platformID: platformID, binaryID: binaryID)
    }

    private static func storeRegions(
        _ regions: [StreamSnapshot.Region], documentID: Int64, observedAt: String, written: WrittenRegions?,
        in db: Database
    ) throws {
        for region in regions {
            if written == nil || written?.titles[region.id] != region.title {
                written?.titles[region.id] = region.title
                try db.cachedStatement(
                    sql: """
                        INSERT INTO regions (id, title, first_seen_at) VALUES (?, ?, ?)
                        ON CONFLICT (id) DO UPDATE SET title = excluded.title
                        """
                ).execute(arguments: [region.id, region.title, observedAt])
            }
        }
        try insertRows(
            into: "document_regions", columns: ["document_id", "position", "region_id"],
            regions.enumerated().map { [documentID, $0.offset, $0.element.id] }, in: db)
    }

    /// The rows derived from a pipeline config, written when a document is first used as one
    /// (config_case_types has a row per such document), also when the same document was stored
    /// before in another role.
    private static func storeConfigRows(_ snapshot: StreamSnapshot, documentID id: Int64, in db: Database) throws {
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO config_case_types (document_id, case_type) VALUES (?, ?)")
            .execute(arguments: [id, snapshot.fields.caseType])
        guard db.changesCount > 0 else { return }
        try insertRows(
            into: "config_areas", columns: ["document_id", "position", "area_id", "shape", "point_count"],
            snapshot.areas.map { [id, $0.position, $0.areaID, $0.shape, $0.pointCount] }, in: db)
        try insertRows(
            into: "config_fences", columns: ["document_id", "position", "fence_id", "fence"],
            snapshot.fences.map { [id, $0.position, $0.fenceID, $0.json] }, in: db)
    }

    /// Inserts rows with one statement per up to 16 of them (a document's areas, fences or
    /// regions): a statement per row was most of what a new document cost beyond the document.
    static func insertRows(
        into table: String, columns: [String], _ rows: [[(any DatabaseValueConvertible)?]], in db: Database
    ) throws {
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + 16, rows.count)]
            let placeholders = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
            try db.cachedStatement(
                sql: "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
                    + Array(repeating: placeholders, count: chunk.count).joined(separator: ", ")
            ).execute(arguments: StatementArguments(chunk.flatMap { $0 }))
            start += chunk.count
        }
    }

    /// Writes the `streams` row of a new version (with its payload document, `current_rest_id`);
    /// returns its `stream_id`.
    private static func upsertStream(
        _ snapshot: StreamSnapshot, _ current: CurrentStream?, version: Int64, restID: Int64, observedAt: String,
        runID: Int64, sourceID: Int64, in db: Database
    ) throws -> Int64 {
        let fields = snapshot.fields
        let status = databaseValue(snapshot.status)
        if let current {
            try db.cachedStatement(
                sql: """
                    UPDATE streams SET id = ?, status = ?, stream_uid = ?, camera_group_uid = ?, case_type = ?,
                        stream_case_type = ?, ovms_client = ?, created_at = ?, updated_at = coalesce(?, updated_at),
                        last_seen_at = ?, last_seen_run_id = ?, gone_at = NULL, current_version = ?,
                        current_content_hash = ?, served_digest = ?, current_rest_id = ?
                    WHERE stream_id = ?
                    """
            ).execute(arguments: [
                fields.id, status, fields.streamUID, fields.cameraGroupUID, fields.caseType,
                fields.streamCaseType, fields.ovmsClient, fields.createdAt, snapshot.serverUpdatedAt,
                observedAt, runID, version, snapshot.contentHash, snapshot.servedDigest, restID, current.streamID,
            ])
            return current.streamID
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO streams (job_uid, id, status, stream_uid, camera_group_uid, case_type,
                    stream_case_type, ovms_client, created_at, updated_at, first_seen_at, last_seen_at,
                    last_seen_run_id, gone_at, current_version, current_content_hash, served_digest, source_id,
                    current_rest_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            snapshot.jobUID, fields.id, status, fields.streamUID, fields.cameraGroupUID,
            fields.caseType, fields.streamCaseType, fields.ovmsClient, fields.createdAt,
            snapshot.serverUpdatedAt, observedAt, observedAt, runID, version, snapshot.contentHash,
            snapshot.servedDigest, sourceID, restID,
        ])
        return db.lastInsertedRowID
    }

    /// The status event a new version carries: 'first_seen' for a new stream, 'changed' when the
    /// status differs from the version before, none otherwise (a return after a 404 is a 'back'
    /// presence event instead).
    private static func statusChange(
        _ snapshot: StreamSnapshot, _ current: CurrentStream?, observedAt: String
    ) -> (at: String, source: String)? {
        guard let current else { return statusChangeTime(snapshot, lastSeenAt: nil, observedAt: observedAt) }
        guard !current.isGone, current.status != databaseValue(snapshot.status) else { return nil }
        return statusChangeTime(snapshot, lastSeenAt: current.lastSeenAt, observedAt: observedAt)
    }

    private static func insertVersion(
        _ snapshot: StreamSnapshot, streamID: Int64, version: Int64, documents: VersionDocuments,
        statusChange: (at: String, source: String)?, observedAt: String, runID: Int64, in db: Database
    ) throws {
        guard let contentHash = HexBytes.decode(snapshot.contentHash) else {
            throw StoreError(
                .other, "the content hash of \(snapshot.jobUID) is not hex (a bug in streamdb); nothing of it was stored.")
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO versions (stream_id, version, observed_at, sync_run_id, content_hash, status,
                    server_updated_at, rest_id, platform_config_id, binary_config_id,
                    status_changed_at, status_changed_at_source)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            streamID, version, observedAt, runID, contentHash, databaseValue(snapshot.status),
            snapshot.serverUpdatedAt, documents.restID, documents.platformID, documents.binaryID,
            statusChange?.at, statusChange?.source,
        ])
    }

    /// Records a present stream served again exactly as last time (its ``ServedDigest`` matched
    /// `streams.served_digest`): seen in this run, with the latest `updated_at`; no version, no
    /// status row. Returns the current version, or nil when the stream is no longer present with
    /// that digest (gone, or recorded anew since the run began): the caller then records the
    /// normalised object instead.
    static func recordUnchanged(
        _ stream: UnchangedStream, observedAt: String, runID: Int64, sourceID: Int64, in db: Database
    ) throws -> Int64? {
        try Int64.fetchOne(
            db.cachedStatement(
                sql: """
                    UPDATE streams
                    SET last_seen_at = ?, last_seen_run_id = ?, updated_at = coalesce(?, updated_at)
                    WHERE job_uid = ? AND gone_at IS NULL AND served_digest = ? AND source_id = ?
                    RETURNING current_version
                    """),
            arguments: [observedAt, runID, stream.serverUpdatedAt, stream.jobUID, stream.servedDigest, sourceID])
    }

    /// `streams.served_digest` of every present stream that has one, by job_uid: what
    /// ``recordUnchanged(_:observedAt:runID:in:)`` compares with.
    public func servedDigests(sourceID: Int64) async throws -> [String: String] {
        try await read { db in
            var digests: [String: String] = [:]
            let rows = try Row.fetchCursor(
                db,
                sql: "SELECT job_uid, served_digest FROM streams WHERE source_id = ? AND gone_at IS NULL AND served_digest IS NOT NULL",
                arguments: [sourceID])
            while let row = try rows.next() {
                digests[row[0]] = row[1] as String
            }
            return digests
        }
    }

    /// Whether the database knows a stream by this uid (present or gone).
    static func isKnown(_ jobUID: String, in db: Database) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM streams WHERE job_uid = ?"), arguments: [jobUID]) != nil
    }

    /// Records that a stream answered 404: `gone_at` and a 'gone' presence event, once. Returns
    /// false when the stream is unknown or already gone.
    static func markGone(jobUID: String, observedAt: String, runID: Int64, sourceID: Int64, in db: Database) throws -> Bool {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT stream_id, status, gone_at FROM streams WHERE job_uid = ? AND source_id = ?",
                arguments: [jobUID, sourceID]),
            row["gone_at"] as String? == nil
        else { return false }
        let streamID: Int64 = row["stream_id"]
        try db.execute(sql: "UPDATE streams SET gone_at = ? WHERE stream_id = ?", arguments: [observedAt, streamID])
        try db.execute(
            sql: """
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
        try db.cachedStatement(
            sql: """
                INSERT INTO documents (sha256, json, raw, parse_error, served) VALUES (?, ?, CAST(? AS TEXT), ?, ?)
                ON CONFLICT (sha256) DO NOTHING
                """
            // A config string that is no JSON is kept as served, U+0000 included: GRDB binds a
            // String as a C string (cut at the first NUL), its bytes as a blob are bound whole.
        ).execute(arguments: [
            document.sha256, document.json, document.raw.map { Data($0.utf8) }, document.parseError, document.served,
        ])
        if db.changesCount == 1 {
            let id = db.lastInsertedRowID
            try whenNew(id)
            return id
        }
        guard
            let id = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT id FROM documents WHERE sha256 = ?"), arguments: [document.sha256])
        else {
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
            lastSeenAt.flatMap(Timestamp.parse).map({ serverTime > $0 }) ?? true
        {
            return (Timestamp.format(serverTime), "server")
        }
        return (observedAt, "sync")
    }

    /// A stream served again after a 404: a 'back' presence event, dated by the sync (the payload's
    /// updated_at says nothing about when it came back), naming the version it came back with.
    private static func insertBack(
        streamID: Int64, snapshot: StreamSnapshot, version: Int64, observedAt: String, runID: Int64, in db: Database
    ) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO presence_events (stream_id, event, status, previous_status, observed_at,
                    server_updated_at, changed_at, changed_at_source, sync_run_id, version)
                VALUES (?, 'back', ?, NULL, ?, ?, ?, 'sync', ?, ?)
                """
        ).execute(arguments: [
            streamID, databaseValue(snapshot.status), observedAt, snapshot.serverUpdatedAt, observedAt, runID, version,
        ])
    }

    static func databaseValue(_ status: StatusValue) -> DatabaseValue {
        switch status {
        case .int(let i): return i.databaseValue
        case .text(let s): return s.databaseValue
        }
    }
}
