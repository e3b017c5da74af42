import Foundation
import GRDB

/// 6. The team mirror: `streamdb publish` of the query database into a real PostgreSQL started
/// for the run (initdb and pg_ctl on a temporary folder, on loopback; as root, as the postgres
/// user). Skipped, saying why, when PostgreSQL is not installed.
struct MirrorFigures {
    /// The first publish of the whole history.
    var first: Measured
    /// Publishes right after a sync that changed nothing (a run, every stream seen again).
    var afterUnchanged: [Double]
    /// A publish with nothing new at all.
    var nothingNew: [Double]
    var mirrorBytes: Int
    var rowsPublished: Int
}

extension StreamdbBench {
    func mirror(binary: String, work: URL, db: String, report: inout Report) throws {
        guard let bin = PostgresForBench.binaries else {
            report.mirrorSkipped = "PostgreSQL is not installed here (Debian's postgresql package)"
            return
        }
        let server = try PostgresForBench(directory: work.appending(path: "pg"), binaries: bin)
        defer { server.stop() }
        let url = "postgresql://streamdb@127.0.0.1:\(server.port)/mirror?sslmode=disable"
        let publish = ["publish", "--db", db, "--to", url, "--quiet"]
        let first = try runMeasured(binary, publish)
        guard first.status == 0 else { throw BenchError("the first publish exited \(first.status)") }
        var nothingNew: [Double] = []
        var afterUnchanged: [Double] = []
        for _ in 0..<repeats {
            let run = try runMeasured(binary, publish)
            guard run.status == 0 else { throw BenchError("a publish exited \(run.status)") }
            nothingNew.append(run.seconds)
        }
        for _ in 0..<max(3, repeats / 2) {
            try recordUnchangedRun(db)
            let run = try runMeasured(binary, publish)
            guard run.status == 0 else { throw BenchError("a publish exited \(run.status)") }
            afterUnchanged.append(run.seconds)
        }
        let bytes = Int(try server.psql("SELECT pg_database_size('mirror')").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let rows = Int(try server.psql("SELECT sum(rows_copied) FROM publishes").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        report.mirror = MirrorFigures(
            first: first, afterUnchanged: afterUnchanged, nothingNew: nothingNew, mirrorBytes: bytes, rowsPublished: rows)
    }

    /// What an unchanged sync leaves: a finished run that saw every present stream again.
    private func recordUnchangedRun(_ path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            let now = ISO8601DateFormatter.microseconds(Date())
            let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM streams WHERE gone_at IS NULL") ?? 0
            try db.execute(
                sql: """
                    INSERT INTO sync_runs (started_at, finished_at, source_url, source_id, outcome, listing, streams_seen,
                                           streams_unchanged, streamdb_version)
                    SELECT ?, ?, base_url, id, 'ok', 'complete', ?, ?, 'bench' FROM sources ORDER BY id LIMIT 1
                    """, arguments: [now, now, count, count])
            let run = db.lastInsertedRowID
            try db.execute(
                sql: "UPDATE streams SET last_seen_at = ?, last_seen_run_id = ? WHERE gone_at IS NULL", arguments: [now, run])
        }
    }
}

extension ISO8601DateFormatter {
    /// streamdb's own time format: 2026-12-01T10:00:00.123456Z.
    static func microseconds(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        let whole = floor(seconds)
        let formatter = ISO8601DateFormatter()
        let base = formatter.string(from: Date(timeIntervalSince1970: whole)).dropLast()
        return base + String(format: ".%06dZ", Int((seconds - whole) * 1_000_000))
    }
}

/// A PostgreSQL server for the run, trusted on loopback.
struct PostgresForBench {
    static let binaries: String? = {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root))?.sorted {
            $0.localizedStandardCompare($1) == .orderedDescending
        }
        return versions?.map { "\(root)/\($0)/bin" }.first { FileManager.default.isExecutableFile(atPath: "\($0)/initdb") }
    }()

    let directory: URL
    let binaries: String
    let port: Int

    init(directory: URL, binaries: String) throws {
        self.directory = directory
        self.binaries = binaries
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        port = 40000 + Int(getpid() % 20000)
        if getuid() == 0 { try runTool("/bin/chown", ["-R", "postgres", directory.path], asOwner: false) }
        let data = directory.appending(path: "data").path
        try tool("initdb", ["-D", data, "-U", "streamdb", "-A", "trust", "-E", "UTF8", "--locale=C"])
        try tool(
            "pg_ctl",
            [
                "-D", data, "-l", directory.appending(path: "log").path, "-w", "-t", "60", "-o",
                "-p \(port) -k \(directory.path) -c listen_addresses=127.0.0.1", "start",
            ])
        try tool("createdb", ["-h", directory.path, "-p", String(port), "-U", "streamdb", "mirror"])
    }

    func stop() {
        try? tool("pg_ctl", ["-D", directory.appending(path: "data").path, "-m", "fast", "-w", "stop"])
    }

    func psql(_ sql: String) throws -> String {
        let out = directory.appending(path: "psql.out").path
        try tool(
            "psql", ["-h", directory.path, "-p", String(port), "-U", "streamdb", "-d", "mirror", "-X", "-A", "-t", "-o", out, "-c", sql])
        return (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
    }

    private func tool(_ name: String, _ arguments: [String]) throws {
        try runTool("\(binaries)/\(name)", arguments, asOwner: true)
    }

    private func runTool(_ path: String, _ arguments: [String], asOwner: Bool) throws {
        let (executable, argv) =
            asOwner && getuid() == 0 ? ("/usr/sbin/runuser", ["-u", "postgres", "--", path] + arguments) : (path, arguments)
        let run = try runMeasured(executable, argv)
        guard run.status == 0 else { throw BenchError("\((path as NSString).lastPathComponent) exited \(run.status)") }
    }
}
