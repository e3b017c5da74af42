import Foundation
import GRDB
import StreamDBModel
import StreamDBQuery
import StreamDBStore
import StreamDBSync
import StreamSim
import Testing

/// The team mirror: `streamdb publish` into a real PostgreSQL (initdb and pg_ctl on a temporary
/// folder, on loopback), from two hosts' SQLite files.
@Suite(
    "Team mirror on PostgreSQL", .serialized,
    .enabled(if: PostgresServer.available, "PostgreSQL's initdb is not installed (Debian's postgresql package; .ci/run installs it)"))
struct MirrorTests {
    /// A table compared row by row between a SQLite file and its origin in the mirror: each
    /// column as text, ids of the file as the mirror's `local_id`.
    struct Table {
        /// `textBytes`: text that may hold U+0000, read as its bytes (GRDB cuts text at a NUL).
        enum Kind { case plain, id, status, hash, textBytes }
        let name: String
        let columns: [(String, Kind)]
        let key: String
        /// The column whose id says the row's origin (`origin_id` where the table has one).
        let originColumn: String

        func sqlite() -> String {
            let list = columns.map { column, kind -> String in
                switch kind {
                case .plain, .id: return column
                case .status: return "CASE WHEN \(column) IS NULL THEN NULL ELSE json_quote(\(column)) END"
                case .hash: return "CASE typeof(\(column)) WHEN 'blob' THEN lower(hex(\(column))) ELSE \(column) END"
                case .textBytes: return "CAST(\(column) AS BLOB)"
                }
            }
            return "SELECT \(list.joined(separator: ", ")) FROM \(name) ORDER BY \(key)"
        }

        func postgres(origin: Int) -> String {
            let list = columns.map { column, kind -> String in
                kind == .id ? "local_id(\(column))::text" : "\(column)::text"
            }
            let filter = originColumn == "origin_id" ? "origin_id = \(origin)" : "origin_of(\(originColumn)) = \(origin)"
            let order = key.split(separator: ",").map { column -> String in
                let name = column.trimmingCharacters(in: .whitespaces)
                return columns.first { $0.0 == name }?.1 == .id ? "local_id(\(name))" : name
            }
            return "SELECT \(list.joined(separator: ", ")) FROM \(name) WHERE \(filter) ORDER BY \(order.joined(separator: ", "))"
        }
    }

