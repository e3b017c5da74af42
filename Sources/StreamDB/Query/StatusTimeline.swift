import Foundation
import GRDB

/// `streamdb history`: one stream's status intervals, with its config versions, region moves and
/// disappearances interleaved in time order.
public struct StatusTimeline: Sendable {
    public struct Entry: Sendable {
        /// When it started (status) or happened (other events).
        public let at: String
        /// When a status interval ended; nil for the current one and for point events.
        public let until: String?
        public let isInterval: Bool
        /// 'first_seen', 'changed', 'gone', 'back' for statuses; 'config', 'regions' for versions.
        public let event: String
        /// The raw status; nil for gone and for point events.
        public let status: String?
        public let durationSeconds: Double?
        /// 'server' (the payload's updated_at) or 'sync' (when a sync saw it).
        public let timeSource: String
        public let note: String
    }

    public let jobUID: String
    public let entries: [Entry]
    /// The time the timeline was reconstructed for (`--as-of`); nil for now.
    public var asOf: String? = nil

    /// Reads the timeline of `jobUID` (a full uid; see ``StreamLookup``), limited to entries that
    /// overlap `since`...`until` when given.
    ///
    /// - Parameter asOf: the timeline as the mirror knew it at this time: only what a sync had
    ///   observed by then, and the status current then runs until `asOf` instead of now.
    public static func load(jobUID: String, since: String?, until: String?, asOf: String? = nil, in db: Database) throws -> StatusTimeline {
        var entries: [Entry] = []
        let now = asOf ?? Timestamp.now()
        // The rows of the status_intervals view, limited to what was observed by `asOf`.
        let intervals = try Row.fetchAll(db, sql: """
            SELECT changed_at AS started_at, event AS started_by, status, changed_at_source AS started_at_source,
                   lead(changed_at) OVER (ORDER BY changed_at, observed_at) AS ended_at
            FROM status_history WHERE job_uid = ? AND (?2 IS NULL OR observed_at <= ?2)
            ORDER BY changed_at, observed_at
            """, arguments: [jobUID, asOf])
        if let asOf, intervals.isEmpty {
            throw QueryError("\(jobUID) was not yet seen at \(asOf).")
        }
        for row in intervals {
            let status: DatabaseValue = row["status"]
            let event: String = row["started_by"]
            let started: String = row["started_at"]
            let ended: String? = row["ended_at"]
            let duration = Timestamp.parse(started).flatMap { start in
                Timestamp.parse(ended ?? now).map { (($0.timeIntervalSince(start)) * 1000).rounded() / 1000 }
            }
            entries.append(Entry(
                at: started, until: ended, isInterval: true, event: event,
                status: event == "gone" ? nil : Self.text(status),
                durationSeconds: duration, timeSource: row["started_at_source"],
                note: event == "gone" ? "the server answered 404" : ""))
        }
        // Versions that changed the pipeline config or the regions, against the version before.
        let versions = try Row.fetchAll(db, sql: """
            SELECT s.version, s.observed_at, s.platform_config_id,
                   (SELECT group_concat(rg.title, ', ') FROM document_regions AS dr JOIN regions AS rg ON rg.id = dr.region_id
                     WHERE dr.document_id = s.rest_id ORDER BY dr.position) AS regions
            FROM versions AS s WHERE s.stream_id = (SELECT stream_id FROM streams WHERE job_uid = ?2)
              AND (?1 IS NULL OR s.observed_at <= ?1) ORDER BY s.version
            """, arguments: [asOf, jobUID])
        for (previous, current) in zip(versions, versions.dropFirst()) {
            let v: Int64 = current["version"]
            let at: String = current["observed_at"]
            if (previous["platform_config_id"] as Int64?) != (current["platform_config_id"] as Int64?) {
                entries.append(Entry(at: at, until: nil, isInterval: false, event: "config", status: nil, durationSeconds: nil,
                                     timeSource: "sync", note: "pipeline config changed in version \(v) (streamdb diff \(jobUID.prefix(8)) --from \(v - 1) --to \(v))"))
            }
            let before = previous["regions"] as String? ?? "none"
            let after = current["regions"] as String? ?? "none"
            if before != after {
                entries.append(Entry(at: at, until: nil, isInterval: false, event: "regions", status: nil, durationSeconds: nil,
                                     timeSource: "sync", note: "regions \(before) -> \(after) in version \(v)"))
            }
        }
        entries = entries.filter { entry in
            let end = entry.until ?? (entry.isInterval ? now : entry.at)
            if let since, end < since { return false }
            if let until, entry.at > until { return false }
            return true
        }
        entries.sort { ($0.at, $0.isInterval ? 0 : 1) < ($1.at, $1.isInterval ? 0 : 1) }
        return StatusTimeline(jobUID: jobUID, entries: entries, asOf: asOf)
    }

    static func text(_ value: DatabaseValue) -> String? {
        switch value.storage {
        case .null: return nil
        case .int64(let i): return String(i)
        case .double(let d): return String(d)
        case .string(let s): return s
        case .blob: return "(blob)"
        }
    }

    /// The timeline as rows: `from`, `to`, `duration`, `event`, `status`, `time_source`, `note`.
    /// - Parameter zone: the time zone of readable times (UTC when nil).
    public func table(labels: StatusLabels, readable: Bool, zone: TimeZone? = nil) -> ResultTable {
        var table = ResultTable(columns: ["from", "to", "duration", "event", "status", "time_source", "note"])
        for e in entries {
            let time = { (t: String) in readable ? DurationText.readable(t, zone: zone) : t }
            let to: ResultTable.Cell = e.isInterval ? .text((e.until ?? asOf).map(time) ?? "now") : .null
            let duration: ResultTable.Cell = e.durationSeconds.map {
                readable ? .text(DurationText.format(seconds: $0)) : .double($0)
            } ?? .null
            let status: ResultTable.Cell = e.event == "gone" ? .text("gone") : e.status.map { .text(labels.label($0)) } ?? .null
            table.rows.append([.text(time(e.at)), to, duration, .text(e.event), status, .text(e.timeSource), .text(e.note)])
        }
        return table
    }
}
