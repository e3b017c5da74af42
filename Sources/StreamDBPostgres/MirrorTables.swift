/// What `publish` copies of each table: the rows new since the origin's high-water marks (or,
/// for the few tables whose rows change, all of them or the ones a run touched), read from the
/// SQLite file in key order, a chunk at a time, and COPY'd into PostgreSQL.
///
/// Every id of the file is shifted by the origin's offset (`:o`, origin_id * 2^40); statuses
/// (INTEGER or TEXT, as served) become JSON text for the jsonb columns; content hashes hex.
struct MirrorTable: Sendable {
    enum Conflict: Sendable {
        /// New rows only: COPY straight into the table.
        case none
        /// Rows that may have been sent before: staged, then inserted where new.
        case ignore
        /// Rows that change (a stream's current state, a run's outcome): staged, then upserted.
        case update
    }

    let name: String
    /// PostgreSQL's columns, in the order of ``select``.
    let columns: [String]
    /// SQLite expressions giving those columns.
    let select: [String]
    /// `FROM ... WHERE ...` in SQLite, with the marks as named arguments.
    let source: String
    /// The key the rows are read in (and chunked by), SQLite expressions of the table's columns.
    let key: [String]
    /// PostgreSQL's primary key, for ON CONFLICT.
    let primaryKey: [String]
    let conflict: Conflict
    /// The columns of ``select`` that read text as a blob, for ``CopyText``.
    var textBlobs: Set<Int> { Set(select.indices.filter { select[$0].hasPrefix("CAST(") && select[$0].hasSuffix(" AS BLOB)") }) }
}

/// The marks a publish reads from (the last publish's) and up to (this one's), in the file's ids.
struct PublishMarks: Sendable, Equatable {
    var run: Int64 = 0
    var stream: Int64 = 0
    var document: Int64 = 0
    var error: Int64 = 0
    var presence: Int64 = 0
    var span: Int64 = 0
}

extension MirrorTable {
    /// `status` (INTEGER or TEXT) as JSON text: 6 or "6".
    static func json(_ column: String) -> String { "CASE WHEN \(column) IS NULL THEN NULL ELSE json_quote(\(column)) END" }
    /// An id of the file as an id of the mirror.
    static func id(_ column: String) -> String { "\(column) + :o" }
    /// An INTEGER column that may hold something else when the server sent something else.
    static func integer(_ column: String) -> String { "CASE typeof(\(column)) WHEN 'integer' THEN \(column) END" }

