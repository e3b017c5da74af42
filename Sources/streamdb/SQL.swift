import ArgumentParser
import Foundation
import StreamDB

extension Streamdb {
    struct SQL: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sql",
            abstract: "Run a read-only SQL query on the history (the SQL as an argument or on standard input).",
            discussion: "The database is opened read-only: a statement that writes is refused and nothing changes."
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Argument(help: "The query. Read from standard input when left out.")
        var sql: String?

        func run() async throws {
            let text = sql ?? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw fail("no SQL given.")
            }
            let store = try openForQuery(database)
            let table = try query(store) { db in try ReadOnlySQL.run(text, in: db) }
            print(table.rendered(as: output.format), terminator: "")
        }
    }
}
