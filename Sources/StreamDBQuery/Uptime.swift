import Foundation
import GRDB
import StreamDBModel

/// `streamdb uptime`: availability over a window, per stream or per group.
///
/// A stream's time is cut into its status intervals (as `status_intervals`), clipped exactly at
/// the window's edges. Time before a sync first saw it and while it was gone is not observed: it is
/// counted apart and left out of availability. Availability is the time in an up status over the
/// time observed; an outage is a run of not-up intervals, counted when it starts in the window.
public struct Uptime: Sendable {
    public enum Grouping: String, Sendable, CaseIterable {
        case region
        case caseType = "case-type"
        case source
    }

    public struct Row: Sendable {
        /// The job_uid, or the region, case type or source of a group.
        public let key: String
        public var observedSeconds = 0.0
        public var upSeconds = 0.0
        public var unobservedSeconds = 0.0
        public var outages = 0
        public var longestOutageSeconds = 0.0
        /// Outages that ended in the window, and their total length (for the mean time to recovery).
        public var recoveries = 0
        public var recoverySeconds = 0.0
        /// Streams that flapped in the window (``Flapping/Rule``): 0 or 1 for a stream, the count
        /// for a group.
        public var flappingStreams = 0
        /// Whether the stream flapped; for a group, whether any of its streams did.
        public var flapping: Bool { flappingStreams > 0 }
        /// Seconds per raw status, in the window.
        public var byStatus: [String: (status: StatusValue, seconds: Double)] = [:]

        /// Up time over observed time; nil when nothing was observed.
        public var availability: Double? { observedSeconds > 0 ? upSeconds / observedSeconds : nil }
        /// The mean length of the outages that ended in the window; nil when none did.
        public var meanTimeToRecoverySeconds: Double? { recoveries > 0 ? recoverySeconds / Double(recoveries) : nil }

        mutating func add(_ other: Row) {
            observedSeconds += other.observedSeconds
            upSeconds += other.upSeconds
            unobservedSeconds += other.unobservedSeconds
            outages += other.outages
            longestOutageSeconds = max(longestOutageSeconds, other.longestOutageSeconds)
            recoveries += other.recoveries
            recoverySeconds += other.recoverySeconds
            flappingStreams += other.flappingStreams
            for (key, value) in other.byStatus { byStatus[key, default: (value.status, 0)].seconds += value.seconds }
        }
    }

    public let since: Date
    public let until: Date
    /// Lowest availability first; nothing observed last.
    public let rows: [Row]
    /// When the source asked for is not in the history, why (nothing else empties a whole fleet).
    public var emptyBecause: String? = nil

    /// The same window with only the rows `include` keeps.
    public func filtered(_ include: (Row) -> Bool) -> Uptime {
        Uptime(since: since, until: until, rows: rows.filter(include))
    }

    /// One interval of a stream's life, in Unix seconds: plain numbers, so that a million of them
    /// are copied without reference counting. `status` indexes the statuses seen; -1 is gone.
    private struct Interval {
        let start: Double
        let end: Double
        let status: Int32
        /// Whether `status` counts as up.
        let isUp: Bool
        /// Whether a change of status opened it (not a first sighting, a 404 or a return).
        let isChange: Bool
    }

    /// The statuses seen in one read, each once, with whether it counts as up.
    private struct StatusTable {
        var values: [StatusValue] = []
        var up: [Bool] = []
        private var byInteger: [Int64: Int32] = [:]
        private var byText: [String: Int32] = [:]

        mutating func index(_ value: DatabaseValue, upStatuses: Set<String>) -> Int32 {
            if case .int64(let i) = value.storage, let known = byInteger[i] { return known }
            if case .string(let t) = value.storage, let known = byText[t] { return known }
            guard let status = value.statusValue else { return -1 }
            let index = Int32(values.count)
            values.append(status)
            up.append(upStatuses.contains(status.description))
            switch status {
            case .int(let i): byInteger[i] = index
            case .text(let t): byText[t] = index
            }
            return index
        }
    }

    static func load(
        since: Date, until: Date, up upStatuses: Set<String>, by grouping: Grouping?, source: String?, flapRule: Flapping.Rule,
        in db: Database
    ) throws -> Uptime {
        var perStream: [String: Row] = [:]
        // status_spans (migration 0007) holds every interval. It is read in its own order (the
        // order events were recorded: for each stream, time order), which is a sequential scan,
        // and grouped per stream here. Times are its integer microseconds, so that no text is
        // parsed. A span that ended before the window is not needed: the one after it starts
        // before the window too.
        var uids: [Int64: String] = [:]
        let streams = try GRDB.Row.fetchCursor(
            db,
            sql: """
                SELECT st.stream_id, st.job_uid FROM streams AS st LEFT JOIN sources AS src ON src.id = st.source_id
                WHERE :source IS NULL OR src.name = :source
                """, arguments: ["source": source])
        while let row = try streams.next() { uids[row[0]] = row[1] }
        let spans = try GRDB.Row.fetchCursor(
            db,
            sql: """
                SELECT s.stream_id, s.started_by = 'gone', s.status, s.started_by = 'changed', s.started_us, s.ended_us
                FROM status_spans AS s
                WHERE s.started_us < :until AND (s.ended_us IS NULL OR s.ended_us > :since)
                ORDER BY s.id
                """,
            arguments: ["until": Self.microseconds(until), "since": Self.microseconds(since)])
        let openEnd = min(Date(), until).timeIntervalSince1970
        var byStream: [Int64: [Interval]] = [:]
        byStream.reserveCapacity(uids.count)
        var statuses = StatusTable()
        while let span = try spans.next() {
            let streamID: Int64 = span[0]
            guard uids[streamID] != nil else { continue }
            let gone: Bool = span[1]
            let status = gone ? -1 : statuses.index(span[2], upStatuses: upStatuses)
            let end = (span[5] as Int64?).map(Self.seconds) ?? openEnd
            let interval = Interval(
                start: Self.seconds(span[4]), end: end, status: status, isUp: status >= 0 && statuses.up[Int(status)],
                isChange: span[3])
            byStream[streamID, default: []].append(interval)
        }
        let (from, to) = (since.timeIntervalSince1970, until.timeIntervalSince1970)
        for (streamID, intervals) in byStream {
            guard let uid = uids[streamID], var summary = summarise(uid, intervals, since: from, until: to, statuses: statuses.values)
            else { continue }
            let changes = intervals.filter { $0.isChange && $0.start >= from && $0.start < to }.map {
                Date(timeIntervalSince1970: $0.start)
            }
            summary.flappingStreams = flapRule.densest(changes).map { $0.changes >= flapRule.minChanges } == true ? 1 : 0
            perStream[uid] = summary
        }
        var uptime = Uptime(since: since, until: until, rows: sorted(Array(perStream.values)))
        if let grouping { uptime = try uptime.grouped(by: grouping, in: db) }
        if uptime.rows.isEmpty { uptime.emptyBecause = try StreamList.unknown(region: nil, source: source, caseType: nil, in: db) }
        return uptime
    }