    /// The tables in the order their references need, for a publish after `previous` (all zero
    /// for the first one). `runningRuns`: runs the mirror holds as still running (a sync that
    /// died), sent again for the outcome the next sync gave them. The spans the mirror holds as
    /// open are a named argument, `:open_spans` (a JSON array of the file's ids): those the file
    /// has ended since are sent again with their end.
    static func all(after previous: PublishMarks, runningRuns: [Int64]) -> [MirrorTable] {
        let first = previous == PublishMarks()
        let runs = "sync_run_id > :prev_run"
        // The versions recorded since the last publish, read through the streams that have one
        // (`:new_version_streams`, ``newVersionStreams``), not by scanning `versions` (it has no
        // index by run, 0008).
        let newVersions = "versions WHERE \(runs) AND stream_id IN (SELECT value FROM json_each(:new_version_streams))"
        // A config table's rows of the new documents, and (after the first publish) of older
        // documents that new versions used in a new role (a document stored as a payload, later
        // used as a config, gets its config rows then): two searches of the key, merged.
        func derived(_ table: String, _ column: String) -> String {
            first
                ? "FROM \(table) WHERE true"
                : """
                FROM (SELECT * FROM \(table) WHERE document_id > :prev_document
                      UNION ALL
                      SELECT * FROM \(table) WHERE document_id <= :prev_document
                         AND document_id IN (SELECT \(column) FROM \(newVersions))) WHERE true
                """
        }
        let running = runningRuns.isEmpty ? "" : " OR id IN (\(runningRuns.map(String.init).joined(separator: ", ")))"
        return [
            MirrorTable(
                name: "sources", columns: ["id", "origin_id", "name", "base_url", "first_synced_at", "last_synced_at"],
                select: [id("id"), ":origin", "name", "base_url", "first_synced_at", "last_synced_at"],
                source: "FROM sources WHERE true", key: ["id"], primaryKey: ["id"], conflict: .update),
            MirrorTable(
                name: "regions", columns: ["origin_id", "id", "title", "first_seen_at"],
                select: [":origin", "id", "title", "first_seen_at"],
                source: "FROM regions WHERE true", key: ["id"], primaryKey: ["origin_id", "id"], conflict: .update),
            MirrorTable(
                name: "sync_runs",
                columns: [
                    "id", "origin_id", "started_at", "finished_at", "source_url", "outcome", "listing", "streams_seen",
                    "streams_new", "streams_changed", "streams_unchanged", "streams_gone", "streams_back", "errors", "message",
                    "streamdb_version", "source_id",
                ],
                select: [
                    id("id"), ":origin", "started_at", "finished_at", "source_url", "outcome", "listing", "streams_seen",
                    "streams_new", "streams_changed", "streams_unchanged", "streams_gone", "streams_back", "errors", "message",
                    "streamdb_version", id("source_id"),
                ],
                source: "FROM sync_runs WHERE (id > :prev_run\(running))", key: ["id"], primaryKey: ["id"], conflict: .update),
            MirrorTable(
                name: "sync_errors",
                columns: ["id", "sync_run_id", "job_uid", "kind", "http_status", "url", "attempts", "message", "occurred_at"],
                select: [
                    id("id"), id("sync_run_id"), "job_uid", "kind", integer("http_status"), "url", integer("attempts"), "message",
                    "occurred_at",
                ],
                source: "FROM sync_errors WHERE id > :prev_error", key: ["id"], primaryKey: ["id"], conflict: .none),
            MirrorTable(
                name: "documents", columns: ["id", "origin_id", "sha256", "json", "raw", "parse_error", "served"],
                // `raw`, a config string kept as served, may hold U+0000: read as its bytes.
                select: [id("id"), ":origin", "sha256", "json", "CAST(raw AS BLOB)", "parse_error", "served"],
                source: "FROM documents WHERE id > :prev_document", key: ["id"], primaryKey: ["id"], conflict: .none),
            MirrorTable(
                name: "document_regions", columns: ["document_id", "position", "region_id"],
                select: [id("document_id"), "position", "region_id"],
                source: derived("document_regions", "rest_id"),
                key: ["document_id", "position"], primaryKey: ["document_id", "position"], conflict: first ? .none : .ignore),
            MirrorTable(
                name: "config_areas", columns: ["document_id", "position", "area_id", "shape", "point_count"],
                select: [id("document_id"), "position", "area_id", "shape", integer("point_count")],
                source: derived("config_areas", "platform_config_id"),
                key: ["document_id", "position"], primaryKey: ["document_id", "position"], conflict: first ? .none : .ignore),
            MirrorTable(
                name: "config_fences", columns: ["document_id", "position", "fence_id", "fence"],
                select: [id("document_id"), "position", "fence_id", "fence"],
                source: derived("config_fences", "platform_config_id"),
                key: ["document_id", "position"], primaryKey: ["document_id", "position"], conflict: first ? .none : .ignore),
            MirrorTable(
                name: "config_case_types", columns: ["document_id", "case_type"],
                select: [id("document_id"), "case_type"],
                source: derived("config_case_types", "platform_config_id"),
                key: ["document_id"], primaryKey: ["document_id"], conflict: first ? .none : .ignore),
            MirrorTable(
                name: "streams",
                columns: [
                    "stream_id", "origin_id", "job_uid", "id", "status", "stream_uid", "camera_group_uid", "case_type",
                    "stream_case_type", "ovms_client", "created_at", "updated_at", "first_seen_at", "last_seen_at",
                    "last_seen_run_id", "gone_at", "current_version", "current_content_hash", "served_digest", "source_id",
                    "current_rest_id",
                ],
                select: [
                    id("stream_id"), ":origin", "job_uid", integer("id"), json("status"), "stream_uid", "camera_group_uid",
                    "case_type", integer("stream_case_type"), integer("ovms_client"), "created_at", "updated_at",
                    "first_seen_at", "last_seen_at", id("last_seen_run_id"), "gone_at", "current_version",
                    "current_content_hash", "served_digest", id("source_id"), id("current_rest_id"),
                ],
                source: first
                    ? "FROM streams WHERE true"
                    : """
                    FROM streams WHERE (stream_id > :prev_stream OR last_seen_run_id > :prev_run
                        OR stream_id IN (SELECT stream_id FROM presence_events WHERE id > :prev_presence))
                    """,
                key: ["stream_id"], primaryKey: ["stream_id"], conflict: first ? .none : .update),
            MirrorTable(
                name: "versions",
                columns: [
                    "stream_id", "version", "observed_at", "sync_run_id", "content_hash", "status", "server_updated_at",
                    "rest_id", "platform_config_id", "binary_config_id", "status_changed_at", "status_changed_at_source",
                ],
                select: [
                    id("stream_id"), "version", "observed_at", id("sync_run_id"),
                    "CASE typeof(content_hash) WHEN 'blob' THEN lower(hex(content_hash)) ELSE content_hash END", json("status"),
                    "server_updated_at", id("rest_id"), id("platform_config_id"), id("binary_config_id"), "status_changed_at",
                    "status_changed_at_source",
                ],
                source: first ? "FROM versions WHERE true" : "FROM \(newVersions)", key: ["stream_id", "version"],
                primaryKey: ["stream_id", "version"],
                conflict: .none),
            MirrorTable(
                name: "presence_events",
                columns: [
                    "id", "stream_id", "event", "status", "previous_status", "observed_at", "server_updated_at", "changed_at",
                    "changed_at_source", "sync_run_id", "version",
                ],
                select: [
                    id("id"), id("stream_id"), "event", json("status"), json("previous_status"), "observed_at",
                    "server_updated_at", "changed_at", "changed_at_source", id("sync_run_id"), "version",
                ],
                source: "FROM presence_events WHERE id > :prev_presence", key: ["id"], primaryKey: ["id"], conflict: .none),
            MirrorTable(
                name: "status_spans",
                columns: [
                    "id", "stream_id", "started_by", "status", "started_us", "ended_us", "from_server", "version",
                    "sync_run_id", "previous_status",
                ],
                select: [
                    id("id"), id("stream_id"), "started_by", json("status"), "started_us", "ended_us", "from_server", "version",
                    id("sync_run_id"), json("previous_status"),
                ],
                // A span ends when the next one of its stream starts: the spans the mirror holds
                // as open and the file has ended since are sent again with their end.
                source: first
                    ? "FROM status_spans WHERE true"
                    : """
                    FROM (SELECT * FROM status_spans WHERE id > :prev_span
                          UNION ALL
                          SELECT * FROM status_spans WHERE id IN (SELECT value FROM json_each(:open_spans))
                             AND id <= :prev_span AND ended_us IS NOT NULL) WHERE true
                    """,
                key: ["id"], primaryKey: ["id"], conflict: first ? .none : .update),
            MirrorTable(
                name: "document_changes",
                columns: [
                    "stream_id", "version", "observed_at", "sync_run_id", "platform_config_id", "previous_config_id", "rest_id",
                    "previous_rest_id",
                ],
                select: [
                    id("stream_id"), "version", "observed_at", id("sync_run_id"), id("platform_config_id"),
                    id("previous_config_id"), id("rest_id"), id("previous_rest_id"),
                ],
                // Read by run, through its index (which holds the key), not by scanning the table.
                source: "FROM document_changes WHERE \(runs)", key: ["sync_run_id", "stream_id", "version"],
                primaryKey: ["stream_id", "version"], conflict: .none),
            // Small, and a later run may change a pairing's verdict: all of it, every time.
            MirrorTable(
                name: "stream_replacements",
                columns: ["old_stream_id", "new_stream_id", "stream_uid", "case_type", "detected_at", "sync_run_id", "verdict"],
                select: [
                    id("old_stream_id"), id("new_stream_id"), "stream_uid", "case_type", "detected_at", id("sync_run_id"),
                    "verdict",
                ],
                source: "FROM stream_replacements WHERE true", key: ["old_stream_id", "new_stream_id"],
                primaryKey: ["old_stream_id", "new_stream_id"], conflict: .update),
            MirrorTable(
                name: "database_identity", columns: ["origin_id", "uuid", "created_at"],
                select: [":origin", "uuid", "created_at"], source: "FROM database_identity WHERE true", key: ["rowid"],
                primaryKey: ["origin_id"], conflict: .update),
        ]
    }

