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

    static func fetch(_ jobUID: String, in statements: RecordStatements) throws -> CurrentStream? {
        try statements.currentStream.fetchRow(
            binding: { $0.bind(jobUID) },
            read: { row in
                CurrentStream(
                    streamID: row.int64(0), version: row.int64(1), contentHash: row.string(2) ?? "",
                    status: row.value(3), isGone: !row.isNull(4), lastSeenAt: row.string(5),
                    sourceID: row.isNull(6) ? nil : row.int64(6))
            })
    }
}

/// The statements that record served streams, prepared once per batch: the writer runs a dozen
/// of them per new stream, and looking each up by its text in the connection's cache every time
/// hashed the SQL (a few per cent of the writer thread).
final class RecordStatements {
    let db: Database
    /// Straight through only: a stream's savepoint may roll its regions back.
    let regions: WrittenRegions?
    let currentStream: WriteStatement
    let seenAgain: WriteStatement
    let unchanged: WriteStatement
    let insertDocument: WriteStatement
    let documentID: WriteStatement
    let upsertRegion: WriteStatement
    let documentRegion: WriteStatement
    let caseType: WriteStatement
    let area: WriteStatement
    let fence: WriteStatement
    let updateStream: WriteStatement
    let insertStream: WriteStatement
    let insertVersion: WriteStatement
    let insertBack: WriteStatement

