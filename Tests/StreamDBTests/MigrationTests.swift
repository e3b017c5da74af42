import Foundation
import GRDB
import StreamDB
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
                try db.execute(sql: """
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

            let report = try await h.sync()
            #expect(report.counts.new == 5)
            let applied = try h.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier") }
            #expect(applied.last == "0002_cheaper_resync")
            // The old history is all there.
            #expect(try h.count("SELECT count(*) FROM snapshots WHERE job_uid = '00617614-b938-11ee-bfd6-5622fced16a0'") == 2)
            #expect(try h.count("SELECT count(*) FROM status_history WHERE job_uid = '00617614-b938-11ee-bfd6-5622fced16a0'") >= 1)
            // Old configs got their case type from the stored JSON (a number there is no case type),
            // new ones from the sync.
            let caseTypes = try h.read { db in
                try Dictionary(uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT document_id, case_type FROM config_case_types WHERE document_id IN (2, 3)")
                    .map { ($0[0] as Int64, $0[1] as String?) })
            }
            #expect(caseTypes == [2: "face-recognition", 3: nil])
            #expect(try h.count("""
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
}
