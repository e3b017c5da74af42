import Foundation
import StreamDBModel
import StreamDBQuery
import StreamDBStore

extension StreamList: Report {
    public var reportRows: [Row] { rows }
    public var hiddenColumns: Set<String> { severalSources ? [] : ["source"] }

    public static let columns: [Column<Row>] = [
        Column("job_uid") { row, _ in .text(row.jobUID) },
        .status("status") { $0.status },
        Column("case_type") { row, c in c.text(row.caseType) },
        Column("regions") { row, c in c.readable && row.regions.isEmpty ? .null : .list(row.regions) },
        Column("version") { row, _ in .int(row.version) },
        Column("first_seen_at") { row, c in c.time(row.firstSeenAt) },
        Column("last_seen_at") { row, c in c.time(row.lastSeenAt) },
        Column("gone_at") { row, c in c.time(row.goneAt) },
        Column("source") { row, c in c.text(row.source) },
    ]
}

extension RegionReport: Report {
    public var reportRows: [Row] { rows }

    public static let columns: [Column<Row>] = [
        Column("region") { row, _ in .text(row.region) },
        Column("streams") { row, _ in .int(Int64(row.streams)) },
        Column("by_status") { row, c in .counts(row.byStatus.map { .init(c.labels.name($0.status), Int64($0.count)) }) },
        Column("by_case_type") { row, _ in .counts(row.byCaseType.map { .init($0.caseType, Int64($0.count)) }) },
    ]
}

/// The runs of a ledger as a report (the errors are ``SyncErrorReport``).
public struct SyncRunReport: Report {
    public let ledger: SyncRunLedger
    public init(_ ledger: SyncRunLedger) { self.ledger = ledger }
    public var reportRows: [SyncRunLedger.Run] { ledger.runs }
    public var hiddenColumns: Set<String> { ledger.severalSources ? [] : ["source"] }

    public static let columns: [Column<SyncRunLedger.Run>] = [
        Column("run") { run, _ in .int(run.id) },
        Column("started_at") { run, c in c.time(run.startedAt) },
        Column("elapsed") { run, c in
            guard let seconds = run.elapsedSeconds else { return .null }
            return c.readable ? .text(String(format: "%.2f s", seconds)) : .double((seconds * 1000).rounded() / 1000)
        },
        Column("outcome") { run, _ in .text(run.outcome?.rawValue ?? "unknown") },
        Column("listing") { run, c in c.text(run.listing?.rawValue) },
        Column("seen") { run, _ in .int(Int64(run.counts.seen)) },
        Column("new") { run, _ in .int(Int64(run.counts.new)) },
        Column("changed") { run, _ in .int(Int64(run.counts.changed)) },
        Column("unchanged") { run, _ in .int(Int64(run.counts.unchanged)) },
        Column("gone") { run, _ in .int(Int64(run.counts.gone)) },
        Column("back") { run, _ in .int(Int64(run.counts.back)) },
        Column("errors") { run, _ in .int(Int64(run.counts.errors)) },
        Column("source") { run, c in c.text(run.source) },
        Column("source_url") { run, _ in .text(run.sourceURL) },
    ]
}

/// The errors of a ledger's runs as a report.
public struct SyncErrorReport: Report {
    public let ledger: SyncRunLedger
    public init(_ ledger: SyncRunLedger) { self.ledger = ledger }
    public var reportRows: [SyncRunLedger.Error] { ledger.errors }

    public static let columns: [Column<SyncRunLedger.Error>] = [
        Column("run") { error, _ in .int(error.runID) },
        Column("job_uid") { error, c in c.text(error.jobUID) },
        Column("kind") { error, _ in .text(error.kind) },
        Column("attempts") { error, _ in error.attempts.map(ResultTable.Cell.int) ?? .null },
        Column("message") { error, _ in .text(error.message) },
    ]
}

/// A status timeline as a report: `from`, `to`, `duration`, `event`, `status`, `time_source`,
/// `note`.
public struct TimelineReport: Report {
    public struct Row: Sendable {
        public let timeline: StatusTimeline
        public let entry: StatusTimeline.Entry
    }

