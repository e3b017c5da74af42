import ArgumentParser
import Foundation
import StreamDBOutput

extension Streamdb {
    struct SQL: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sql",
            abstract: "Run a read-only SQL query on the history (the SQL as an argument or on standard input).",
            discussion: "The database is opened read-only: a statement that writes is refused and nothing changes."
        )

        @OptionGroup var database: DatabaseOptions

        // Only the format: the rows are SQLite's values as stored, so labels and zones do not apply.
        @Option(name: .long, help: "Output format: table, json, ndjson or csv.")
        var format: OutputFormat = .table

        @Flag(help: "Print the table in full on a terminal too (by default it is fitted to its width).")
        var wide = false

        @Argument(help: "The query. Read from standard input when left out.")
        var sql: String?

        func run() async throws {
            if sql == nil, isatty(STDIN_FILENO) == 1 {
                throw ValidationError("give the query as an argument (streamdb sql \"SELECT ...\"), or pipe it on standard input.")
            }
            let text = sql ?? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw InputError("no SQL given.")
            }
            let result = try await database.open(try database.loadConfig()).sql(text)
            print(result.table.rendered(as: format, width: wide ? nil : terminalWidth()), terminator: "")
        }
    }
}
