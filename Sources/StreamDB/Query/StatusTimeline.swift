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

    /// Reads the timeline of `jobUID` (a full uid; see ``StreamLookup``), limited to entries that
    /// overlap `since`...`until` when given.
    public static func load(jobUID: String, since: String?, until: String?, in db: Database) throws -> StatusTimeline {
        var entries: [Entry] = []
        let now = Timestamp.now()
        for row in try Row.fetchAll(db, sql: """
            SELECT started_at, ended_at, started_by, status, started_at_source, duration_seconds
            FROM status_intervals WHERE job_uid = ? ORDER BY started_at
            """, arguments: [jobUID]) {
            let status: DatabaseValue = row["status"]
            let event: String = row["started_by"]
            entries.append(Entry(
                at: row["started_at"], until: row["ended_at"], isInterval: true, event: event,
                status: event == "gone" ? nil : Self.text(status),
                durationSeconds: row["duration_seconds"], timeSource: row["started_at_source"],
                note: event == "gone" ? "the server answered 404" : ""))
        }
        // Versions that changed the pipeline config or the regions, against the version before.
        let versions = try Row.fetchAll(db, sql: """
            SELECT s.version, s.observed_at, s.platform_config_id,
                   (SELECT group_concat(rg.title, ', ') FROM document_regions AS dr JOIN regions AS rg ON rg.id = dr.region_id
                     WHERE dr.document_id = s.rest_id ORDER BY dr.position) AS regions
            FROM snapshots AS s WHERE s.job_uid = ? ORDER BY s.version
            """, arguments: [jobUID])
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
        return StatusTimeline(jobUID: jobUID, entries: entries)
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
            let to: ResultTable.Cell = e.isInterval ? .text(e.until.map(time) ?? "now") : .null
            let duration: ResultTable.Cell = e.durationSeconds.map {
                readable ? .text(DurationText.format(seconds: $0)) : .double($0)
            } ?? .null
            let status: ResultTable.Cell = e.event == "gone" ? .text("gone") : e.status.map { .text(labels.label($0)) } ?? .null
            table.rows.append([.text(time(e.at)), to, duration, .text(e.event), status, .text(e.timeSource), .text(e.note)])
        }
        return table
    }
}