    public let timeline: StatusTimeline
    public init(_ timeline: StatusTimeline) { self.timeline = timeline }
    public var reportRows: [Row] { timeline.entries.map { Row(timeline: timeline, entry: $0) } }
    /// The job column only for a followed chain.
    public var hiddenColumns: Set<String> { timeline.entries.contains { $0.jobUID != nil } ? [] : ["job_uid"] }

    private static let entryStatus = Column<StatusTimeline.Entry>.status("status") { $0.status }

    public static let columns: [Column<Row>] = [
        Column("job_uid") { row, c in c.text(row.entry.jobUID) },
        Column("from") { row, c in c.time(row.entry.at) },
        Column("to") { row, c in
            guard row.entry.isInterval else { return .null }
            // An open interval runs to now: "now" for people, null for programs.
            guard let end = row.entry.until ?? row.timeline.asOf else { return c.readable ? .text("now") : .null }
            return c.time(end)
        },
        Column("duration") { row, c in c.duration(row.entry.durationSeconds) },
        Column("event") { row, _ in .text(row.entry.event.rawValue) },
        Column(
            names: { c in c.readable ? ["status"] : ["status", "status_label"] },
            cells: { row, c in
                if row.entry.event == .gone { return c.readable ? [.text("gone")] : [.null, .null] }
                return entryStatus.cells(row.entry, c)
            }),
        Column("time_source") { row, _ in .text(row.entry.timeSource.rawValue) },
        Column("note") { row, _ in .text(note(row)) },
    ]

    /// What a point event changed, in words.
    static func note(_ row: Row) -> String {
        let entry = row.entry
        switch entry.event {
        case .gone: return "the server answered 404"
        case .config:
            let v = entry.version ?? 0
            return
                "pipeline config changed in version \(v) (streamdb diff \((entry.jobUID ?? row.timeline.jobUID).prefix(8)) --from \(v - 1) --to \(v))"
        case .regions:
            func titles(_ list: [String]) -> String { list.isEmpty ? "none" : list.joined(separator: ", ") }
            return "regions \(titles(entry.regionsBefore)) -> \(titles(entry.regionsAfter)) in version \(entry.version ?? 0)"
        case .replaced:
            return "replaced by \(entry.replacedBy ?? "?") (the platform's update: same camera stream and case type)"
        case .firstSeen, .changed, .back: return ""
        }
    }
}

extension SQLResult {
    /// The rows as they came, numbers as numbers, blobs as `x'hex'`.
    public var table: ResultTable {
        ResultTable(
            columns: columns,
            rows: rows.map { row in
                row.map { value in
                    switch value {
                    case .null: return .null
                    case .int(let i): return .int(i)
                    case .double(let d): return .double(d)
                    case .text(let s): return .text(s)
                    case .blob(let b): return .text("x'" + b.map { String(format: "%02x", $0) }.joined() + "'")
                    }
                }
            })
    }
}

extension EventFeed: Report {
    public var reportRows: [Event] { events }
    private static let fromStatus = Column<Event>.status("from") { $0.fromStatus }
    private static let toStatus = Column<Event>.status("to") { $0.toStatus }
    public var hiddenColumns: Set<String> { severalSources ? [] : ["source"] }

