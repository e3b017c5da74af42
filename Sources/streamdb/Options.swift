import ArgumentParser
import Foundation
import StreamDBModel
import StreamDBOutput
import StreamDBQuery

/// `--db`, shared by every command.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp("The history database.", discussion: "Default: $STREAMDB_DB, else ./streamdb.sqlite.", valueName: "path"))
    var db: String?

    var path: String {
        db ?? ProcessInfo.processInfo.environment["STREAMDB_DB"].flatMap { $0.isEmpty ? nil : $0 } ?? "streamdb.sqlite"
    }

    /// The history, opened read-only.
    func open() throws -> HistoryReader { try HistoryReader.open(path: path) }
}

/// Output options shared by the query commands.
struct OutputOptions: ParsableArguments {
    @Option(name: .long, help: "Output format: table, json, ndjson or csv.")
    var format: OutputFormat = .table

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A file of CODE=NAME lines (11=WORKING) naming status codes.",
            discussion: "Default: $STREAMDB_STATUS_LABELS, else raw codes.", valueName: "file"))
    var statusLabels: String?

    @Option(help: ArgumentHelp("Show table times in this IANA time zone (Europe/Minsk); json and csv stay UTC.", valueName: "zone"))
    var tz: String?

    @Flag(help: "Print tables in full on a terminal too (by default they are fitted to its width).")
    var wide = false

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

    /// The format, labels and zone the results are printed with.
    func context() throws -> RenderContext {
        RenderContext(format: format, labels: try labels(), zone: try zone(), width: wide ? nil : terminalWidth())
    }
}

extension OutputFormat: ExpressibleByArgument {}

/// Reads a user's time: what the tables print (with or without seconds), ISO 8601, a date alone,
/// or a relative time (`30m`, `6h`, `2d`, `1w`). A time without an offset is in `zone` (`--tz`).
func parseTime(_ text: String, option: String, zone: TimeZone? = nil) throws -> Date {
    guard let date = TimeInput.parse(text, zone: zone) else {
        throw ValidationError(
            "\(option): '\(text)' is not a time; use e.g. 2026-12-01, '2026-12-01 21:30', 2026-12-01T21:30:00Z, or 6h, 2d, 1w ago.")
    }
    return date
}

/// `--since` and `--until`, read in `zone`; one sentence when the window is the wrong way round.
func parseWindow(since: String?, until: String?, zone: TimeZone?) throws -> (since: Date?, until: Date?) {
    let start = try since.map { try parseTime($0, option: "--since", zone: zone) }
    let end = try until.map { try parseTime($0, option: "--until", zone: zone) }
    if let start, let end, start > end {
        throw ValidationError("--since (\(since!)) is later than --until (\(until!)): nothing can lie between them.")
    }
    return (start, end)
}

/// The width of the terminal standard output is, or nil when it is not one (piped, redirected).
func terminalWidth() -> Int? {
    guard isatty(STDOUT_FILENO) == 1 else { return nil }
    var size = winsize()
    guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
    return Int(size.ws_col)
}