    /// The streams with a version recorded after run `:prev_run`, as a JSON array for
    /// `:new_version_streams`: a stream's versions come in run order, so a stream has a new
    /// version exactly when its current version is new; one lookup per stream.
    static let newVersionStreams = """
        SELECT coalesce(json_group_array(st.stream_id), '[]') FROM streams AS st
        CROSS JOIN versions AS cv ON cv.stream_id = st.stream_id AND cv.version = st.current_version
        WHERE cv.sync_run_id > :prev_run
        """

    /// A condition that `column`, an id of the mirror, is one origin's: its ids are
    /// `offset ..< offset + 2^40`, a range the column's index searches (`origin_of()` would not).
    static func inOrigin(_ column: String, offset: Int64) -> String {
        "\(column) >= \(offset) AND \(column) < \(offset + (Int64(1) << 40))"
    }

    /// The statements that delete every row of one origin, the tables that refer to others
    /// first; each by its key's prefix.
    static func deleteOrigin(origin: Int, offset: Int64) -> [String] {
        let range = { (column: String) in inOrigin(column, offset: offset) }
        return [
            ("stream_replacements", range("old_stream_id")), ("document_changes", range("stream_id")),
            ("status_spans", range("id")), ("presence_events", range("id")), ("versions", range("stream_id")),
            ("config_case_types", range("document_id")), ("config_fences", range("document_id")),
            ("config_areas", range("document_id")), ("document_regions", range("document_id")),
            ("streams", "origin_id = \(origin)"), ("documents", "origin_id = \(origin)"), ("sync_errors", range("id")),
            ("sync_runs", "origin_id = \(origin)"), ("regions", "origin_id = \(origin)"), ("sources", "origin_id = \(origin)"),
            ("database_identity", "origin_id = \(origin)"),
        ].map { table, condition in "DELETE FROM \(table) WHERE \(condition)" }
    }

