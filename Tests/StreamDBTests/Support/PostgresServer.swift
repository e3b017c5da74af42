import Foundation
import Logging
import PostgresNIO
import StreamDBPostgres

/// A real PostgreSQL on loopback for one test: initdb and pg_ctl on a fresh folder, a password
/// for the `streamdb` user (scram-sha-256 over TCP), a port found free. PostgreSQL refuses to run
/// as root: as root, the server runs as the `postgres` user (`runuser`), as on Debian.
final class PostgresServer: Sendable {
    static let binaries: String? = {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root))?.sorted {
            $0.localizedStandardCompare($1) == .orderedDescending
        }
        return versions?.map { "\(root)/\($0)/bin" }.first { FileManager.default.isExecutableFile(atPath: "\($0)/initdb") }
    }()

    static var available: Bool { binaries != nil && (getuid() != 0 || FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser")) }

    let directory: URL
    let port: Int
    let password = "s3cret-\(UUID().uuidString.prefix(8))"
    let user = "streamdb"

    /// The mirror's URL (no password in it).
    var url: String { "postgresql://\(user)@127.0.0.1:\(port)/mirror?sslmode=disable" }
    /// The environment a publish needs: the password as libpq would take it.
    var environment: [String: String] { ["PGPASSWORD": password] }

    /// With `tls`, the server offers TLS with a certificate for `localhost` signed by a CA made
    /// for the test (``certificateAuthority``).
    let tls: Bool
    /// The test CA's certificate (PEM), with `tls`.
    var certificateAuthority: String { directory.appending(path: "ca.pem").path }

    init(tls: Bool = false) throws {
        self.tls = tls
        directory = URL(fileURLWithPath: "/tmp").appending(path: "streamdb-pg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        port = try Self.freePort()
        if tls { try makeCertificates() }
        let passwordFile = directory.appending(path: "pw").path
        try password.write(toFile: passwordFile, atomically: true, encoding: .utf8)
        if getuid() == 0 { try Self.run("/bin/chown", ["-R", "postgres", directory.path]) }
        try runAsOwner(
            "initdb",
            [
                "-D", directory.appending(path: "data").path, "-U", user, "--pwfile", passwordFile, "--auth-local=trust",
                "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C",
            ])
        try start()
        try createDatabase()
    }

    func start() throws {
        try runAsOwner(
            "pg_ctl",
            [
                "-D", directory.appending(path: "data").path, "-l", directory.appending(path: "log").path, "-w", "-t", "60", "-o",
                "-p \(port) -k \(directory.path) -c listen_addresses=127.0.0.1 -c fsync=off"
                    + (tls
                        ? " -c log_connections=on -c ssl=on -c ssl_cert_file=\(directory.appending(path: "server.crt").path) -c ssl_key_file=\(directory.appending(path: "server.key").path)"
                        : ""),
                "start",
            ])
    }

    /// A CA, and a certificate for `localhost` it signed, with openssl.
    private func makeCertificates() throws {
        let path = { (name: String) in self.directory.appending(path: name).path }
        let openssl = "/usr/bin/openssl"
        try Self.run(
            openssl,
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "2", "-subj",
                "/CN=streamdb test CA",
            ])
        try Self.run(
            openssl,
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", path("server.key"), "-out", path("server.csr"), "-subj", "/CN=localhost"])
        try "subjectAltName=DNS:localhost\n".write(toFile: path("san.ext"), atomically: true, encoding: .utf8)
        try Self.run(
            openssl,
            [
                "x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"), "-CAcreateserial", "-out",
                path("server.crt"), "-days", "2", "-extfile", path("san.ext"),
            ])
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path("server.key"))
    }

    /// Stops the server at once, as a crash or a restart would (`-m immediate`).
    func stopImmediately() throws {
        try runAsOwner("pg_ctl", ["-D", directory.appending(path: "data").path, "-m", "immediate", "-w", "stop"])
    }

    func restart() throws {
        try stopImmediately()
        try start()
    }

    private func createDatabase() throws {
        try runAsOwner("createdb", ["-h", directory.path, "-p", String(port), "-U", user, "mirror"])
    }

    /// Runs SQL with psql (over the Unix socket, trusted) and returns its rows, one line each,
    /// columns split by U+001F.
    func query(_ sql: String) throws -> [String] {
        let output = try runAsOwner(
            "psql",
            [
                "-h", directory.path, "-p", String(port), "-U", user, "-d", "mirror", "-X", "-A", "-t", "-F", "\u{1F}", "-v",
                "ON_ERROR_STOP=1", "-c", sql,
            ])
        return output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
    }

    func stop() {
        try? stopImmediately()
        try? FileManager.default.removeItem(at: directory)
    }

    @discardableResult
    private func runAsOwner(_ tool: String, _ arguments: [String]) throws -> String {
        let path = "\(Self.binaries!)/\(tool)"
        if getuid() == 0 { return try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", path] + arguments) }
        return try Self.run(path, arguments)
    }

    /// Runs a tool with its output in files, by posix_spawn and waitpid: `pg_ctl start` leaves
    /// the server holding what it inherited, and Foundation's Process (which watches a descriptor
    /// the child inherits) then never sees the tool end.
    @discardableResult
    private static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let stem = FileManager.default.temporaryDirectory.appending(path: "streamdb-pg-run-\(UUID().uuidString)").path
        defer {
            try? FileManager.default.removeItem(atPath: stem + ".out")
            try? FileManager.default.removeItem(atPath: stem + ".err")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stem + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stem + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw PostgresServerError(message: "cannot start \(executable): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: stem + ".out", encoding: .utf8)) ?? ""
        // Exited normally with 0 (the wait status's low byte is the signal, the next the code).
        guard status & 0x7f == 0 && (status >> 8) & 0xff == 0 else {
            let errors = (try? String(contentsOfFile: stem + ".err", encoding: .utf8)) ?? ""
            throw PostgresServerError(
                message: "\((executable as NSString).lastPathComponent) \(arguments.prefix(3).joined(separator: " ")) failed: \(errors)")
        }
        return output
    }

    /// A TCP port nothing listens on now (bound to port 0 and released).
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw PostgresServerError(message: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

struct PostgresServerError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

extension PostgresServer {
    /// The rows of a query over TCP, each column as text (the query casts them: `x::text`).
    func rows(_ sql: String) async throws -> [[String?]] {
        let configuration = PostgresConnection.Configuration(
            host: "127.0.0.1", port: port, username: user, password: password, database: "mirror", tls: .disable)
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            var result: [[String?]] = []
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) {
                result.append(try row.map { try $0.decode(String?.self) })
            }
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

extension PostgresServer {
    /// A session holding a PostgreSQL advisory lock, as another publisher would.
    struct LockHolder {
        let connection: PostgresConnection
        func release() async throws { try await connection.close() }
    }

    func holdAdvisoryLock(_ key: String) async throws -> LockHolder {
        let configuration = PostgresConnection.Configuration(
            host: "127.0.0.1", port: port, username: user, password: password, database: "mirror", tls: .disable)
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 2, logger: logger)
        try await connection.query("SELECT pg_advisory_lock(hashtextextended(\(key), 0))", logger: logger)
        return LockHolder(connection: connection)
    }
}
