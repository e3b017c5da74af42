import ArgumentParser
import StreamDB

extension Streamdb {
    struct Runs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "runs",
            abstract: "List the last sync runs with their outcome and counts, then their errors."
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Option(help: "How many runs, newest last.")
        var last = 10

        @Option(help: "At most this many errors (table format).")
        var maxErrors = 20

        func run() async throws {
            let store = try openForQuery(database)
            let readable = output.format == .table
            let zone = try output.zone()
            let runs = try query(store) { db in try SyncRunLedger.runs(last: last, readable: readable, zone: zone, in: db) }
            print(runs.rendered(as: output.format), terminator: "")
            guard readable else { return }
            let errors = try query(store) { db in try SyncRunLedger.errors(last: last, limit: maxErrors, in: db) }
            if !errors.rows.isEmpty {
                print("\nerrors (first \(maxErrors); all in the sync_errors table):")
                print(errors.rendered(as: .table), terminator: "")
            }
        }
    }
}
