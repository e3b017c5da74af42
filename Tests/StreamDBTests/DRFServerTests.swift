import Foundation
import GRDB
import StreamDBAPI
import StreamDBModel
import StreamDBOutput
import StreamDBQuery
import StreamDBStore
import StreamDBSync
import StreamSim
import Testing

/// `streamdb sync` against a real Django REST Framework server (Tests/DRFServer/server.py) with
/// TokenAuthentication and PageNumberPagination. The test changes the server's own database
/// between syncs and checks that the history records exactly those changes.
///
/// Needs python3 with django and djangorestframework (`.ci/run` installs them); skipped without.
@Suite("Real DRF server", .enabled(if: DRFServer.isAvailable, "python3 with django and djangorestframework is not installed"))
struct DRFServerTests {
    @Test("Token auth, pagination, and exactly the changes made on the server")
    func mirrorsRealServer() async throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "streamdb-drf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let fleet = Fleet(size: 8, seed: 21)
        let server = try await DRFServer.start(streams: fleet.liveStreams, directory: directory, pageSize: 3)
        defer { server.stop() }
        let history = directory.appending(path: "history.sqlite").path()
        let base = ["sync", "--url", server.baseURL, "--db", history]

        let unauthenticated = try await BuiltProduct.run(base)
        #expect(unauthenticated.status == 2)
        #expect(unauthenticated.stderr.contains("HTTP 401: Authentication credentials were not provided."))
        let wrong = try await BuiltProduct.run(base, environment: ["STREAMDB_TOKEN": "0123456789abcdef"])
        #expect(wrong.status == 2)
        #expect(wrong.stderr.contains("Invalid token"))