    init(_ db: Database, regions: WrittenRegions?) throws {
        self.db = db
        self.regions = regions
        currentStream = try WriteStatement(
            """
            SELECT stream_id, current_version, current_content_hash, status, gone_at, last_seen_at, source_id
            FROM streams WHERE job_uid = ?
            """, in: db)
        seenAgain = try WriteStatement(
            """
            UPDATE streams
            SET last_seen_at = ?, last_seen_run_id = ?, updated_at = coalesce(?, updated_at), gone_at = NULL,
                served_digest = ?
            WHERE stream_id = ?
            """, in: db)
        unchanged = try WriteStatement(
            """
            UPDATE streams
            SET last_seen_at = ?, last_seen_run_id = ?, updated_at = coalesce(?, updated_at)
            WHERE stream_id = ? AND gone_at IS NULL AND served_digest = ? AND source_id = ?
            """, in: db)
        // One statement for a new document (most of a first sync's), a second for a known one.
        // Only a conflict on sha256 is passed over: a CHECK still fails the statement.
        insertDocument = try WriteStatement(
            """
            INSERT INTO documents (sha256, json, raw, parse_error, served) VALUES (?, ?, CAST(? AS TEXT), ?, ?)
            ON CONFLICT (sha256) DO NOTHING
            """, in: db)
        documentID = try WriteStatement("SELECT id FROM documents WHERE sha256 = ?", in: db)
        upsertRegion = try WriteStatement(
            """
            INSERT INTO regions (id, title, first_seen_at) VALUES (?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET title = excluded.title
            """, in: db)
        documentRegion = try WriteStatement(
            "INSERT INTO document_regions (document_id, position, region_id) VALUES (?, ?, ?)", in: db)
        caseType = try WriteStatement(
            "INSERT OR IGNORE INTO config_case_types (document_id, case_type) VALUES (?, ?)", in: db)
        area = try WriteStatement(
            "INSERT INTO config_areas (document_id, position, area_id, shape, point_count) VALUES (?, ?, ?, ?, ?)", in: db)
        fence = try WriteStatement(
            "INSERT INTO config_fences (document_id, position, fence_id, fence) VALUES (?, ?, ?, ?)", in: db)
        updateStream = try WriteStatement(
            """
            UPDATE streams SET id = ?, status = ?, stream_uid = ?, camera_group_uid = ?, case_type = ?,
                stream_case_type = ?, ovms_client = ?, created_at = ?, updated_at = coalesce(?, updated_at),
                last_seen_at = ?, last_seen_run_id = ?, gone_at = NULL, current_version = ?,
                current_content_hash = ?, served_digest = ?, current_rest_id = ?
            WHERE stream_id = ?
            """, in: db)
        insertStream = try WriteStatement(
            """
            INSERT INTO streams (job_uid, id, status, stream_uid, camera_group_uid, case_type,
                stream_case_type, ovms_client, created_at, updated_at, first_seen_at, last_seen_at,
                last_seen_run_id, gone_at, current_version, current_content_hash, served_digest, source_id,
                current_rest_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)
            """, in: db)
        insertVersion = try WriteStatement(
            """
            INSERT INTO versions (stream_id, version, observed_at, sync_run_id, content_hash, status,
                server_updated_at, rest_id, platform_config_id, binary_config_id,
                status_changed_at, status_changed_at_source)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, in: db)
        insertBack = try WriteStatement(
            """
            INSERT INTO presence_events (stream_id, event, status, previous_status, observed_at,
                server_updated_at, changed_at, changed_at_source, sync_run_id, version)
            VALUES (?, 'back', ?, NULL, ?, ?, ?, 'sync', ?, ?)
            """, in: db)
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
        _ snapshot: StreamSnapshot, observedAt: String, runID: Int64, sourceID: Int64, in statements: RecordStatements
    ) throws -> RecordAttempt {
        let current = try CurrentStream.fetch(snapshot.jobUID, in: statements)
        if let current, current.sourceID != sourceID {
            return .otherSource(try otherSource(of: snapshot.jobUID, than: sourceID, in: statements.db) ?? "another source")
        }
        return .recorded(
            try record(snapshot, current, observedAt: observedAt, runID: runID, sourceID: sourceID, in: statements))
    }

    private static func record(
        _ snapshot: StreamSnapshot, _ current: CurrentStream?, observedAt: String, runID: Int64, sourceID: Int64,
        in statements: RecordStatements
    ) throws -> RecordResult {
        if let current, current.contentHash == snapshot.contentHash {
            return try recordSeenAgain(snapshot, current, observedAt: observedAt, runID: runID, in: statements)
        }
        let version = (current?.version ?? 0) + 1
        let documents = try storeDocuments(snapshot, observedAt: observedAt, in: statements)
        let streamID = try upsertStream(
            snapshot, current, version: version, restID: documents.restID, observedAt: observedAt, runID: runID,
            sourceID: sourceID, in: statements)
        try insertVersion(
            snapshot, streamID: streamID, version: version, documents: documents,
            statusChange: statusChange(snapshot, current, observedAt: observedAt),
            observedAt: observedAt, runID: runID, in: statements)
        if current?.isGone == true {
            try insertBack(
                streamID: streamID, snapshot: snapshot, version: version, observedAt: observedAt, runID: runID, in: statements)
        }
        for note in snapshot.notes {
            let entry = SyncErrorEntry(jobUID: snapshot.jobUID, kind: note.kind, message: "version \(version): \(note.message)")
            try recordError(entry, runID: runID, in: statements.db)
        }
        return RecordResult(change: current == nil ? .new : .changed, back: current?.isGone ?? false, version: version)
    }

    /// The same content as the current version: seen in this run, no new version.
    private static func recordSeenAgain(
        _ snapshot: StreamSnapshot, _ current: CurrentStream, observedAt: String, runID: Int64, in statements: RecordStatements
    ) throws -> RecordResult {
        try statements.seenAgain.execute {
            $0.bind(observedAt)
            $0.bind(runID)
            $0.bind(snapshot.serverUpdatedAt)
            $0.bind(snapshot.servedDigest)
            $0.bind(current.streamID)
        }
        if current.isGone {
            try insertBack(
                streamID: current.streamID, snapshot: snapshot, version: current.version, observedAt: observedAt,
                runID: runID, in: statements)
        }
        return RecordResult(change: .unchanged, back: current.isGone, version: current.version)
    }

    /// Stores the version's documents (each once, by hash) and, for a document stored for the
    /// first time in its role, the rows derived from it.
    private static func storeDocuments(
        _ snapshot: StreamSnapshot, observedAt: String, in statements: RecordStatements
    ) throws -> VersionDocuments {
        let restID = try storeDocument(snapshot.rest, in: statements) { id in
            try storeRegions(snapshot.regions, documentID: id, observedAt: observedAt, in: statements)
        }
        let platformID = try snapshot.platformConfig.map { config in
            let id = try storeDocument(config, in: statements) { _ in }
            try storeConfigRows(snapshot, documentID: id, in: statements)
            return id
        }
        let binaryID = try snapshot.binaryConfig.map { try storeDocument($0, in: statements) { _ in } }
        return VersionDocuments(restID: restID, platformID: platformID, binaryID: binaryID)
    }

    private static func storeRegions(
        _ regions: [StreamSnapshot.Region], documentID: Int64, observedAt: String, in statements: RecordStatements
    ) throws {
        let written = statements.regions
        for (position, region) in regions.enumerated() {
            if written == nil || written?.titles[region.id] != region.title {
                written?.titles[region.id] = region.title
                try statements.upsertRegion.execute {
                    $0.bind(region.id)
                    $0.bind(region.title)
                    $0.bind(observedAt)
                }
            }
            try statements.documentRegion.execute {
                $0.bind(documentID)
                $0.bind(position)
                $0.bind(region.id)
            }
        }
    }

    /// The rows derived from a pipeline config, written when a document is first used as one
    /// (config_case_types has a row per such document), also when the same document was stored
    /// before in another role.
    private static func storeConfigRows(_ snapshot: StreamSnapshot, documentID id: Int64, in statements: RecordStatements) throws {
        try statements.caseType.execute {
            $0.bind(id)
            $0.bind(snapshot.fields.caseType)
        }
        guard statements.db.changesCount > 0 else { return }
        for area in snapshot.areas {
            try statements.area.execute {
                $0.bind(id)
                $0.bind(area.position)
                $0.bind(area.areaID)
                $0.bind(area.shape)
                $0.bind(area.pointCount)
            }
        }
        for fence in snapshot.fences {
            try statements.fence.execute {
                $0.bind(id)
                $0.bind(fence.position)
                $0.bind(fence.fenceID)
                $0.bind(fence.json)
            }
        }
    }

    /// Writes the `streams` row of a new version (with its payload document, `current_rest_id`);
    /// returns its `stream_id`.
    private static func upsertStream(
        _ snapshot: StreamSnapshot, _ current: CurrentStream?, version: Int64, restID: Int64, observedAt: String,
        runID: Int64, sourceID: Int64, in statements: RecordStatements
    ) throws -> Int64 {
        // The columns both statements set from the served object, in the order both name them.
        let served = { (arguments: inout WriteStatement.Arguments) in
            let fields = snapshot.fields
            arguments.bind(fields.id)
            arguments.bind(databaseValue(snapshot.status))
            arguments.bind(fields.streamUID)
            arguments.bind(fields.cameraGroupUID)
            arguments.bind(fields.caseType)
            arguments.bind(fields.streamCaseType)
            arguments.bind(fields.ovmsClient)
            arguments.bind(fields.createdAt)
            arguments.bind(snapshot.serverUpdatedAt)
        }
        if let current {
            try statements.updateStream.execute {
                served(&$0)
                $0.bind(observedAt)
                $0.bind(runID)
                $0.bind(version)
                $0.bind(snapshot.contentHash)
                $0.bind(snapshot.servedDigest)
                $0.bind(restID)
                $0.bind(current.streamID)
            }
            return current.streamID
        }
        try statements.insertStream.execute {
            $0.bind(snapshot.jobUID)
            served(&$0)
            $0.bind(observedAt)
            $0.bind(observedAt)
            $0.bind(runID)
            $0.bind(version)
            $0.bind(snapshot.contentHash)
            $0.bind(snapshot.servedDigest)
            $0.bind(sourceID)
            $0.bind(restID)
        }
        return statements.db.lastInsertedRowID
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
        statusChange: (at: String, source: String)?, observedAt: String, runID: Int64, in statements: RecordStatements
    ) throws {
        guard let contentHash = HexBytes.decode(snapshot.contentHash) else {
            throw StoreError(
                .other, "the content hash of \(snapshot.jobUID) is not hex (a bug in streamdb); nothing of it was stored.")
        }
        try statements.insertVersion.execute {
            $0.bind(streamID)
            $0.bind(version)
            $0.bind(observedAt)
            $0.bind(runID)
            $0.bind(blob: contentHash)
            $0.bind(databaseValue(snapshot.status))
            $0.bind(snapshot.serverUpdatedAt)
            $0.bind(documents.restID)
            $0.bind(documents.platformID)
            $0.bind(documents.binaryID)
            $0.bind(statusChange?.at)
            $0.bind(statusChange?.source)
        }
    }

    /// Records a present stream served again exactly as last time (its ``ServedDigest`` matched
    /// `streams.served_digest`): seen in this run, with the latest `updated_at`; no version, no
    /// status row. Returns false when the stream is no longer present with that digest (gone, or
    /// recorded anew since the run began): the caller then records the normalised object instead.
    ///
    /// Whether the row was updated is SQLite's count of changed rows, not a RETURNING clause:
    /// RETURNING gathers its rows in a table of its own before the first is read, which made this
    /// statement, run for every stream of an unchanged resync, twice as expensive (bench/ANALYSIS.md).
    static func recordUnchanged(
        _ stream: UnchangedStream, observedAt: String, runID: Int64, sourceID: Int64, in statements: RecordStatements
    ) throws -> Bool {
        try statements.unchanged.execute {
            $0.bind(observedAt)
            $0.bind(runID)
            $0.bind(stream.serverUpdatedAt)
            $0.bind(stream.streamID)
            $0.bind(stream.servedDigest)
            $0.bind(sourceID)
        }
        return statements.db.changesCount > 0
    }

    /// `streams.served_digest` and `stream_id` of every present stream of the source that has a
    /// digest, by job_uid: what ``recordUnchanged(_:observedAt:runID:sourceID:in:)`` compares with.
    ///
    /// Read on the writer's connection, which holds the sync lock's database to itself: the pages
    /// of `streams` read here are then in the cache the run's updates of the same rows find them
    /// in. Ten thousand streams take about 11 ms, nearly all of it SQLite reading the rows (reading
    /// them straight from SQLite into a dictionary sized once did not shorten it), so a sync does
    /// not wait for it: see `PendingFilter` (bench/ANALYSIS.md).
    public func servedDigests(sourceID: Int64) async throws -> [String: StoredDigest] {
        try await write { db in
            let present = try WriteStatement(
                "SELECT count(*) FROM streams WHERE source_id = ? AND gone_at IS NULL", in: db
            ).fetchInt64 { $0.bind(sourceID) }
            var digests: [String: StoredDigest] = [:]
            digests.reserveCapacity(Int(present ?? 0))
            try WriteStatement(
                """
                SELECT job_uid, served_digest, stream_id FROM streams
                WHERE source_id = ? AND gone_at IS NULL AND served_digest IS NOT NULL
                """, in: db
            ).forEachRow(binding: { $0.bind(sourceID) }) { row in
                guard let uid = row.string(0), let digest = row.string(1) else { return }
                digests[uid] = StoredDigest(digest: digest, streamID: row.int64(2))
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
        _ document: StreamSnapshot.Document, in statements: RecordStatements, whenNew: (Int64) throws -> Void
    ) throws -> Int64 {
        try statements.insertDocument.execute {
            $0.bind(document.sha256)
            $0.bind(document.json)
            // A config string that is no JSON is kept as served, U+0000 included: text is bound
            // up to its first NUL (as GRDB binds it), its bytes as a blob are bound whole.
            $0.bind(blob: document.raw.map { Array($0.utf8) })
            $0.bind(document.parseError)
            $0.bind(document.served)
        }
        let db = statements.db
        if db.changesCount == 1 {
            let id = db.lastInsertedRowID
            try whenNew(id)
            return id
        }
        guard let id = try statements.documentID.fetchInt64({ $0.bind(document.sha256) }) else {
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
        streamID: Int64, snapshot: StreamSnapshot, version: Int64, observedAt: String, runID: Int64,
        in statements: RecordStatements
    ) throws {
        try statements.insertBack.execute {
            $0.bind(streamID)
            $0.bind(databaseValue(snapshot.status))
            $0.bind(observedAt)
            $0.bind(snapshot.serverUpdatedAt)
            $0.bind(observedAt)
            $0.bind(runID)
            $0.bind(version)
        }
    }

    static func databaseValue(_ status: StatusValue) -> DatabaseValue {
        switch status {
        case .int(let i): return i.databaseValue
        case .text(let s): return s.databaseValue
        }
    }
}
