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
            (nothing synced, bad arguments, or a query error); 3 another sync (or publisher) holds the \
            database.
            """,
        version: StreamDBVersion.current,
        subcommands: [
            Sync.self, Demo.self, History.self, Regions.self, Streams.self, Show.self, Diff.self, SQL.self, Runs.self,
            ScrubSecrets.self, Config.self, Events.self, Uptime.self, Flapping.self, Report.self, Publish.self,
        ]
    )

    /// Like ArgumentParser's `main`, but every error is printed once, as one sentence, and exits
    /// with the status streamdb documents: 2 for bad arguments, the error's own otherwise.
    static func main() async {
        let command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            // Bad arguments exit with 2, as documented (ArgumentParser's own is 64).
            FileHandle.standardError.write(Data(((unknownCommandHint().map { "streamdb: " + $0 } ?? fullMessage(for: error)) + "\n").utf8))
            Foundation.exit(ExitStatus.failed.rawValue)
        }
        do {
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                var command = command
                try command.run()
            }
        } catch let error as any StreamDBError {
            printError(error.message)
            Foundation.exit(error.exitStatus.rawValue)
        } catch let error as ValidationError {
            // A value the subcommand could only check while running (a time, a zone): its usage,
            // not the root's.
            let name = type(of: command).configuration.commandName ?? ""
            FileHandle.standardError.write(
                Data("Error: \(error.message)\nUsage: streamdb \(type(of: command).usageString())\n  See 'streamdb \(name) --help'.\n".utf8)
            )
            Foundation.exit(ExitStatus.failed.rawValue)
        } catch {
            // ArgumentParser's own (help, an exit code a command chose) are its to print.
            if error is ExitCode || exitCode(for: error) != .failure { exit(withError: error) }
            // An error of no streamdb type (ArgumentParser would exit 1, which streamdb documents
            // as a partial sync): still one line, and the status for failed.
            printError(String(describing: error).replacingOccurrences(of: "\n", with: " "))
            Foundation.exit(ExitStatus.failed.rawValue)
        }
    }

    /// For `streamdb histroy ...`: the nearest subcommand, when the first word names none.
    static func unknownCommandHint() -> String? {
        let arguments = CommandLine.arguments.dropFirst()
        guard let word = arguments.first, !word.hasPrefix("-") else { return nil }
        let names = configuration.subcommands.compactMap { $0.configuration.commandName }
        guard !names.contains(word) else { return nil }
        let ranked = names.map { ($0, EditDistance.between($0, word)) }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }
        let list = names.joined(separator: ", ")
        if let best = ranked.first, best.1 <= max(2, word.count / 3) {
            return "'\(word)' is not a streamdb command; did you mean '\(best.0)'? (commands: \(list))"
        }
        return "'\(word)' is not a streamdb command (commands: \(list)); see 'streamdb --help'."
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
