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
            for (key, value) in other.byStatus { byStatus[key, default: (value.status, 0)].seconds += value.seconds }
        }
    }

    public let since: Date
    public let until: Date
    /// Lowest availability first; nothing observed last.
    public let rows: [Row]

    /// The same window with only the rows `include` keeps.
    public func filtered(_ include: (Row) -> Bool) -> Uptime {
        Uptime(since: since, until: until, rows: rows.filter(include))
    }

    /// One interval of a stream's life: a status, or gone (nil), from `start` to `end`.
    private struct Interval {
        let start: Date
        let end: Date
        let status: StatusValue?
    }

    static func load(
        since: Date, until: Date, up: Set<String>, by grouping: Grouping?, source: String?, in db: Database
    ) throws -> Uptime {
        let now = Date()
        var perStream: [String: Row] = [:]
        let events = try GRDB.Row.fetchAll(
            db,
            sql: """
                SELECT h.job_uid, h.event, h.status, h.changed_at FROM status_history AS h
                JOIN streams AS st ON st.job_uid = h.job_uid LEFT JOIN sources AS src ON src.id = st.source_id
                WHERE h.changed_at < ? AND (? IS NULL OR src.name = ?)
                ORDER BY h.job_uid, h.changed_at, h.observed_at
                """, arguments: [Timestamp.format(until), source, source])
        var index = 0
        while index < events.count {
            let uid: String = events[index]["job_uid"]
            var intervals: [Interval] = []
            while index < events.count, events[index]["job_uid"] as String == uid {
                let row = events[index]
                index += 1
                guard let start = row.date("changed_at") else { continue }
                let next = index < events.count && events[index]["job_uid"] as String == uid ? events[index].date("changed_at") : nil
                let status: StatusValue? = row["event"] as String == "gone" ? nil : (row["status"] as DatabaseValue).statusValue
                intervals.append(Interval(start: start, end: next ?? min(now, until), status: status))
            }
            if let summary = summarise(uid, intervals, since: since, until: until, up: up) { perStream[uid] = summary }
        }
        var rows = Array(perStream.values)
        if let grouping {
            rows = try group(perStream, by: grouping, in: db)
        }
        rows.sort { a, b in
            switch (a.availability, b.availability) {
            case (let x?, let y?): return (x, a.key) < (y, b.key)
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return a.key < b.key
            }
        }
        return Uptime(since: since, until: until, rows: rows)
    }

    /// One stream's figures in the window; nil when none of its life falls in it.
    private static func summarise(_ uid: String, _ intervals: [Interval], since: Date, until: Date, up: Set<String>) -> Row? {
        guard let first = intervals.first, first.start < until else { return nil }
        var row = Row(key: uid)
        // Before the first sighting (within the window), nothing was observed.
        row.unobservedSeconds += max(0, min(first.start, until).timeIntervalSince(since))
        var outage: (start: Date, seconds: Double, startsInWindow: Bool)?
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
            let start = max(interval.start, since)
            let end = min(interval.end, until)
            let seconds = max(0, end.timeIntervalSince(start))
            guard let status = interval.status else {
                // Gone: not observed; an outage in progress is not known to go on.
                row.unobservedSeconds += seconds
                if interval.end > since { closeOutage(recovered: false) }
                continue
            }
            if interval.end <= since { continue }
            row.observedSeconds += seconds
            row.byStatus[status.description, default: (status, 0)].seconds += seconds
            if up.contains(status.description) {
                row.upSeconds += seconds
                if interval.start < until { closeOutage(recovered: interval.start >= since) }
            } else if outage == nil {
                outage = (interval.start, seconds, interval.start >= since)
            } else {
                outage!.seconds += seconds
            }
        }
        closeOutage(recovered: false)
        return row
    }

    /// Sums the streams' figures per region (a stream in two counts in both), case type or source.
    private static func group(_ perStream: [String: Row], by grouping: Grouping, in db: Database) throws -> [Row] {
        let sql: String
        switch grouping {
        case .region:
            sql = """
                SELECT st.job_uid, coalesce(rg.title, '(none)') AS key FROM streams AS st
                JOIN versions AS v ON v.stream_id = st.stream_id AND v.version = st.current_version
                LEFT JOIN document_regions AS dr ON dr.document_id = v.rest_id LEFT JOIN regions AS rg ON rg.id = dr.region_id
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
