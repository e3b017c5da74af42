import Foundation
import Synchronization

/// Runs the built `streamdb` binary, as a user would, and captures what it prints.
enum BuiltProduct {
    /// The folder that holds the test bundle and the built executables.
    static var productsDirectory: URL {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // On some platforms the runner sits inside the .xctest bundle.
        while url.pathExtension == "xctest" || url.lastPathComponent == "Contents" || url.lastPathComponent == "MacOS" {
            url.deleteLastPathComponent()
        }
        return url
    }

    static var streamdb: URL { productsDirectory.appending(path: "streamdb") }

    /// The package's top folder (this file is Tests/StreamDBTests/Support/BuiltProduct.swift).
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The names of `migrations/*.sql` (without `.sql`), in name order: what a migrated
    /// database's `grdb_migrations` lists.
    static func shippedMigrations() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: packageRoot.appending(path: "migrations").path())
            .filter { $0.hasSuffix(".sql") }.map { String($0.dropLast(4)) }.sorted()
    }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        /// Ended by a signal (a crash, or killed), not by exiting.
        var signalled = false
    }

    /// Starts the binary; the caller waits for or kills the process.
    static func launch(_ arguments: [String], executable: URL = streamdb, environment: [String: String] = [:]) throws -> (
        Process, Pipe, Pipe
    ) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["STREAMDB_TOKEN"] = nil
        env["STREAMDB_URL"] = nil
        env["STREAMDB_DB"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try launching.withLock { _ in try process.run() }
        return (process, out, err)
    }

    /// Foundation's Process.run crashed (SIGSEGV in a memmove inside it) when many tests started
    /// binaries at once, seen in the 100-kill torture run: processes are started one at a time.
    private static let launching = Mutex(())

    /// Runs the binary to completion; with `killAfter`, a process still running then is killed
    /// (SIGKILL), so that a hang fails the test instead of stalling the suite.
    static func run(
        _ arguments: [String], executable: URL = streamdb, environment: [String: String] = [:], killAfter: Duration? = nil
    ) async throws -> Result {
        let (process, out, err) = try launch(arguments, executable: executable, environment: environment)
        let pid = process.processIdentifier
        let watchdog = killAfter.map { limit in
            Task.detached {
                try await Task.sleep(for: limit)
                kill(pid, SIGKILL)
            }
        }
        // Read both pipes while the process runs, so a large output cannot block it.
        async let stdout = Task.detached { out.fileHandleForReading.readDataToEndOfFile() }.value
        async let stderr = Task.detached { err.fileHandleForReading.readDataToEndOfFile() }.value
        let (o, e) = await (stdout, stderr)
        while process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
        watchdog?.cancel()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self),
            signalled: process.terminationReason == .uncaughtSignal)
    }

    /// `setpriv`, which runs a command as another user: the tests run as root, whom file
    /// permissions do not stop, so permission tests run the binary as `nobody` (65534).
    static let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Whether the binary can be run as `nobody` here: as root, with setpriv, and with the binary
    /// where that user can reach it.
    static let canRunUnprivileged: Bool = {
        guard getuid() == 0, let setpriv,
            let process = try? Process.run(
                URL(fileURLWithPath: setpriv), arguments: ["--reuid=65534", "--regid=65534", "--clear-groups", streamdb.path, "--version"])
        else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    /// Runs the binary as `nobody` (uid and gid 65534, no supplementary groups).
    static func runUnprivileged(_ arguments: [String]) async throws -> Result {
        try await run(
            ["--reuid=65534", "--regid=65534", "--clear-groups", streamdb.path] + arguments,
            executable: URL(fileURLWithPath: setpriv ?? "/usr/bin/setpriv"), killAfter: .seconds(120))
    }
}
