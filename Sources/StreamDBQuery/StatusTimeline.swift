import Foundation
import GRDB
import StreamDBModel

/// `streamdb history`: one stream's status intervals, with its config versions, region moves and
/// disappearances interleaved in time order.
public struct StatusTimeline: Sendable {
    /// What an entry records.
    public enum Event: String, Sendable {
        /// The first status a sync saw.
        case firstSeen = "first_seen"
        /// The status changed.
        case changed
        /// The server answered 404: an interval with no status.
        case gone
        /// Served again after a 404.
        case back
        /// A version changed the pipeline config (a point event).
        case config
        /// A version changed the regions (a point event).
        case regions
        /// The platform replaced the job by another (a point event, in a followed chain).
        case replaced
    }

    /// Where a change time comes from.
    public enum TimeSource: String, Sendable {
        /// The payload's `updated_at`, when it fell between the two syncs.
        case server
        /// The time the sync saw it.
        case sync
    }

    public struct Entry: Sendable {
        /// When it started (status) or happened (other events).
        public let at: Date
        /// When a status interval ended; nil for the current one and for point events.
        public let until: Date?
        public let isInterval: Bool
        public let event: Event
        /// The raw status; nil for gone and for point events.
        public let status: StatusValue?
        public let durationSeconds: Double?
        public let timeSource: TimeSource
        /// The version a config or regions event came with.
        public let version: Int64?
        /// For a regions event: the titles before and after.
        public let regionsBefore: [String]
        public let regionsAfter: [String]
        /// In a followed chain: the job this entry belongs to.
        public var jobUID: String?
        /// For a replaced event: the job that replaced it.
        public var replacedBy: String?

        public init(
            at: Date, until: Date?, isInterval: Bool, event: Event, status: StatusValue?, durationSeconds: Double?,
            timeSource: TimeSource, version: Int64? = nil, regionsBefore: [String] = [], regionsAfter: [String] = []
        ) {
            self.at = at
            self.until = until
            self.isInterval = isInterval
            self.event = event
            self.status = status
            self.durationSeconds = durationSeconds
            self.timeSource = timeSource
            self.version = version
            self.regionsBefore = regionsBefore
            self.regionsAfter = regionsAfter
        }
    }

    public let jobUID: String
    public let entries: [Entry]
    /// The time the timeline was reconstructed for (`--as-of`); nil for now.
    public let asOf: Date?
    /// When a sync first saw the stream.
    public let firstSeenAt: Date?

    public init(jobUID: String, entries: [Entry], asOf: Date? = nil, firstSeenAt: Date? = nil) {
        self.jobUID = jobUID
        self.entries = entries
        self.asOf = asOf
        self.firstSeenAt = firstSeenAt
    }

    /// Reads the timeline of `jobUID` (a full uid), limited to entries that overlap
    /// `since`...`until` when given.
    ///
    /// - Parameter asOf: the timeline as the mirror knew it at this time: only what a sync had
    ///   observed by then, and the status current then runs until `asOf` instead of now.
    static func load(jobUID: String, since: Date?, until: Date?, asOf: Date?, in db: Database) throws -> StatusTimeline {
        let now = asOf ?? Date()
        var entries = try intervals(jobUID: jobUID, asOf: asOf, now: now, in: db)
        if let asOf, entries.isEmpty {
            throw QueryError("\(jobUID) was not yet seen at \(Timestamp.format(asOf)).")
        }
        entries += try versionEvents(jobUID: jobUID, asOf: asOf, in: db)
        entries = entries.filter { entry in
            let end = entry.until ?? (entry.isInterval ? now : entry.at)
            if let since, end < since { return false }
            if let until, entry.at > until { return false }
            return true
        }
        entries.sort { ($0.at, $0.isInterval ? 0 : 1) < ($1.at, $1.isInterval ? 0 : 1) }
        let firstSeen = try String.fetchOne(db, sql: "SELECT first_seen_at FROM streams WHERE job_uid = ?", arguments: [jobUID])
        return StatusTimeline(jobUID: jobUID, entries: entries, asOf: asOf, firstSeenAt: firstSeen.flatMap(Timestamp.parse))
    }

    /// The rows of the status_intervals view, limited to what was observed by `asOf`.
    private static func intervals(jobUID: String, asOf: Date?, now: Date, in db: Database) throws -> [Entry] {
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT changed_at AS started_at, event AS started_by, status, changed_at_source AS started_at_source,
                       lead(changed_at) OVER (ORDER BY changed_at, observed_at) AS ended_at
                FROM status_history WHERE job_uid = ? AND (?2 IS NULL OR observed_at <= ?2)
                ORDER BY changed_at, observed_at
                """, arguments: [jobUID, asOf.map(Timestamp.format)])
        return rows.compactMap { row in
            guard let started = row.date("started_at"), let event = Event(rawValue: row["started_by"]) else { return nil }
            let ended = row.date("ended_at")
            let duration = ((ended ?? now).timeIntervalSince(started) * 1000).rounded() / 1000
            return Entry(
                at: started, until: ended, isInterval: true, event: event,
                status: event == .gone ? nil : (row["status"] as DatabaseValue).statusValue,
                durationSeconds: duration, timeSource: TimeSource(rawValue: row["started_at_source"]) ?? .sync,
                version: nil, regionsBefore: [], regionsAfter: [])
        }
    }

    /// Versions that changed the pipeline config or the regions, against the version before.
    private static func versionEvents(jobUID: String, asOf: Date?, in db: Database) throws -> [Entry] {
        let versions = try Row.fetchAll(
            db,
            sql: """
                SELECT s.version, s.observed_at, s.platform_config_id,
                       (SELECT group_concat(rg.title, \(listSeparator)) FROM document_regions AS dr
                          JOIN regions AS rg ON rg.id = dr.region_id
                         WHERE dr.document_id = s.rest_id ORDER BY dr.position) AS regions
                FROM versions AS s WHERE s.stream_id = (SELECT stream_id FROM streams WHERE job_uid = ?2)
                  AND (?1 IS NULL OR s.observed_at <= ?1) ORDER BY s.version
                """, arguments: [asOf.map(Timestamp.format), jobUID])
        var entries: [Entry] = []
        for (previous, current) in zip(versions, versions.dropFirst()) {
            let version: Int64 = current["version"]
            guard let at = current.date("observed_at") else { continue }
            func point(_ event: Event, before: [String] = [], after: [String] = []) -> Entry {
                Entry(
                    at: at, until: nil, isInterval: false, event: event, status: nil, durationSeconds: nil,
                    timeSource: .sync, version: version, regionsBefore: before, regionsAfter: after)
            }
            if (previous["platform_config_id"] as Int64?) != (current["platform_config_id"] as Int64?) {
                entries.append(point(.config))
            }
            let before = previous.list("regions")
            let after = current.list("regions")
            if before != after {
                entries.append(point(.regions, before: before, after: after))
            }
        }
        return entries
    }
}