    /// The SQLite query for the chunk after `key` (nil: from the start).
    func chunkQuery(after key: Bool, limit: Int) -> String {
        let keyList = self.key.joined(separator: ", ")
        let placeholders = self.key.indices.map { ":k\($0)" }.joined(separator: ", ")
        let after = key ? " AND (\(keyList)) > (\(placeholders))" : ""
        return "SELECT \((select + self.key).joined(separator: ", ")) \(source)\(after) ORDER BY \(keyList) LIMIT \(limit)"
    }

    /// The statement that moves the staged rows into the table and counts the rows it inserted
    /// or changed (a row sent again as it is counts for nothing).
    var mergeStatement: String {
        let columnList = columns.joined(separator: ", ")
        let insert = "INSERT INTO \(name) AS target (\(columnList)) SELECT \(columnList) FROM stage_\(name)"
        let onConflict = "ON CONFLICT (\(primaryKey.joined(separator: ", ")))"
        let action: String
        switch conflict {
        case .none, .ignore:
            action = "DO NOTHING"
        case .update:
            let changing = columns.filter { !primaryKey.contains($0) }
            let updates = changing.map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
            let before = changing.map { "target.\($0)" }.joined(separator: ", ")
            let after = changing.map { "excluded.\($0)" }.joined(separator: ", ")
            action = "DO UPDATE SET \(updates) WHERE (\(before)) IS DISTINCT FROM (\(after))"
        }
        return "WITH merged AS (\(insert) \(onConflict) \(action) RETURNING 1) SELECT count(*) FROM merged"
    }
}