    static let tables: [Table] = [
        Table(
            name: "sources",
            columns: [("id", .id), ("name", .plain), ("base_url", .plain), ("first_synced_at", .plain), ("last_synced_at", .plain)],
            key: "id", originColumn: "id"),
        Table(
            name: "sync_runs",
            columns: [
                ("id", .id), ("started_at", .plain), ("finished_at", .plain), ("source_url", .plain), ("outcome", .plain),
                ("listing", .plain), ("streams_seen", .plain), ("streams_new", .plain), ("streams_changed", .plain),
                ("streams_unchanged", .plain), ("streams_gone", .plain), ("streams_back", .plain), ("errors", .plain),
                ("message", .plain), ("streamdb_version", .plain), ("source_id", .id),
            ], key: "id", originColumn: "id"),
        Table(
            name: "sync_errors",
            columns: [
                ("id", .id), ("sync_run_id", .id), ("job_uid", .plain), ("kind", .plain), ("http_status", .plain), ("url", .plain),
                ("attempts", .plain), ("message", .plain), ("occurred_at", .plain),
            ], key: "id", originColumn: "id"),
        Table(
            name: "documents",
            columns: [("id", .id), ("sha256", .plain), ("json", .plain), ("raw", .textBytes), ("parse_error", .plain), ("served", .plain)],
            key: "id", originColumn: "id"),
        Table(
            name: "regions", columns: [("id", .plain), ("title", .plain), ("first_seen_at", .plain)], key: "id", originColumn: "origin_id"),
        Table(
            name: "document_regions", columns: [("document_id", .id), ("position", .plain), ("region_id", .plain)],
            key: "document_id, position", originColumn: "document_id"),
        Table(
            name: "config_areas",
            columns: [("document_id", .id), ("position", .plain), ("area_id", .plain), ("shape", .plain), ("point_count", .plain)],
            key: "document_id, position", originColumn: "document_id"),
        Table(
            name: "config_fences", columns: [("document_id", .id), ("position", .plain), ("fence_id", .plain), ("fence", .plain)],
            key: "document_id, position", originColumn: "document_id"),
        Table(
            name: "config_case_types", columns: [("document_id", .id), ("case_type", .plain)], key: "document_id",
            originColumn: "document_id"),
        Table(
            name: "streams",
            columns: [
                ("stream_id", .id), ("job_uid", .plain), ("id", .plain), ("status", .status), ("stream_uid", .plain),
                ("camera_group_uid", .plain), ("case_type", .plain), ("stream_case_type", .plain), ("ovms_client", .plain),
                ("created_at", .plain), ("updated_at", .plain), ("first_seen_at", .plain), ("last_seen_at", .plain),
                ("last_seen_run_id", .id), ("gone_at", .plain), ("current_version", .plain), ("current_content_hash", .plain),
                ("served_digest", .plain), ("source_id", .id), ("current_rest_id", .id),
            ], key: "stream_id", originColumn: "stream_id"),
        Table(
            name: "versions",
            columns: [
                ("stream_id", .id), ("version", .plain), ("observed_at", .plain), ("sync_run_id", .id), ("content_hash", .hash),
                ("status", .status), ("server_updated_at", .plain), ("rest_id", .id), ("platform_config_id", .id),
                ("binary_config_id", .id), ("status_changed_at", .plain), ("status_changed_at_source", .plain),
            ], key: "stream_id, version", originColumn: "stream_id"),
        Table(
            name: "presence_events",
            columns: [
                ("id", .id), ("stream_id", .id), ("event", .plain), ("status", .status), ("previous_status", .status),
                ("observed_at", .plain), ("server_updated_at", .plain), ("changed_at", .plain), ("changed_at_source", .plain),
                ("sync_run_id", .id), ("version", .plain),
            ], key: "id", originColumn: "id"),
        Table(
            name: "status_spans",
            columns: [
                ("id", .id), ("stream_id", .id), ("started_by", .plain), ("status", .status), ("started_us", .plain),
                ("ended_us", .plain), ("from_server", .plain), ("version", .plain), ("sync_run_id", .id), ("previous_status", .status),
            ], key: "id", originColumn: "id"),
        Table(
            name: "document_changes",
            columns: [
                ("stream_id", .id), ("version", .plain), ("observed_at", .plain), ("sync_run_id", .id), ("platform_config_id", .id),
                ("previous_config_id", .id), ("rest_id", .id), ("previous_rest_id", .id),
            ], key: "stream_id, version", originColumn: "stream_id"),
        Table(
            name: "stream_replacements",
            columns: [
                ("old_stream_id", .id), ("new_stream_id", .id), ("stream_uid", .plain), ("case_type", .plain), ("detected_at", .plain),
                ("sync_run_id", .id), ("verdict", .plain),
            ], key: "old_stream_id, new_stream_id", originColumn: "old_stream_id"),
    ]

