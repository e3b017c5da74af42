import Foundation

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

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Starts the binary; the caller waits for or kills the process.
    static func launch(_ arguments: [String], executable: URL = streamdb, environment: [String: String] = [:]) throws -> (Process, Pipe, Pipe) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["STREAMDB_TOKEN"] = nil
        env["STREAMDB_URL"] = nil
        env["STREAMDB_DB"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return (process, out, err)
    }

    /// Runs the binary to completion.
    static func run(_ arguments: [String], executable: URL = streamdb, environment: [String: String] = [:]) async throws -> Result {
        let (process, out, err) = try launch(arguments, executable: executable, environment: environment)
        // Read both pipes while the process runs, so a large output cannot block it.
        async let stdout = Task.detached { out.fileHandleForReading.readDataToEndOfFile() }.value
        async let stderr = Task.detached { err.fileHandleForReading.readDataToEndOfFile() }.value
        let (o, e) = await (stdout, stderr)
        while process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
        return Result(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }
}