        let first = try await BuiltProduct.run(base, environment: ["STREAMDB_TOKEN": server.token])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("8 seen, 8 new"))

        // Change the server: a status, a config, a region move, a touch, a deletion. The region move
        // is made on a stream that has regions (the fleet gives a few streams none).
        var s = fleet.liveStreams
        if let moved = s.indices.first(where: { $0 >= 3 && $0 != 4 && !s[$0].regions.isEmpty }) { s.swapAt(3, moved) }
        try server.execute("UPDATE streamsapp_stream SET status = 6, updated_at = ? WHERE job_uid = ?", [Self.now(), s[0].hexUID])
        let edited = s[1].json.replacingOccurrences(of: "\\\"Threshold\\\": \(s[1].config.threshold)", with: "\\\"Threshold\\\": 999")
        let editedConfig = try #require(try JSONValue.parse(edited)["platform_json"]?.stringValue)
        try server.execute(
            "UPDATE streamsapp_stream SET platform_json = ?, updated_at = ? WHERE job_uid = ?", [editedConfig, Self.now(), s[1].hexUID])
        try server.execute("UPDATE streamsapp_stream SET updated_at = ? WHERE job_uid = ?", [Self.now(), s[2].hexUID])
        try server.execute(
            "DELETE FROM streamsapp_stream_regions WHERE stream_id = (SELECT id FROM streamsapp_stream WHERE job_uid = ?)", [s[3].hexUID])
        try server.execute(
            "DELETE FROM streamsapp_stream_regions WHERE stream_id = (SELECT id FROM streamsapp_stream WHERE job_uid = ?)", [s[4].hexUID])
        try server.execute("DELETE FROM streamsapp_stream WHERE job_uid = ?", [s[4].hexUID])

        let second = try await BuiltProduct.run(base, environment: ["STREAMDB_TOKEN": server.token])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("7 seen, 0 new, 3 changed, 4 unchanged, 1 gone"), "\(second.stdout)")

        let queue = try DatabaseQueue(path: history)
        let (events, versions, threshold, runs) = try queue.read { db in
            (
                try Row.fetchAll(
                    db,
                    sql:
                        "SELECT job_uid, event, status FROM status_history WHERE sync_run_id = (SELECT max(id) FROM sync_runs) ORDER BY job_uid"
                ),
                try Row.fetchAll(db, sql: "SELECT job_uid, version FROM snapshots WHERE version > 1 ORDER BY job_uid"),
                try Int.fetchOne(
                    db,
                    sql:
                        "SELECT json_extract(platform_config, '$.Pipeline.Detector.Threshold') FROM stream_versions WHERE job_uid = ? AND version = 2",
                    arguments: [s[1].jobUID]),
                try Row.fetchAll(db, sql: "SELECT outcome, listing FROM sync_runs ORDER BY id")
            )
        }
        #expect(
            Set(events.map { "\($0["job_uid"] as String):\($0["event"] as String)" })
                == ["\(s[0].jobUID):changed", "\(s[4].jobUID):gone"])
        #expect(Set(versions.map { $0["job_uid"] as String }) == [s[0].jobUID, s[1].jobUID, s[3].jobUID])
        #expect(threshold == 999)
        #expect(runs.map { $0["outcome"] as String } == ["failed", "failed", "ok", "ok"])
        #expect(runs.last?["listing"] as String? == "complete")
    }

    @Test(
        "On the real DRF server: a job replaced the platform's way is linked and followed; configs are kept as served; no token reaches the database"
    )
    func replaceOnUpdateAndSecrets() async throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "streamdb-drf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let fleet = Fleet(size: 9, seed: 24)
        let server = try await DRFServer.start(streams: fleet.liveStreams, directory: directory, pageSize: 4)
        defer { server.stop() }
        let history = directory.appending(path: "history.sqlite").path()
        let sync = ["sync", "--url", server.baseURL, "--db", history, "--quiet"]
        let token = ["STREAMDB_TOKEN": server.token]
        let first = try await BuiltProduct.run(sync, environment: token)
        #expect(first.status == 0, "\(first.stderr)")

        // The platform's update: the old row deleted, a new job_uid with the same camera stream,
        // case type and the edited config.
        let old = fleet.liveStreams[0]
        let newUID = "7e57e57e-0000-4000-8000-000000000001"
        let edited = try #require(try JSONValue.parse(old.json)["platform_json"]?.stringValue)
            .replacingOccurrences(of: "\"Threshold\": \(old.config.threshold)", with: "\"Threshold\": 777")
        try server.execute(
            """
            INSERT INTO streamsapp_stream (job_uid, platform_json, binary_json, status, stream_uid, camera_group_uid,
                created_at, updated_at, ovms_client, stream_case_type)
            SELECT ?, ?, binary_json, 1, stream_uid, camera_group_uid, ?, ?, ovms_client, stream_case_type
            FROM streamsapp_stream WHERE job_uid = ?
            """, [newUID.replacingOccurrences(of: "-", with: ""), edited, Self.now(), Self.now(), old.hexUID])
        try server.execute(
            "DELETE FROM streamsapp_stream_regions WHERE stream_id = (SELECT id FROM streamsapp_stream WHERE job_uid = ?)", [old.hexUID])
        try server.execute("DELETE FROM streamsapp_stream WHERE job_uid = ?", [old.hexUID])
        // Another job deleted while two new jobs appear on its camera stream: two candidates, so
        // no replacement is guessed.
        let doubled = fleet.liveStreams[1]
        for suffix in ["2", "3"] {
            try server.execute(
                """
                INSERT INTO streamsapp_stream (job_uid, platform_json, binary_json, status, stream_uid, camera_group_uid,
                    created_at, updated_at, ovms_client, stream_case_type)
                SELECT ?, platform_json, binary_json, 1, stream_uid, camera_group_uid, ?, ?, ovms_client, stream_case_type
                FROM streamsapp_stream WHERE job_uid = ?
                """, ["7e57e57e00004000800000000000000" + suffix, Self.now(), Self.now(), doubled.hexUID])
        }
        try server.execute(
            "DELETE FROM streamsapp_stream_regions WHERE stream_id = (SELECT id FROM streamsapp_stream WHERE job_uid = ?)", [doubled.hexUID]
        )
        try server.execute("DELETE FROM streamsapp_stream WHERE job_uid = ?", [doubled.hexUID])
        let second = try await BuiltProduct.run(sync.dropLast(), environment: token)
        #expect(second.status == 0 && second.stdout.contains("1 replaced"), "\(second.stdout)\(second.stderr)")
        let ambiguous = try await DatabaseQueue(path: history).read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM stream_replacements WHERE verdict = 'ambiguous'") ?? 0
        }
        #expect(ambiguous == 2)

        let queue = try DatabaseQueue(path: history)
        let pairs = try await queue.read { db in try String.fetchAll(db, sql: "SELECT old_job_uid || ' ' || new_job_uid FROM replacements")
        }
        #expect(pairs == ["\(old.jobUID) \(newUID)"])
        let followed = try await BuiltProduct.run(["history", newUID, "--follow", "--format", "json", "--db", history])
        let jobs = Set(try JSONValue.parse(Data(followed.stdout.utf8)).arrayValue?.compactMap { $0["job_uid"]?.stringValue } ?? [])
        #expect(jobs == [old.jobUID, newUID])
        let diff = try await BuiltProduct.run(["diff", newUID, "--db", history])
        #expect(diff.status == 1 && diff.stdout.contains("~ Pipeline.Detector.Threshold: \(old.config.threshold) -> 777"), "\(diff.stdout)")

        // platform_json exactly as the DRF server serves it (its own column), secrets masked.
        let serverDatabase = try DatabaseQueue(path: server.databasePath)
        let servedConfig = try #require(
            try await serverDatabase.read { db in
                try String.fetchOne(
                    db, sql: "SELECT platform_json FROM streamsapp_stream WHERE job_uid = ?",
                    arguments: [newUID.replacingOccurrences(of: "-", with: "")])
            })
        let show = try await BuiltProduct.run(["show", newUID, "--db", history])
        #expect(try JSONValue.parse(Data(show.stdout.utf8))["platform_json"]?.stringValue == CredentialMask.standard.mask(servedConfig))

        // The fixture's cameras carry passwords and query tokens: none reaches the file.
        try queue.close()
        let tokens = fleet.liveStreams.compactMap { stream -> String? in
            guard let marker = stream.config.url.range(of: "?token=") else { return nil }
            return String(stream.config.url[marker.upperBound...])
        }
        #expect(!tokens.isEmpty)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: history))
        for secret in tokens { #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(secret) is in the database") }
    }

    static func now() -> String {
        String(Timestamp.now().dropLast()).replacingOccurrences(of: "T", with: " ")
    }
}