    public static let columns: [Column<Event>] = [
        Column("at") { event, c in c.time(event.at) },
        Column("job_uid") { event, _ in .text(event.jobUID) },
        Column("kind") { event, _ in .text(event.kind.rawValue) },
        Column(
            names: { c in c.readable ? ["from"] : ["from", "from_label"] },
            append: { event, c, out in
                switch event.kind {
                case .regions:
                    let before = event.regionsBefore
                    if c.readable { return out.append(.text(before.isEmpty ? "none" : before.joined(separator: ", "))) }
                    out.append(contentsOf: [.list(before), .null])
                case .config, .replaced:
                    out.append(contentsOf: c.readable ? [.null] : [.null, .null])
                case .firstSeen, .status, .back, .gone:
                    fromStatus.append(event, c, &out)
                }
            }),
        Column(
            names: { c in c.readable ? ["to"] : ["to", "to_label"] },
            append: { event, c, out in
                switch event.kind {
                case .config:
                    if c.readable { return out.append(.text(event.paths.joined(separator: ", "))) }
                    out.append(contentsOf: [.list(event.paths), .null])
                case .regions:
                    let after = event.regionsAfter
                    if c.readable { return out.append(.text(after.isEmpty ? "none" : after.joined(separator: ", "))) }
                    out.append(contentsOf: [.list(after), .null])
                case .replaced:
                    out.append(.text(event.replacedBy ?? ""))
                    if !c.readable { out.append(.null) }
                case .gone:
                    out.append(contentsOf: c.readable ? [.text("gone")] : [.null, .null])
                case .firstSeen, .status, .back:
                    toStatus.append(event, c, &out)
                }
            }),
        Column("source") { event, c in c.text(event.source) },
        Column("regions") { event, c in c.readable && event.regions.isEmpty ? .null : .list(event.regions) },
    ]
}

/// Availability as a report: per stream (`job_uid`) or per group (`region`, `case_type`, `source`).
public struct UptimeReport: Report {
    public let uptime: Uptime
    /// The name of the key column.
    public let keyName: String
    public init(_ uptime: Uptime, keyName: String) {
        self.uptime = uptime
        self.keyName = keyName
    }
    public var reportRows: [Uptime.Row] { uptime.rows }
    public var hiddenColumns: Set<String> {
        Set(["job_uid", "region", "case_type", "source"]).subtracting([keyName])
            .union([keyName == "job_uid" ? "flapping_streams" : "flapping"])
    }

    public static let columns: [Column<Uptime.Row>] =
        ["job_uid", "region", "case_type", "source"].map { name in
            Column(name) { row, _ in .text(row.key) }
        } + [
            Column("availability") { row, c in
                guard let value = row.availability else { return .null }
                return c.readable ? .text(String(format: "%.2f %%", value * 100)) : .double((value * 1_000_000).rounded() / 1_000_000)
            },
            Column("observed_seconds") { row, c in c.duration(row.observedSeconds) },
            Column("up_seconds") { row, c in c.duration(row.upSeconds) },
            Column("unobserved_seconds") { row, c in c.duration(row.unobservedSeconds) },
            Column("outages") { row, _ in .int(Int64(row.outages)) },
            Column("longest_outage_seconds") { row, c in c.duration(row.longestOutageSeconds) },
            Column("mttr_seconds") { row, c in c.duration(row.meanTimeToRecoverySeconds) },
            // A stream: whether it flapped in the window; a group: how many of its streams did.
            Column("flapping") { row, c in c.readable ? .text(row.flapping ? "yes" : "") : .bool(row.flapping) },
            Column("flapping_streams") { row, _ in .int(Int64(row.flappingStreams)) },
            Column("by_status") { row, c in
                // Most time first; within seconds of each other (a clock's drift), by name.
                let entries = row.byStatus.values.sorted { a, b in
                    abs(a.seconds - b.seconds) < 5 ? a.status.description < b.status.description : a.seconds > b.seconds
                }
                if c.readable {
                    return .text(
                        entries.map { "\(c.labels.name($0.status)) \(DurationText.format(seconds: $0.seconds))" }.joined(separator: ", "))
                }
                return .counts(entries.map { .init(c.labels.name($0.status), Int64($0.seconds.rounded())) })
            },
        ]
}

extension Flapping: Report {
    public var reportRows: [Row] { rows }
    public var hiddenColumns: Set<String> { severalSources ? [] : ["source"] }

    public static let columns: [Column<Row>] = [
        Column("job_uid") { row, _ in .text(row.jobUID) },
        Column("changes") { row, _ in .int(Int64(row.changes)) },
        Column("from") { row, c in c.time(row.from) },
        Column("to") { row, c in c.time(row.to) },
        Column("total_changes") { row, _ in .int(Int64(row.totalChanges)) },
        Column.status("status") { $0.status },
        Column("source") { row, c in c.text(row.source) },
        Column("regions") { row, c in c.readable && row.regions.isEmpty ? .null : .list(row.regions) },
    ]
}
