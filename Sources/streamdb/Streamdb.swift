import ArgumentParser
import Foundation
import Logging
import StreamDBModel

/// The `streamdb` command: argument parsing only; the work is in the StreamDB library.
@main
struct Streamdb: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streamdb",
        abstract: "A local, queryable history of a video-analytics platform's streams.",
        discussion: """
            `streamdb sync` (run it from cron) stores every distinct state of every stream in an SQLite \
            file; the other commands read that history.

            Exit status: 0 ok; 1 partial (some streams failed, the rest was stored); 2 failed \
            (nothing synced, bad arguments, or a query error); 3 another sync holds the database.
            """,
        version: StreamDBVersion.current,
        subcommands: [Sync.self, Demo.self, History.self, Regions.self, Streams.self, Show.self, Diff.self, SQL.self, Runs.self]
    )

    /// Like ArgumentParser's `main`, but every error is printed once, as one sentence, and exits
    /// with the status streamdb documents: 2 for bad arguments, the error's own otherwise.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let error as any StreamDBError {
            printError(error.message)
            Foundation.exit(error.exitStatus.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(ExitStatus.failed.rawValue)
            }
            if code == .failure, !(error is ExitCode) {
                // An error of no streamdb type (ArgumentParser would exit 1, which streamdb
                // documents as a partial sync): still one line, and the status for failed.
                printError(String(describing: error).replacingOccurrences(of: "\n", with: " "))
                Foundation.exit(ExitStatus.failed.rawValue)
            }
            exit(withError: error)
        }
    }
}

/// What the command line itself refuses: a missing server, an unreadable file named by an option.
struct InputError: StreamDBError {
    let message: String
    var exitStatus: ExitStatus { .failed }
    init(_ message: String) { self.message = message }
}

/// `streamdb: <message>` on standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data("streamdb: \(message)\n".utf8))
}

extension ExitStatus {
    var code: ExitCode { ExitCode(rawValue) }
}

/// Sets up swift-log once: plain lines on standard error at the chosen level.
func bootstrapLogging(level: Logger.Level) -> Logger {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
    var logger = Logger(label: "streamdb")
    logger.logLevel = level
    return logger
}
