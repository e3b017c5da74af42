import Foundation
import GRDB
import StreamDBModel

/// `streamdb flapping`: the streams whose status changed at least ``Rule/minChanges`` times
/// within some stretch of ``Rule/window`` seconds.
///
/// A change is a `changed` status event (status_spans.started_by): first sightings, 404s and
/// returns are not status changes. Each stream's densest stretch is the one reported: its number
/// of changes and the times of its first and last change, the earliest such stretch when several
/// hold as many.
public struct Flapping: Sendable {
    /// What counts as flapping: `minChanges` changes within `window` seconds.
    public struct Rule: Sendable, Equatable {
        public var window: TimeInterval
        public var minChanges: Int

        public init(window: TimeInterval = 3600, minChanges: Int = 4) {
            self.window = window
            self.minChanges = minChanges
        }

        /// The stretch of at most `window` seconds holding the most of `times` (sorted, oldest
        /// first): how many, and the first and last of them; nil for no times.
        public func densest(_ times: [Date]) -> (changes: Int, from: Date, to: Date)? {
            guard !times.isEmpty else { return nil }
            var best = (changes: 1, from: times[0], to: times[0])
            var first = 0
            for last in times.indices {
                while times[last].timeIntervalSince(times[first]) > window { first += 1 }
                let count = last - first + 1
                if count > best.changes { best = (count, times[first], times[last]) }
            }
            return best
        }
    }

    public struct Row: Sendable {
        public let jobUID: String
        /// Changes in the densest stretch, and the first and last of them.
        public let changes: Int
        public let from: Date
        public let to: Date
        /// Changes in the whole window.
        public let totalChanges: Int
        /// The status now (nil while gone), the stream's regions and source.
        public let status: StatusValue?
        public let regions: [String]
        public let source: String?
    }

    public let since: Date
    public let until: Date
    public let rule: Rule
    /// Most changes first.
    public let rows: [Row]
    /// Whether the database holds more than one source.
    public let severalSources: Bool
    /// When the region, source or case type asked for is not in the history, why.
    public let emptyBecause: String?

    static func load(
        since: Date, until: Date, rule: Rule, source: String?, region: String?, caseType: String?, in db: Database
    ) throws -> Flapping {
        // In the order the events were recorded (a sequential scan; per stream, time order),
        // grouped per stream here.
        let changes = try GRDB.Row.fetchCursor(
            db,
            sql: """
                SELECT s.stream_id, s.started_us
                FROM status_spans AS s
                WHERE s.started_by = 'changed' AND s.started_us >= :since AND s.started_us < :until
                ORDER BY s.id
                """,
            arguments: ["since": Uptime.microseconds(since), "until": Uptime.microseconds(until)])
        var times: [Int64: [Date]] = [:]
        while let change = try changes.next() {
            times[change[0], default: []].append(Date(timeIntervalSince1970: Uptime.seconds(change[1])))
        }
        let kept = Set(
            try Int64.fetchAll(
                db,
                sql: """
                    SELECT st.stream_id FROM streams AS st LEFT JOIN sources AS src ON src.id = st.source_id
                    WHERE (:source IS NULL OR src.name = :source) AND (:case_type IS NULL OR st.case_type = :case_type)
                    """, arguments: ["source": source, "case_type": caseType]))
        var found: [(streamID: Int64, changes: Int, from: Date, to: Date, total: Int)] = []
        for (streamID, list) in times where kept.contains(streamID) {
            if let densest = rule.densest(list.sorted()), densest.changes >= rule.minChanges {
                found.append((streamID, densest.changes, densest.from, densest.to, list.count))
            }
        }
        var rows: [Row] = []
        let describe = try db.cachedStatement(
            sql: """
                SELECT st.job_uid, st.status, st.gone_at, src.name AS source,
                       (SELECT group_concat(rg.title, \(listSeparator)) FROM document_regions AS dr
                          JOIN regions AS rg ON rg.id = dr.region_id
                         WHERE dr.document_id = st.current_rest_id) AS regions
                FROM streams AS st LEFT JOIN sources AS src ON src.id = st.source_id WHERE st.stream_id = ?
                """)
        for stream in found {
            guard let row = try GRDB.Row.fetchOne(describe, arguments: [stream.streamID]) else { continue }
            let regions = row.list("regions")
            if let region, !regions.contains(region) { continue }
            rows.append(
                Row(
                    jobUID: row["job_uid"], changes: stream.changes, from: stream.from, to: stream.to, totalChanges: stream.total,
                    status: row["gone_at"] as String? == nil ? (row["status"] as DatabaseValue).statusValue : nil,
                    regions: regions, source: row["source"]))
        }
        rows.sort { ($1.changes, $0.jobUID) < ($0.changes, $1.jobUID) }
        return Flapping(
            since: since, until: until, rule: rule, rows: rows, severalSources: try SourceInfo.several(in: db),
            emptyBecause: rows.isEmpty ? try StreamList.unknown(region: region, source: source, caseType: caseType, in: db) : nil)
    }
}