    /// Every table of `path` equals its origin in the mirror, row for row and column for column;
    /// returns the rows compared per table.
    static func expectMirrored(_ path: String, in server: PostgresServer, sourceLocation: SourceLocation = #_sourceLocation) async throws
        -> [String: Int]
    {
        let queue = try DatabaseQueue(
            path: path,
            configuration: {
                var c = Configuration()
                c.readonly = true
                return c
            }())
        let uuid = try await queue.read { db in try String.fetchOne(db, sql: "SELECT uuid FROM database_identity") }!
        let origins = try await server.rows("SELECT id::text FROM origins WHERE database_uuid = '\(uuid)'")
        let origin = try #require(Int(origins.first?.first.flatMap { $0 } ?? ""), "no origin for \(path)", sourceLocation: sourceLocation)
        var counts: [String: Int] = [:]
        for table in tables {
            let local: [[String?]] = try await queue.read { db in
                try Row.fetchAll(db, sql: table.sqlite()).map { row in
                    zip(row.databaseValues, table.columns).map { value, column -> String? in
                        switch value.storage {
                        case .null: return nil
                        case .int64(let number): return String(number)
                        case .double(let number): return String(number)
                        case .string(let text): return text
                        // PostgreSQL text cannot hold U+0000: publish sends it as U+FFFD.
                        case .blob(let data) where column.1 == .textBytes:
                            return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\u{0}", with: "\u{FFFD}")
                        case .blob(let data): return data.map { String(format: "%02x", $0) }.joined()
                        }
                    }
                }
            }
            let mirrored = try await server.rows(table.postgres(origin: origin))
            #expect(
                mirrored.count == local.count, "\(table.name): \(mirrored.count) rows in the mirror, \(local.count) in \(path)",
                sourceLocation: sourceLocation)
            if let index = local.indices.first(where: { $0 < mirrored.count && local[$0] != mirrored[$0] }) {
                Issue.record(
                    "\(table.name) differs at row \(index): \(local[index]) in the file, \(mirrored[index]) in the mirror",
                    sourceLocation: sourceLocation)
            }
            counts[table.name] = local.count
        }
        return counts
    }

    /// The references the mirror's history tables no longer enforce (PostgreSQL migration 0003):
    /// child table, its column, the parent table and key.
    static let references: [(String, String, String, String)] = [
        ("documents", "origin_id", "origins", "id"), ("sync_errors", "sync_run_id", "sync_runs", "id"),
        ("document_regions", "document_id", "documents", "id"), ("config_areas", "document_id", "documents", "id"),
        ("config_fences", "document_id", "documents", "id"), ("config_case_types", "document_id", "documents", "id"),
        ("versions", "stream_id", "streams", "stream_id"), ("versions", "sync_run_id", "sync_runs", "id"),
        ("versions", "rest_id", "documents", "id"), ("versions", "platform_config_id", "documents", "id"),
        ("versions", "binary_config_id", "documents", "id"), ("presence_events", "stream_id", "streams", "stream_id"),
        ("presence_events", "sync_run_id", "sync_runs", "id"), ("status_spans", "stream_id", "streams", "stream_id"),
        ("status_spans", "sync_run_id", "sync_runs", "id"), ("document_changes", "sync_run_id", "sync_runs", "id"),
    ]

