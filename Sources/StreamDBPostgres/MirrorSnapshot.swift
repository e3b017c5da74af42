import Foundation
import GRDB
import Logging
import PostgresNIO
import StreamDBStore

/// The query commands' view of a team mirror (`--db postgresql://...`): the mirror's history
/// copied into a new SQLite file in streamdb's own schema, which the query commands then read as
/// they read any history. One implementation of every query, so the mirror answers exactly as
/// the files it holds do.
///
/// Ids: with one origin in the mirror, the file's own ids (the copy is that file's history, row
/// for row); with several, the mirror's (offset by origin, so they never collide), region ids
/// included (two installations' region 5 are two regions).
public enum MirrorSnapshot {
    /// Copies the mirror at `target` into a new SQLite file at `path`, closed and ready to be
    /// opened read-only. Returns the number of origins it holds.
    @discardableResult
    public static func materialise(_ target: PostgresTarget, into path: String, logger: Logger) async throws -> Int {
        try await target.withConnection(logger: logger, doing: "reading the mirror") { connection in
            try await readMirror(connection, target: target, into: path, logger: logger)
        }
    }

    private static func readMirror(
        _ connection: PostgresConnection, target: PostgresTarget, into path: String, logger: Logger
    ) async throws -> Int {
        guard let applied = try await PostgresSchema.applied(connection, logger: logger) else {
            throw PublishError(.usage, "\(target) holds no streamdb mirror: `streamdb publish --to` it first.")
        }
        if !applied.subtracting(PostgresSchema.names).isEmpty {
            throw PublishError(.conflict, "the mirror at \(target) was migrated by a newer streamdb; read it with that version or newer.")
        }
        if !Set(PostgresSchema.names).subtracting(applied).isEmpty {
            throw PublishError(
                .conflict, "the mirror at \(target) was written by an older streamdb; the next `streamdb publish` to it migrates it.")
        }
        var origins = 0
        for try await count in try await connection.query("SELECT count(*)::int FROM origins", logger: logger).decode(Int.self) {
            origins = count
        }
        let single = origins <= 1
        // A job in two files (two hosts syncing one installation): streamdb's schema holds each
        // job once, so the copy cannot hold both.
        if !single {
            let twice = try await connection.query(
                """
                SELECT s.job_uid, string_agg(o.host || ':' || o.path, ' and ' ORDER BY o.id)
                FROM streams AS s JOIN origins AS o ON o.id = s.origin_id
                GROUP BY s.job_uid HAVING count(*) > 1 ORDER BY s.job_uid LIMIT 1
                """, logger: logger)
            for try await (uid, files) in twice.decode((String, String).self) {
                throw PublishError(
                    .conflict,
                    "the mirror at \(target) holds job \(uid) from two files (\(files)); the query commands read a mirror whose every job is in one file: query this one with SQL, or each file on its own."
                )
            }
        }

        let store = try HistoryStore.openForWriting(path: path)
        // The copy holds what the mirror holds: nothing derived again, no identity of its own.
        try await store.write { db in
            for trigger in [
                "status_spans_from_versions", "status_spans_from_presence", "document_changes_from_versions",
                "database_identity_once", "database_identity_unchanged",
            ] {
                try db.execute(sql: "DROP TRIGGER IF EXISTS \(trigger)")
            }
            try db.execute(sql: "DELETE FROM database_identity")
        }
        for table in MirrorTable.all(after: PublishMarks(), runningRuns: []) where table.name != "database_identity" {
            try await copy(table, single: single, from: connection, into: store, logger: logger)
        }
        try store.closeAsCopy()
        return origins
    }

    /// One table, mirror to file, a batch of rows per write.
    private static func copy(
        _ table: MirrorTable, single: Bool, from connection: PostgresConnection, into store: HistoryStore, logger: Logger
    ) async throws {
        var selects: [String] = []
        var columns: [String] = []
        var values: [String] = []
        for (column, expression) in zip(table.columns, table.select) where expression != ":origin" {
            columns.append(column)
            let isID = expression.hasSuffix(" + :o")
            let isStatus = expression.hasPrefix("CASE WHEN")
            switch (table.name, column) {
            case ("regions", "id") where !single:
                selects.append("(id + (origin_id::bigint << 40))::text")
            case ("document_regions", "region_id") where !single:
                selects.append("(region_id + (origin_of(document_id)::bigint << 40))::text")
            default:
                selects.append(isID && single ? "local_id(\(column))::text" : "\(column)::text")
            }
            values.append(isStatus ? "json_extract(?, '$')" : "?")
        }
        let insert = "INSERT INTO \(table.name) (\(columns.joined(separator: ", "))) VALUES (\(values.joined(separator: ", ")))"
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT \(selects.joined(separator: ", ")) FROM \(table.name)"), logger: logger)
        var batch: [[String?]] = []
        for try await row in rows {
            batch.append(try row.map { try $0.decode(String?.self) })
            if batch.count == 5000 {
                try await write(batch, insert, store)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { try await write(batch, insert, store) }
    }

    private static func write(_ batch: [[String?]], _ insert: String, _ store: HistoryStore) async throws {
        try await store.write { db in
            let statement = try db.cachedStatement(sql: insert)
            for row in batch { try statement.execute(arguments: StatementArguments(row)) }
        }
    }
}
