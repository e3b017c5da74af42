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

/// TLS with a self-signed certificate generated for the test, and redirects to other hosts.
@Suite("Transport security")
struct TransportSecurityTests {
    /// A self-signed certificate for 127.0.0.1, made with the openssl command; nil without it.
    static func makeCertificate(in directory: URL) throws -> (certificate: String, key: String)? {
        let certificate = directory.appending(path: "cert.pem").path()
        let key = directory.appending(path: "key.pem").path()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", key, "-out", certificate, "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        for _ in 0..<3000 where process.isRunning { usleep(10_000) }
        return process.terminationStatus == 0 ? (certificate, key) : nil
    }

    @Test("A self-signed server is refused by default, trusted with --ca-file, reached with --insecure")
    func selfSigned() async throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "streamdb-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        guard let (certificate, key) = try Self.makeCertificate(in: directory) else {
            Issue.record("the openssl command is needed to make a test certificate")
            return
        }
        var options = SimulatorOptions()
        options.tlsCertificateFile = certificate
        options.tlsKeyFile = key
        try await withHarness(streams: 4, options: options) { h in
            #expect(h.server.baseURL.hasPrefix("https://"))
            // A generous timeout: under a loaded test run a slow handshake must not pass for a refusal.
            let refused = try await h.sync { $0.timeout = 15 }
            #expect(refused.outcome == .failed)
            let kinds = try h.read { db in try String.fetchAll(db, sql: "SELECT kind || ': ' || message FROM sync_errors") }
            #expect(kinds.count == 1 && kinds[0].hasPrefix("tls: "), "\(kinds)")
            #expect(refused.message?.contains("--ca-file") == true, "\(refused.message ?? "")")

            let trusted = try await h.sync { $0.caFile = certificate }
            #expect(trusted.outcome == .ok)
            #expect(trusted.counts.new == 4)

            let insecure = try await h.sync { $0.insecure = true }
            #expect(insecure.outcome == .ok)
            #expect(insecure.counts.unchanged == 4)

            // The command line says so too.
            let cli = try await BuiltProduct.run(["sync", "--url", h.server.baseURL, "--db", h.databasePath, "--ca-file", certificate])
            #expect(cli.status == 0, "\(cli.stderr)")
            let warned = try await BuiltProduct.run(["sync", "--url", h.server.baseURL, "--db", h.databasePath, "--insecure"])
            #expect(warned.status == 0)
            #expect(warned.stderr.contains("verification is off"))
        }
    }

    @Test("A redirect to another host is not followed, so the token never reaches it")
    func redirectElsewhere() async throws {
        var targetOptions = SimulatorOptions()
        targetOptions.token = "secret"
        try await withHarness(streams: 3, options: targetOptions) { target in
            var options = SimulatorOptions()
            options.redirectAPITo = "http://localhost:\(target.server.port)"
            try await withHarness(streams: 3, options: options) { h in
                let report = try await h.sync(token: "secret")
                #expect(report.outcome == .failed || report.outcome == .partial)
                #expect(try h.count("SELECT count(*) FROM sync_errors WHERE kind = 'redirect'") >= 1)
                #expect(target.server.requestCount == 0)
            }
        }
    }
}