    /// Every reference of the mirror's history tables finds its row, and every document change
    /// its version.
    static func expectNoOrphans(in server: PostgresServer, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        var checks = references.map { child, column, parent, key in
            "SELECT '\(child).\(column)', count(*) FROM \(child) AS c WHERE c.\(column) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM \(parent) AS p WHERE p.\(key) = c.\(column))"
        }
        checks.append(
            "SELECT 'document_changes.version', count(*) FROM document_changes AS c WHERE NOT EXISTS (SELECT 1 FROM versions AS v WHERE v.stream_id = c.stream_id AND v.version = c.version)"
        )
        for row in try await server.rows(
            checks.map { "(\($0))" }.joined(separator: " UNION ALL ").replacing("count(*)", with: "count(*)::text"))
        {
            #expect(
                row.last == "0", "\(row.first.flatMap { $0 } ?? "?"): \(row.last.flatMap { $0 } ?? "?") rows refer to nothing",
                sourceLocation: sourceLocation)
        }
    }

    /// Output with the lengths of intervals that run to "now" masked, and the tables' padding
    /// with them (a length that grows from "59s" to "1m 0s" widens its column): the two commands
    /// compared run a moment apart.
    static func timeless(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            let masked = line.contains("now") ? String(line).replacing(/(\d+d )?(\d+h )?(\d+m )?\d+s/, with: "(to now)") : String(line)
            return masked.replacing(/\ {2,}/, with: " ").replacing(/-{2,}/, with: "-")
        }.joined(separator: "\n")
    }

    /// One host: a simulator, its SQLite file, a source name.
    struct Host {
        let harness: TestHarness
        let source: String
        var db: [String] { ["--db", harness.databasePath] }

        func sync() async throws {
            let result = try await BuiltProduct.run(["sync", "--url", harness.server.baseURL, "--source", source, "--quiet"] + db)
            #expect(result.status == 0, "\(result.stderr)")
        }
    }

    @Test(
        "After scrub-secrets, the next publish replaces the file's history in the mirror: no secret the server served stays there, the mirror equals the scrubbed file, and the publish after is incremental again"
    )
    func scrubbedThenPublished() async throws {
        let server = try PostgresServer()
        defer { server.stop() }
        try await withHarness(streams: 30, seed: 9) { h in
            let host = Host(harness: h, source: "grodno")
            let keep = ["sync", "--url", h.server.baseURL, "--source", "grodno", "--quiet", "--keep-url-credentials"] + host.db
            let publish = ["publish", "--to", server.url] + host.db
            var served = SecretsTests.secrets(in: h.fleet)
            for round in 0..<2 {
                if round > 0 {
                    h.fleet.tick()
                    served.formUnion(SecretsTests.secrets(in: h.fleet))
                }
                let synced = try await BuiltProduct.run(keep)
                #expect(synced.status == 0, "\(synced.stderr)")
                let published = try await BuiltProduct.run(publish, environment: server.environment)
                #expect(published.status == 0, "\(published.stderr)")
            }
            // Every row of every table of the mirror, as text.
            func mirrorText() throws -> String {
                let tables = [
                    "documents", "config_areas", "config_fences", "regions", "sync_errors", "versions", "streams", "sources",
                ]
                return try tables.flatMap { try server.query("SELECT x::text FROM \($0) AS x") }.joined(separator: "\n")
            }
            let before = try mirrorText()
            #expect(served.contains { before.contains($0) }, "the kept secrets did not reach the mirror")

            let scrub = try await BuiltProduct.run(["scrub-secrets", "--db", h.databasePath])
            #expect(scrub.status == 0, "\(scrub.stderr)")
            let republished = try await BuiltProduct.run(publish, environment: server.environment)
            #expect(republished.status == 0, "\(republished.stderr)")
            #expect(republished.stdout.contains("scrubbed since the last publish"), "\(republished.stdout)")
            let after = try mirrorText()
            for secret in served {
                #expect(!after.contains(secret), "\(secret) is still in the mirror")
            }
            _ = try await Self.expectMirrored(h.databasePath, in: server)
            try await Self.expectNoOrphans(in: server)

            // Then back to incremental publishes.
            h.fleet.tick()
            try await host.sync()
            let next = try await BuiltProduct.run(publish, environment: server.environment)
            #expect(next.status == 0 && !next.stdout.contains("scrubbed"), "\(next.stdout)\(next.stderr)")
            _ = try await Self.expectMirrored(h.databasePath, in: server)
        }
    }

    @Test(
        "The hostile corpus, synced and published: the mirror equals the file row for row (a U+0000 in text as U+FFFD, counted in the publish's line), and its views answer over every hostile document"
    )
    func hostileCorpusPublished() async throws {
        let server = try PostgresServer()
        defer { server.stop() }
        let entries = try HostilePayloadTests.manifest()
        try await withHarness(streams: entries.count + 3, seed: 31) { h in
            try await h.sync()
            var served: [String: [UInt8]] = [:]
            for (entry, stream) in zip(entries, h.fleet.liveStreams) {
                served[stream.jobUID] = try HostilePayloadTests.body(entry.file, uid: stream.jobUID)
            }
            // And a config string that is no JSON and holds U+0000 (stored as text, as served).
            let nulStream = try #require(h.fleet.liveStreams.last)
            let notJSON = String(decoding: try HostilePayloadTests.body("binary_json-not-json.json", uid: nulStream.jobUID), as: UTF8.self)
            #expect(notJSON.contains("<xml/>"))
            served[nulStream.jobUID] = Array(notJSON.replacingOccurrences(of: "<xml/>", with: "<xml>\\u0000</xml>").utf8)
            h.server.setOptions { [served] in $0.detailBodies = served }
            var options = SyncOptions()
            options.useList = false
            _ = try await h.sync(options)
            let published = try await BuiltProduct.run(
                ["publish", "--to", server.url, "--db", h.databasePath], environment: server.environment)
            #expect(published.status == 0, "\(published.stderr)")
            #expect(published.stdout.contains("held U+0000, sent as U+FFFD"), "\(published.stdout)")
            // The file keeps the string as served, U+0000 and what follows it included.
            #expect(try h.count("SELECT count(*) FROM documents WHERE hex(CAST(raw AS BLOB)) = hex('<xml>') || '00' || hex('</xml>')") == 1)
            // and gives it back in the payload, as JSON does: <xml>\u0000</xml>.
            #expect(
                try h.count(
                    "SELECT count(*) FROM stream_versions WHERE job_uid = ? AND instr(payload, '<xml>\\u0000</xml>') > 0",
                    [nulStream.jobUID]) == 1)
            #expect(try server.query("SELECT count(*) > 0 FROM documents WHERE strpos(raw, U&'\\FFFD') > 0") == ["t"])
            _ = try await Self.expectMirrored(h.databasePath, in: server)
            try await Self.expectNoOrphans(in: server)
            // The views, over every hostile document: as many rows as the file's.
            for view in [
                "stream_versions", "areas", "fences", "status_intervals", "status_history", "current_streams", "stream_regions",
                "snapshots",
            ] {
                let rows = try h.count("SELECT count(*) FROM \(view)")
                #expect(try server.query("SELECT count(*) FROM \(view)") == [String(rows)], "\(view): the file has \(rows) rows")
            }
        }
    }

    @Test(
        "Query commands refuse, in one sentence naming both files, a mirror that holds one job from two files (two hosts syncing one installation)"
    )
    func jobInTwoFiles() async throws {
        let server = try PostgresServer()
        defer { server.stop() }
        try await withHarness(streams: 4, seed: 61) { a in
            try await withHarness(streams: 4, seed: 61) { b in
                let hosts = [Host(harness: a, source: "vitebsk"), Host(harness: b, source: "vitebsk-copy")]
                for host in hosts {
                    try await host.sync()
                    let published = try await BuiltProduct.run(
                        ["publish", "--to", server.url] + host.db, environment: server.environment)
                    #expect(published.status == 0, "\(published.stderr)")
                }
                let uid = try #require(a.fleet.liveStreams.first?.jobUID)
                let read = try await BuiltProduct.run(["history", uid, "--db", server.url], environment: server.environment)
                #expect(read.status == 2, "\(read.stdout)\(read.stderr)")
                #expect(read.stderr.contains("from two files"), "\(read.stderr)")
                #expect(read.stderr.contains(a.databasePath) && read.stderr.contains(b.databasePath), "\(read.stderr)")
            }
        }
    }

    @Test(
        "Two hosts publish into one PostgreSQL while publishes are killed at random moments and PostgreSQL restarts mid-publish; the mirror then holds exactly both histories, and a second publish copies nothing"
    )
    func twoHostsKilledAndRestarted() async throws {
        let server = try PostgresServer()
        defer { server.stop() }
        try await withHarness(streams: 24, seed: 31) { a in
            try await withHarness(streams: 16, seed: 32) { b in
                let hosts = [Host(harness: a, source: "minsk"), Host(harness: b, source: "brest")]
                let publish = { (host: Host) in ["publish", "--to", server.url] + host.db }
                for host in hosts { try await host.sync() }
                var random = SystemRandomNumberGenerator()
                var killed = 0
                var restarted = 0
                // The latest moment a kill may land, in ms after the launch. A publish of these
                // small files can end before it: each one that did brings the latest moment in,
                // and rounds go on (up to 40) until three kills have landed in running publishes.
                var latest = 250
                var round = 0
                while round < 14 || (killed < 3 && round < 40) {
                    defer { round += 1 }
                    let host = hosts[round % 2]
                    // New history between publishes: status changes, edits, deletions, a replacement.
                    _ = host.harness.fleet.tick()
                    if round == 4, let uid = host.harness.fleet.liveStreams.first?.jobUID { _ = host.harness.fleet.replace(uid) }
                    try await host.sync()
                    let (process, _, _) = try BuiltProduct.launch(publish(host), environment: server.environment)
                    try await Task.sleep(for: .milliseconds(Int.random(in: 10...latest, using: &random)))
                    if round % 5 == 3 {
                        // PostgreSQL goes away under the publish, and comes back.
                        try server.restart()
                        restarted += 1
                        while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
                        #expect([0, 2].contains(process.terminationStatus), "a publish cut off by a restart exits 2")
                    } else {
                        if process.isRunning { killed += 1 } else { latest = max(20, latest * 2 / 3) }
                        kill(process.processIdentifier, SIGKILL)
                        while process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
                    }
                }
                #expect(killed >= 3, "the kills should land while publishes run (\(killed) did)")
                #expect(restarted >= 2)
                // The mirror never holds half a publish: what is there is a whole number of publishes.
                for host in hosts {
                    let result = try await BuiltProduct.run(publish(host), environment: server.environment)
                    #expect(result.status == 0, "\(result.stderr)")
                    #expect(result.stdout.hasPrefix("published "), "\(result.stdout)")
                }
                try await Self.expectNoOrphans(in: server)
                var total: [String: Int] = [:]
                for host in hosts {
                    let counts = try await Self.expectMirrored(host.harness.databasePath, in: server)
                    #expect(counts["versions", default: 0] > 40 && counts["documents", default: 0] > 40, "\(counts)")
                    total.merge(counts, uniquingKeysWith: +)
                }
                // The union and nothing else: every table's rows are those of the two files.
                for table in Self.tables {
                    let rows = try await server.rows("SELECT count(*)::text FROM \(table.name)")
                    #expect(Int(rows[0][0] ?? "") == total[table.name], "\(table.name)")
                }
                #expect(try await server.rows("SELECT count(*)::text FROM stream_replacements WHERE verdict = 'replaced'")[0][0] == "1")
                // The query commands answer from the mirror as from each file: one stream's timeline
                // and config history from either host.
                for host in hosts {
                    let uid = try host.harness.read { db in
                        try String.fetchOne(db, sql: "SELECT job_uid FROM streams ORDER BY current_version DESC, job_uid LIMIT 1")
                    }!
                    for command in [["history", uid], ["show", uid], ["diff", uid, "--from", "1"]] {
                        let file = try await BuiltProduct.run(command + host.db)
                        let mirrored = try await BuiltProduct.run(command + ["--db", server.url], environment: server.environment)
                        #expect(
                            mirrored.status == file.status && Self.timeless(mirrored.stdout) == Self.timeless(file.stdout),
                            "\(command): \(mirrored.stderr)")
                    }
                }
                // Publishing again copies nothing.
                for host in hosts {
                    let again = try await BuiltProduct.run(publish(host), environment: server.environment)
                    #expect(
                        again.status == 0 && again.stdout.contains("no new runs") && again.stdout.contains(": 0 rows"), "\(again.stdout)")
                }
                // The password is never printed or stored.
                let everything = try await server.rows("SELECT string_agg(t::text, ' ') FROM (SELECT * FROM origins) AS t")
                #expect(!(everything[0][0] ?? "").contains(server.password))
            }
        }
    }

    @Test(
        "A publisher of the same file or of a source another publisher holds exits 3; a source of that name from another file, a newer mirror schema, a refused password and a password in the URL are each one sentence and exit 2"
    )
    func refusals() async throws {
        let server = try PostgresServer()
        defer { server.stop() }
        try await withHarness(streams: 6, seed: 41) { a in
            try await withHarness(streams: 5, seed: 42) { b in
                let first = Host(harness: a, source: "gomel")
                let twin = Host(harness: b, source: "gomel")
                try await first.sync()
                try await twin.sync()
                let ok = try await BuiltProduct.run(["publish", "--to", server.url] + first.db, environment: server.environment)
                #expect(ok.status == 0, "\(ok.stderr)")

                // Another file with a source of the same name would merge two histories.
                let clash = try await BuiltProduct.run(["publish", "--to", server.url] + twin.db, environment: server.environment)
                #expect(clash.status == 2)
                #expect(clash.stderr.contains("already has a source 'gomel' published from \(a.databasePath)"), "\(clash.stderr)")
                #expect(clash.stderr.split(separator: "\n").count == 1)

                // A sync writing the file: the publish waits for nothing and says so.
                var lock: SyncLock? = try SyncLock(databasePath: a.databasePath, wait: false)
                let busy = try await BuiltProduct.run(["publish", "--to", server.url] + first.db, environment: server.environment)
                #expect(lock != nil)
                lock = nil
                #expect(busy.status == 3 && busy.stderr.contains("a streamdb sync is writing"), "\(busy.stderr)")

                // A password refused: one sentence naming where it came from, never the password.
                let wrong = try await BuiltProduct.run(
                    ["publish", "--to", server.url] + first.db, environment: ["PGPASSWORD": "not-the-password-42"])
                #expect(wrong.status == 2)
                #expect(wrong.stderr.contains("refused the login of streamdb (the password from $PGPASSWORD)"), "\(wrong.stderr)")
                #expect(!wrong.stderr.contains("not-the-password-42"))
                let inURL = try await BuiltProduct.run(
                    ["publish", "--to", server.url.replacingOccurrences(of: "streamdb@", with: "streamdb:hunter2@")] + first.db)
                #expect(
                    inURL.status == 2 && inURL.stderr.contains("holds a password") && !inURL.stderr.contains("hunter2"), "\(inURL.stderr)")
                // The password from a file given on the command line.
                let file = a.directory.appending(path: "pgpass").path
                try server.password.write(toFile: file, atomically: true, encoding: .utf8)
                let fromFile = try await BuiltProduct.run(["publish", "--to", server.url, "--pg-password-file", file] + first.db)
                #expect(fromFile.status == 0, "\(fromFile.stderr)")

                // A mirror migrated by a newer streamdb is left alone.
                _ = try await server.rows("INSERT INTO streamdb_migrations (identifier) VALUES ('9999_future') RETURNING identifier")
                let newer = try await BuiltProduct.run(["publish", "--to", server.url] + first.db, environment: server.environment)
                #expect(newer.status == 2 && newer.stderr.contains("migrated by a newer streamdb (9999_future)"), "\(newer.stderr)")
                _ = try await server.rows("DELETE FROM streamdb_migrations WHERE identifier = '9999_future' RETURNING identifier")

                // A second publisher of a source held by another: exit 3 while the lock is held.
                let holder = try await server.holdAdvisoryLock("streamdb source gomel")
                let second = try await BuiltProduct.run(["publish", "--to", server.url] + first.db, environment: server.environment)
                try await holder.release()
                #expect(second.status == 3 && second.stderr.contains("publishing the source 'gomel'"), "\(second.stderr)")

                // sync --publish-to: the sync stands when the mirror cannot be reached.
                _ = a.fleet.tick()
                let unreachable = "postgresql://streamdb@127.0.0.1:1/mirror?sslmode=disable"
                let synced = try await BuiltProduct.run(
                    ["sync", "--url", a.server.baseURL, "--source", "gomel", "--publish-to", unreachable] + first.db,
                    environment: server.environment)
                #expect(synced.status == 0, "\(synced.stderr)")
                #expect(synced.stderr.contains("the publish did not happen, the sync is kept"), "\(synced.stderr)")
                let published = try await BuiltProduct.run(
                    ["sync", "--url", a.server.baseURL, "--source", "gomel", "--publish-to", server.url] + first.db,
                    environment: server.environment)
                #expect(published.status == 0 && published.stdout.contains("published runs"), "\(published.stdout) \(published.stderr)")
                _ = try await Self.expectMirrored(a.databasePath, in: server)

                // A mirror of one file answers every query command as the file does. The uptime
                // window is fixed once: `--since 2d` read by two processes a second apart is two
                // windows.
                let until = Date()
                for command in [
                    ["history", a.fleet.liveStreams[0].jobUID], ["streams"], ["regions"], ["streams", "--format", "json"],
                    ["events", "--since", "1d"],
                    [
                        "uptime", "--up", "11", "--since", Timestamp.format(until.addingTimeInterval(-2 * 86_400)), "--until",
                        Timestamp.format(until),
                    ],
                    ["runs"],
                ] {
                    let file = try await BuiltProduct.run(command + first.db)
                    let mirrored = try await BuiltProduct.run(command + ["--db", server.url], environment: server.environment)
                    #expect(mirrored.status == file.status, "\(command): \(mirrored.stderr)")
                    #expect(Self.timeless(mirrored.stdout) == Self.timeless(file.stdout), "\(command)")
                }
                let syncIntoMirror = try await BuiltProduct.run(["sync", "--url", a.server.baseURL, "--db", server.url])
                #expect(
                    syncIntoMirror.status == 2 && syncIntoMirror.stderr.contains("sync writes a SQLite file"), "\(syncIntoMirror.stderr)")
            }
        }
    }

    @Test(
        "TLS: verify-full (the default) checks the server's certificate against sslrootcert and the host name; an unknown certificate, a name it does not carry and a server without TLS are each refused in one sentence"
    )
    func transportSecurity() async throws {
        let server = try PostgresServer(tls: true)
        defer { server.stop() }
        try await withHarness(streams: 4, seed: 51) { a in
            let host = Host(harness: a, source: "vitebsk")
            try await host.sync()
            let base = "postgresql://streamdb@localhost:\(server.port)/mirror"
            func publish(_ url: String) async throws -> BuiltProduct.Result {
                try await BuiltProduct.run(["publish", "--to", url] + host.db, environment: server.environment)
            }
            let verified = try await publish(base + "?sslrootcert=\(server.certificateAuthority)")
            #expect(verified.status == 0, "\(verified.stderr)")
            // The system's roots do not know the test's CA.
            let unknown = try await publish(base)
            #expect(unknown.status == 2 && unknown.stderr.split(separator: "\n").count == 1, "\(unknown.stderr)")
            #expect(unknown.stderr.contains("certificate") || unknown.stderr.contains("handshake"), "\(unknown.stderr)")
            // The certificate names localhost, not 127.0.0.1.
            let wrongName = try await publish(
                "postgresql://streamdb@127.0.0.1:\(server.port)/mirror?sslrootcert=\(server.certificateAuthority)")
            #expect(wrongName.status == 2, "\(wrongName.stderr)")
            // Encrypted without the check, when asked for.
            let encrypted = try await publish(base + "?sslmode=require")
            #expect(encrypted.status == 0, "\(encrypted.stderr)")
            // PostgreSQL's own log: the publishes' sessions were encrypted.
            let log = try String(contentsOfFile: server.directory.appending(path: "log").path, encoding: .utf8)
            #expect(log.components(separatedBy: "database=mirror SSL enabled").count - 1 >= 2, "\(log.suffix(2000))")
        }
        let plain = try PostgresServer()
        defer { plain.stop() }
        try await withHarness(streams: 3, seed: 52) { a in
            let host = Host(harness: a, source: "mogilev")
            try await host.sync()
            let refused = try await BuiltProduct.run(
                ["publish", "--to", "postgresql://streamdb@localhost:\(plain.port)/mirror"] + host.db, environment: plain.environment)
            #expect(refused.status == 2 && refused.stderr.contains("does not offer TLS"), "\(refused.stderr)")
        }
    }
}