    /// status_spans' microseconds as Unix seconds.
    static func seconds(_ microseconds: Int64) -> Double { Double(microseconds) / 1_000_000 }

    /// A time as status_spans' microseconds.
    static func microseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }

    /// One stream's figures in the window (Unix seconds); nil when none of its life falls in it.
    private static func summarise(
        _ uid: String, _ intervals: [Interval], since: Double, until: Double, statuses: [StatusValue]
    ) -> Row? {
        guard let first = intervals.first, first.start < until else { return nil }
        var row = Row(key: uid)
        // Before the first sighting (within the window), nothing was observed.
        row.unobservedSeconds += max(0, min(first.start, until) - since)
        var outage: (seconds: Double, startsInWindow: Bool)?
        var byStatus = [Double](repeating: 0, count: statuses.count)
        var seen = [Bool](repeating: false, count: statuses.count)
        func closeOutage(recovered: Bool) {
            guard let open = outage else { return }
            if open.startsInWindow { row.outages += 1 }
            row.longestOutageSeconds = max(row.longestOutageSeconds, open.seconds)
            if recovered, open.seconds > 0 {
                row.recoveries += 1
                row.recoverySeconds += open.seconds
            }
            outage = nil
        }
        for interval in intervals {
            let seconds = max(0, min(interval.end, until) - max(interval.start, since))
            guard interval.status >= 0 else {
                // Gone: not observed; an outage in progress is not known to go on.
                row.unobservedSeconds += seconds
                if interval.end > since { closeOutage(recovered: false) }
                continue
            }
            if interval.end <= since { continue }
            row.observedSeconds += seconds
            byStatus[Int(interval.status)] += seconds
            seen[Int(interval.status)] = true
            if interval.isUp {
                row.upSeconds += seconds
                if interval.start < until { closeOutage(recovered: interval.start >= since) }
            } else if outage == nil {
                outage = (seconds, interval.start >= since)
            } else {
                outage!.seconds += seconds
            }
        }
        closeOutage(recovered: false)
        for (index, seconds) in byStatus.enumerated() where seen[index] {
            row.byStatus[statuses[index].description] = (statuses[index], seconds)
        }
        return row
    }

    /// This per-stream result summed per group (as `load` with `by`), without reading the spans again.
    func grouped(by grouping: Grouping, in db: Database) throws -> Uptime {
        let perStream = Dictionary(rows.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        return Uptime(since: since, until: until, rows: try Self.sorted(Self.group(perStream, by: grouping, in: db)))
    }

    /// Lowest availability first; nothing observed last.
    static func sorted(_ rows: [Row]) -> [Row] {
        rows.sorted { a, b in
            switch (a.availability, b.availability) {
            case (let x?, let y?): return (x, a.key) < (y, b.key)
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return a.key < b.key
            }
        }
    }

    /// Sums the streams' figures per region (a stream in two counts in both), case type or source.
    private static func group(_ perStream: [String: Row], by grouping: Grouping, in db: Database) throws -> [Row] {
        let sql: String
        switch grouping {
        case .region:
            // Each stream's regions now, through its current payload document (0011).
            sql = """
                SELECT st.job_uid, coalesce(rg.title, '(none)') AS key FROM streams AS st
                LEFT JOIN document_regions AS dr ON dr.document_id = st.current_rest_id
                LEFT JOIN regions AS rg ON rg.id = dr.region_id
                """
        case .caseType: sql = "SELECT job_uid, coalesce(case_type, '(unknown)') AS key FROM streams"
        case .source:
            sql =
                "SELECT st.job_uid, coalesce(src.name, '(none)') AS key FROM streams AS st LEFT JOIN sources AS src ON src.id = st.source_id"
        }
        var groups: [String: Row] = [:]
        for row in try GRDB.Row.fetchAll(db, sql: sql) {
            guard let stream = perStream[row["job_uid"]] else { continue }
            let key: String = row["key"]
            groups[key, default: Row(key: key)].add(stream)
        }
        return Array(groups.values)
    }
}
