import ArgumentParser
import StreamDBOutput

extension Streamdb {
    struct Runs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "runs",
            abstract: "List the last sync runs with their outcome and counts, then their errors."
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Option(parsing: .unconditional, help: "How many runs, newest last.")
        var last = 10

        @Option(help: "Only the runs of this source (its name).")
        var source: String?

        @Option(help: "At most this many errors (table format).")
        var maxErrors = 20

        func validate() throws {
            guard last >= 1 else { throw ValidationError("--last must be at least 1.") }
            guard maxErrors >= 0 else { throw ValidationError("--max-errors must be 0 or more.") }
        }

        func run() async throws {
            let config = try database.loadConfig()
            let context = try output.context(config)
            let ledger = try await database.open(config).runs(last: last, errorLimit: maxErrors, source: source)
            SyncRunReport(ledger).write(context)
            guard context.readable, !ledger.errors.isEmpty else { return }
            print("\nerrors (first \(maxErrors); all in the sync_errors table):")
            SyncErrorReport(ledger).write(context)
        }
    }
}
