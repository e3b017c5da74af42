import ArgumentParser
import Foundation
import Logging
import StreamDBConfig
import StreamDBModel
import StreamDBOutput
import StreamDBPostgres
import StreamDBQuery
import StreamDBStore

/// `--db` and `--config`, shared by every command.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The history database: a file, or a team mirror (postgresql://user@host:5432/db).",
            discussion:
                "Default: $STREAMDB_DB, else the config file's db, else ./streamdb.sqlite. A mirror's password comes from $PGPASSWORD, ~/.pgpass or $STREAMDB_PG_PASSWORD_FILE.",
            valueName: "path"))
    var db: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The config file.", discussion: "Default: $STREAMDB_CONFIG, else ./streamdb.toml when present.", valueName: "file"))
    var config: String?

    /// The config file, validated; nil when none is given or found.
    func loadConfig() throws -> StreamdbConfig? {
        try StreamdbConfig.locate(flag: config, environment: ProcessInfo.processInfo.environment).map {
            try StreamdbConfig.load(path: $0.path)
        }
    }

    /// The database: --db, else $STREAMDB_DB, else the config file's, else ./streamdb.sqlite.
    func path(_ config: StreamdbConfig?) -> String {
        db ?? environment("STREAMDB_DB") ?? config?.db ?? "streamdb.sqlite"
    }

    /// The history, opened read-only: a file, or a team mirror's copy (`postgresql://...`).
    func open(_ config: StreamdbConfig?) async throws -> HistoryReader { try await openHistory(path(config)) }
}

/// `--db` alone, for `show`, whose `--config` prints a stream's config: the config file is then
/// `$STREAMDB_CONFIG` or ./streamdb.toml.
struct DatabaseOnlyOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The history database.",
            discussion: "Default: $STREAMDB_DB, else the db of $STREAMDB_CONFIG or ./streamdb.toml, else ./streamdb.sqlite.",
            valueName: "path"))
    var db: String?

    /// The history, opened read-only.
    func open() async throws -> HistoryReader {
        let config = try StreamdbConfig.locate(flag: nil, environment: ProcessInfo.processInfo.environment)
            .map { try StreamdbConfig.load(path: $0.path) }
        return try await openHistory(db ?? environment("STREAMDB_DB") ?? config?.db ?? "streamdb.sqlite")
    }
}

/// A history file, or, for `postgresql://...`, the team mirror's history copied into a temporary
/// file (``MirrorSnapshot``) that is removed once open: the query commands read both the same way.
func openHistory(_ location: String) async throws -> HistoryReader {
    guard location.hasPrefix("postgresql://") || location.hasPrefix("postgres://") else {
        return try HistoryReader.open(path: location)
    }
    let target = try PostgresTarget(
        url: location, passwordFile: environment("STREAMDB_PG_PASSWORD_FILE"), environment: ProcessInfo.processInfo.environment)
    let path = FileManager.default.temporaryDirectory.appending(path: "streamdb-mirror-\(UUID().uuidString).sqlite").path
    func remove() { HistoryStore.removeFiles(at: path) }
    do {
        try await MirrorSnapshot.materialise(
            target, into: path, logger: Logger(label: "streamdb", factory: { _ in SwiftLogNoOpLogHandler() }))
        let reader = try HistoryReader.open(path: path)
        remove()
        return reader
    } catch {
        remove()
        throw error
    }
}

/// A variable of the environment, nil when unset or empty.
func environment(_ name: String) -> String? {
    ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
}

/// Output options shared by the query commands.
struct OutputOptions: ParsableArguments {
    @Option(name: .long, help: "Output format: table, json, ndjson or csv (default: the config file's, else table).")
    var format: OutputFormat?

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

    /// --tz, else the config file's `[output] tz`; nil for UTC.
    func zone(_ config: StreamdbConfig?) throws -> TimeZone? {
        guard let tz = tz ?? config?.tz else { return nil }
        guard let zone = TimeZone(identifier: tz) else {
            throw ValidationError("--tz: '\(tz)' is not an IANA time zone name (e.g. Europe/Minsk, UTC).")
        }
        return zone
    }

    func zoneName(_ config: StreamdbConfig?) -> String { tz ?? config?.tz ?? "UTC" }

    /// --status-labels, else $STREAMDB_STATUS_LABELS, else the config file's; none: raw codes.
    func labels(_ config: StreamdbConfig?) throws -> StatusLabels {
        if let path = statusLabels ?? environment("STREAMDB_STATUS_LABELS") { return try StatusLabels(file: path) }
        if let path = config?.statusLabelsFile { return try StatusLabels(file: path) }
        return StatusLabels(names: config?.statusLabels ?? [:])
    }

    /// The format, labels and zone the results are printed with.
    func context(_ config: StreamdbConfig?) throws -> RenderContext {
        let format = format ?? config?.format.flatMap(OutputFormat.init) ?? .table
        return RenderContext(format: format, labels: try labels(config), zone: try zone(config), width: wide ? nil : terminalWidth())
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

/// A closed window: `--since` (default: `length` before the end) to `--until` (default: now).
func parseWindow(since: String?, until: String?, zone: TimeZone?, defaultLength length: TimeInterval) throws -> (
    since: Date, until: Date
) {
    let window = try parseWindow(since: since, until: until, zone: zone)
    let end = window.until ?? Date()
    let start = window.since ?? end.addingTimeInterval(-length)
    guard start < end else { throw ValidationError("the window is empty: --since must be before --until.") }
    return (start, end)
}

/// The width of the terminal standard output is, or nil when it is not one (piped, redirected).
func terminalWidth() -> Int? {
    guard isatty(STDOUT_FILENO) == 1 else { return nil }
    var size = winsize()
    guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
    return Int(size.ws_col)
}

/// The raw statuses that count as up: `--up` (codes or names from the labels), else the config's
/// `up_statuses`, else the status labelled WORKING; none of these is one sentence saying how to
/// name them.
func upStatuses(_ up: [String], config: StreamdbConfig?, labels: StatusLabels) throws -> Set<String> {
    let names = up.isEmpty ? (config?.upStatuses ?? []) : up
    var raw = Set(names.map(labels.raw))
    if raw.isEmpty, let working = labels.names.first(where: { $0.value.caseInsensitiveCompare("WORKING") == .orderedSame })?.key {
        raw = [working]
    }
    guard !raw.isEmpty else {
        throw InputError(
            "no status counts as up: name them with --up STATUS (e.g. --up 11), up_statuses in the config file, or status labels that name WORKING."
        )
    }
    return raw
}
