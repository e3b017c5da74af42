import Foundation
import GRDB
import StreamDBAPI
import StreamDBModel
import StreamDBOutput
import StreamDBQuery
import StreamDBStore
import StreamDBSync
import Testing

/// Databases written by an older schema keep everything when a newer streamdb migrates them.
@Suite("Migrations")
struct MigrationTests {
    static func migration(_ name: String) throws -> String {
        try String(contentsOf: BuiltProduct.packageRoot.appending(path: "migrations/\(name).sql"), encoding: .utf8)
    }

    @Test("A database of schema 0001 is migrated by the next sync: its history is kept, configs get their case type, and the sync goes on")
    func fromFirstSchema() async throws {
        try await withHarness(streams: 5) { h in
            // A database as streamdb wrote it before migration 0002, holding one stream.
            let old = try DatabaseQueue(path: h.databasePath)
            try await old.write { db in
                try db.execute(sql: try Self.migration("0001_history"))
                try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
                try db.execute(sql: "INSERT INTO grdb_migrations VALUES ('0001_history')")
                try db.execute(
                    sql: """
                        INSERT INTO sync_runs (id, started_at, finished_at, source_url, outcome, listing)
                        VALUES (1, '2024-01-01T00:00:00.000000Z', '2024-01-01T00:00:01.000000Z', 'http://old', 'ok', 'complete');
                        INSERT INTO documents (id, sha256, json) VALUES
                            (1, 'rest', '{"job_uid":"00617614-b938-11ee-bfd6-5622fced16a0","regions":[]}'),
                            (2, 'platform', '{"CaseType":"face-recognition","Pipeline":{"Areas":[]}}'),
                            (3, 'numeric', '{"CaseType":7}');
                        INSERT INTO streams (job_uid, status, first_seen_at, last_seen_at, last_seen_run_id, current_version, current_content_hash)
                        VALUES ('00617614-b938-11ee-bfd6-5622fced16a0', 11, '2024-01-01T00:00:00.000000Z', '2024-01-01T00:00:00.000000Z', 1, 2, 'h2');
                        INSERT INTO snapshots (job_uid, version, observed_at, sync_run_id, content_hash, status, rest_id, platform_config_id)
                        VALUES ('00617614-b938-11ee-bfd6-5622fced16a0', 1, '2024-01-01T00:00:00.000000Z', 1, 'h1', 11, 1, 2),
                               ('00617614-b938-11ee-bfd6-5622fced16a0', 2, '2024-01-01T00:00:00.500000Z', 1, 'h2', 11, 1, 3);
                        INSERT INTO status_history (job_uid, event, status, observed_at, changed_at, changed_at_source, sync_run_id, version)
                        VALUES ('00617614-b938-11ee-bfd6-5622fced16a0', 'first_seen', 11, '2024-01-01T00:00:00.000000Z',
                                '2024-01-01T00:00:00.000000Z', 'sync', 1, 1);
                        """)
            }
            try old.close()

            // The old runs' URL became the source "old" (migration 0004); syncing it by name moves it
            // to the simulator's URL, so that its old stream can be found gone.
            let report = try await h.sync(source: "old")
            #expect(report.counts.new == 5)
            let applied = try h.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier") }
            // Every shipped migration after 0001, in order.
            let shipped = try BuiltProduct.shippedMigrations()
            #expect(shipped.count >= 11)
            #expect(Array(applied.suffix(shipped.count - 1)) == Array(shipped.dropFirst()))
            #expect(report.sourceNote?.contains("moved from http://old") == true)
            // The old history is all there.
            #expect(try h.count("SELECT count(*) FROM snapshots WHERE job_uid = '00617614-b938-11ee-bfd6-5622fced16a0'") == 2)
            #expect(try h.count("SELECT count(*) FROM status_history WHERE job_uid = '00617614-b938-11ee-bfd6-5622fced16a0'") >= 1)
            // Old configs got their case type from the stored JSON (a number there is no case type),
            // new ones from the sync.
            let caseTypes = try h.read { db in
                try Dictionary(
                    uniqueKeysWithValues: Row.fetchAll(
                        db, sql: "SELECT document_id, case_type FROM config_case_types WHERE document_id IN (2, 3)"
                    )
                    .map { ($0[0] as Int64, $0[1] as String?) })
            }
            #expect(caseTypes == [2: "face-recognition", 3: nil])
            #expect(
                try h.count(
                    """
                    SELECT count(*) FROM snapshots AS s LEFT JOIN config_case_types AS c ON c.document_id = s.platform_config_id
                    WHERE s.platform_config_id IS NOT NULL AND c.document_id IS NULL
                    """) == 0)
            // The index every sync rewrote is gone; the new streams carry their served digest.
            #expect(try h.count("SELECT count(*) FROM sqlite_master WHERE name = 'streams_by_last_seen_run'") == 0)
            #expect(try h.count("SELECT count(*) FROM streams WHERE served_digest IS NOT NULL") == 5)
            // The old stream was not listed by the server: it answers 404 and is marked gone, kept.
            #expect(try h.count("SELECT count(*) FROM streams WHERE gone_at IS NOT NULL") == 1)
        }
    }

    /// What an analyst reads, row for row, with every column: the same query must give the same
    /// answer before and after migration 0003 (open intervals' durations count to now: left out).
    static let analystQueries = [
        "SELECT * FROM snapshots ORDER BY job_uid, version",
        """
        SELECT job_uid, event, status, previous_status, observed_at, server_updated_at, changed_at,
               changed_at_source, sync_run_id, version
        FROM status_history ORDER BY job_uid, changed_at, observed_at
        """,
        "SELECT * FROM stream_versions ORDER BY job_uid, version",
        """
        SELECT job_uid, presence, status, started_by, started_at, started_at_source, ended_at,
               CASE WHEN ended_at IS NULL THEN NULL ELSE duration_seconds END AS duration_seconds
        FROM status_intervals ORDER BY job_uid, started_at
        """,
        "SELECT * FROM stream_regions ORDER BY job_uid, version, region_id",
        "SELECT * FROM areas ORDER BY job_uid, version, position",
        "SELECT * FROM fences ORDER BY job_uid, version, position",
        "SELECT * FROM current_streams ORDER BY job_uid",
        """
        SELECT job_uid, id, status, stream_uid, camera_group_uid, case_type, stream_case_type, ovms_client,
               created_at, updated_at, first_seen_at, last_seen_at, last_seen_run_id, gone_at, current_version,
               current_content_hash, served_digest
        FROM streams ORDER BY job_uid
        """,
    ]

    /// A fresh file holding the database streamdb wrote before migration 0003 (a demo run with
    /// status changes, disappearances and a return; see the fixture's first lines).
    static func databaseOfSchema0002(at path: String) throws {
        let dump = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appending(path: "Fixtures/schema-0002-demo.sql"), encoding: .utf8)
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in try db.execute(sql: dump) }
        try queue.close()
    }

    @Test(
        "Migration 0003 moves every version and status event to the compact tables: every view answers row for row as before, and syncing goes on"
    )
    func compactVersions() async throws {
        try await withHarness(streams: 5) { h in
            try Self.databaseOfSchema0002(at: h.databasePath)
            let before = try h.read { db in try Self.analystQueries.map { try Row.fetchAll(db, sql: $0) } }
            #expect(before[0].count == 200)
            #expect(Set(before[1].map { $0["event"] as String }) == ["first_seen", "changed", "gone", "back"])

            let store = try HistoryStore.openForWriting(path: h.databasePath)
            let after = try store.readNow { db in try Self.analystQueries.map { try Row.fetchAll(db, sql: $0) } }
            // What migration 0008 filled for the change feed matches what it is derived from.
            try store.readNow { db in try EventFeedTests.expectDerivedRowsMatch(db) }
            // Row for row as before; the views gained only the source's name (migration 0004) and
            // whether the configs are as served (0006: they are not, for versions stored before).
            func columns(_ rows: [Row]) -> [[String: DatabaseValue]] {
                rows.map { row in
                    Dictionary(row.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a }).filter {
                        $0.key != "source" && $0.key != "configs_as_served"
                    }
                }
            }
            for (query, (old, new)) in zip(Self.analystQueries, zip(before, after)) {
                #expect(columns(old) == columns(new), "\(query)")
            }
            #expect(after[2].allSatisfy { $0["source"] as String? == "127.0.0.1" && $0["configs_as_served"] as Int? == 0 })
            try store.readNow { (db: Database) throws in
                #expect(try String.fetchAll(db, sql: "PRAGMA foreign_key_check").isEmpty)
                #expect(try String.fetchAll(db, sql: "PRAGMA integrity_check") == ["ok"])
                // The compact shape: 32-byte hashes, status events on their versions, only
                // disappearances and returns in presence_events.
                #expect(
                    try Int.fetchOne(
                        db, sql: "SELECT count(*) FROM versions WHERE length(content_hash) <> 32 OR typeof(content_hash) <> 'blob'") == 0)
                #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM versions WHERE status_changed_at IS NOT NULL") == 170)
                #expect(
                    try String.fetchAll(db, sql: "SELECT event || ' ' || count(*) FROM presence_events GROUP BY event ORDER BY event") == [
                        "back 1", "gone 9",
                    ])
            }

            // Syncing goes on in the migrated file: new streams get new keys, the old ones are
            // marked gone (the simulator does not list them), and the views keep answering. The
            // fixture's runs were at another port of 127.0.0.1: its source is synced by name.
            let report = try await h.sync(source: "127.0.0.1")
            #expect(report.counts.new == 5)
            #expect(try h.count("SELECT count(*) FROM streams") == 114)
            #expect(try h.count("SELECT count(DISTINCT stream_id) FROM streams") == 114)
            #expect(try h.count(TestHarness.missingCurrentVersionsSQL) == 0)
            #expect(try h.mirrorsFleet())
            #expect(try h.count("SELECT count(*) FROM status_history WHERE event = 'first_seen'") == 114)
        }
    }

    @Test("Migration 0003 refuses to finish, leaving the file as it was, when a status row would not be found again")
    func compactVersionsRefusesLoss() async throws {
        try await withHarness(streams: 5) { h in
            try Self.databaseOfSchema0002(at: h.databasePath)
            // A 'changed' row whose previous status is not the status of the version before: the
            // new shape would read another value there.
            let queue = try DatabaseQueue(path: h.databasePath)
            try await queue.write { db in
                try db.execute(
                    sql:
                        "UPDATE status_history SET previous_status = 'odd' WHERE id = (SELECT min(id) FROM status_history WHERE event = 'changed')"
                )
            }
            try queue.close()
            let before = try h.read { db in try Self.analystQueries.map { try Row.fetchAll(db, sql: $0) } }

            #expect(throws: (any Error).self) { try HistoryStore.openForWriting(path: h.databasePath) }
            #expect(try h.count("SELECT count(*) FROM grdb_migrations WHERE identifier = '0003_compact_versions'") == 0)
            #expect(try h.count("SELECT count(*) FROM sqlite_master WHERE name = 'versions'") == 0)
            #expect(try h.count("SELECT count(*) FROM status_history") == 180)
            #expect(try h.read { db in try Self.analystQueries.map { try Row.fetchAll(db, sql: $0) } } == before)
        }
    }
}