/// Starts Tests/DRFServer/server.py on a free loopback port.
final class DRFServer: Sendable {
    let process: Process
    let baseURL: String
    let token: String
    let databasePath: String

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appending(path: "DRFServer/server.py")

    static let isAvailable = Python.canImport("django, rest_framework")

    private init(process: Process, baseURL: String, token: String, databasePath: String) {
        self.process = process
        self.baseURL = baseURL
        self.token = token
        self.databasePath = databasePath
    }

    static func start(streams: [SimStream], directory: URL, pageSize: Int) async throws -> DRFServer {
        let fixture = directory.appending(path: "fixture.json")
        try Data(("[" + streams.map(\.json).joined(separator: ",") + "]").utf8).write(to: fixture)
        let database = directory.appending(path: "server.sqlite3").path()
        let handshake = directory.appending(path: "server.ready")
        let log = directory.appending(path: "server.log")
        guard FileManager.default.createFile(atPath: log.path(), contents: nil) else {
            throw DRFServerError(message: "cannot create \(log.path())")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path(), database, fixture.path(), String(pageSize), handshake.path()]
        let logHandle = try FileHandle(forWritingTo: log)
        process.standardOutput = logHandle
        process.standardError = logHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // The server writes "PORT n" and "TOKEN t" to the handshake file once it listens.
        var port: String?
        var token: String?
        for _ in 0..<600 where port == nil || token == nil {
            try await Task.sleep(for: .milliseconds(50))
            guard process.isRunning else { break }
            let text = (try? String(contentsOf: handshake, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") {
                if line.hasPrefix("PORT ") { port = String(line.dropFirst(5)) }
                if line.hasPrefix("TOKEN ") { token = String(line.dropFirst(6)) }
            }
        }
        guard let port, let token else {
            process.terminate()
            let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            throw DRFServerError(message: "the DRF server did not start: \(output.suffix(2000))")
        }
        return DRFServer(process: process, baseURL: "http://127.0.0.1:\(port)", token: token, databasePath: database)
    }

    /// Changes the server's own database, as an operator's edit would.
    func execute(_ sql: String, _ arguments: StatementArguments) throws {
        let queue = try DatabaseQueue(path: databasePath)
        try queue.write { db in try db.execute(sql: sql, arguments: arguments) }
        try queue.close()
    }

    func stop() {
        process.terminate()
        for _ in 0..<200 where process.isRunning { usleep(10_000) }
        // SIGTERM can be blocked (a child inherits its parent thread's signal mask); SIGKILL cannot.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

struct DRFServerError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

extension SimStream {
    /// The job_uid as Django's UUIDField stores it in SQLite: 32 hex digits, no dashes.
    var hexUID: String { jobUID.replacingOccurrences(of: "-", with: "") }
}
