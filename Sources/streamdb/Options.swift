import ArgumentParser
import GRDB
import Foundation
import StreamDB

/// `--db`, shared by every command.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The history database.", discussion: "Default: $STREAMDB_DB, else ./streamdb.sqlite.", valueName: "path"))
    var db: String?

    var path: String {
        db ?? ProcessInfo.processInfo.environment["STREAMDB_DB"].flatMap { $0.isEmpty ? nil : $0 } ?? "streamdb.sqlite"
    }
}

/// Output options shared by the query commands.
struct OutputOptions: ParsableArguments {
    @Option(name: .long, help: "Output format: table, json, ndjson or csv.")
    var format: OutputFormat = .table

    @Option(name: .long, help: ArgumentHelp("A file of CODE=NAME lines (11=WORKING) naming status codes.",
                                            discussion: "Default: $STREAMDB_STATUS_LABELS, else raw codes.", valueName: "file"))
    var statusLabels: String?

    @Option(help: ArgumentHelp("Show table times in this IANA time zone (Europe/Minsk); json and csv stay UTC.", valueName: "zone"))
    var tz: String?

    func zone() throws -> TimeZone? {
        guard let tz else { return nil }
        guard let zone = TimeZone(identifier: tz) else {
            throw ValidationError("--tz: '\(tz)' is not an IANA time zone name (e.g. Europe/Minsk, UTC).")
        }
        return zone
    }

    var zoneName: String { tz ?? "UTC" }

    func labels() throws -> StatusLabels {
        let path = statusLabels ?? ProcessInfo.processInfo.environment["STREAMDB_STATUS_LABELS"].flatMap { $0.isEmpty ? nil : $0 }
        return try path.map { try StatusLabels(file: $0) } ?? StatusLabels()
    }
}

extension OutputFormat: ExpressibleByArgument {}

/// Opens the database read-only for a query command, turning failures into one sentence.
func openForQuery(_ options: DatabaseOptions) throws -> HistoryStore {
    do {
        return try HistoryStore.openReadOnly(path: options.path)
    } catch let error as StoreError {
        throw fail(error.message)
    }
}

/// Runs a read on the store, turning query and store errors into one sentence and status 2.
func query<T>(_ store: HistoryStore, _ body: (Database) throws -> T) throws -> T {
    do {
        return try store.readNow(body)
    } catch let error as QueryError {
        throw fail(error.message)
    } catch let error as StoreError {
        throw fail(error.message)
    }
}
