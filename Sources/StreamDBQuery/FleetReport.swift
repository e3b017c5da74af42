import Foundation
import GRDB
import StreamDBModel

/// What `streamdb report --html` shows, read in one snapshot: the window, the sources and when
/// each last synced successfully, per region the streams by status now and the availability over
/// the window (``Uptime``, the same figures as `streamdb uptime --by region`), the streams to look
/// at first (flapping ones, then the least available) with their status timelines, and the config
/// changes of the window.
public struct FleetReport: Sendable {
    public struct Filter: Sendable {
        public var since: Date
        public var until: Date
        public var region: String?
        public var source: String?
        public var caseType: String?
        /// The raw statuses that count as up.
        public var up: Set<String>
        public var flapRule = Flapping.Rule()
        /// Timelines drawn at most; the page says how many were left out.
        public var timelines = 40
        /// Config changes listed at most.
        public var configChanges = 200

        public init(since: Date, until: Date, up: Set<String>) {
            self.since = since
            self.until = until
            self.up = up
        }
    }

    public struct Source: Sendable {
        public let name: String
        public let baseURL: String
        public let lastSuccessAt: Date?
        public let lastRunAt: Date?
        public let lastOutcome: String?
    }

    public struct Region: Sendable {
        public let name: String
        /// Streams present now, by status.
        public let byStatus: [(status: StatusValue?, count: Int)]
        public let streams: Int
        /// Over the window; nil when the region's streams were not observed in it.
        public let uptime: Uptime.Row?
    }

    /// One stream drawn as a timeline.
    public struct Stream: Sendable {
        public let jobUID: String
        public let caseType: String?
        public let regions: [String]
        public let source: String?
        public let uptime: Uptime.Row
        /// Its entries that overlap the window (status intervals and point events).
        public let timeline: StatusTimeline
        /// When the platform replaced it in the window, and by which job.
        public let replacedAt: Date?
        public let replacedBy: String?
    }

    public let filter: Filter
    /// When the report was read.
    public let generatedAt: Date
    public let sources: [Source]
    public let regions: [Region]
    /// Flapping streams first, then by availability, lowest first.
    public let streams: [Stream]
    /// Streams observed in the window that matched the filter.
    public let streamsInWindow: Int
    /// Streams that flapped in the window.
    public let flappingStreams: Int
    /// The config changes of the window, newest first, at most `filter.configChanges`.
    public let configChanges: [EventFeed.Event]
    public let configChangesInWindow: Int

    /// - Throws: ``QueryError`` when the region, source or case type asked for is not in the history.
    static func load(_ filter: Filter, in db: Database) throws -> FleetReport {
        if let why = try StreamList.unknown(region: filter.region, source: filter.source, caseType: filter.caseType, in: db) {
            throw QueryError(why.prefix(1).uppercased() + why.dropFirst() + " No page was written.")
        }
        let generatedAt = Date()
        // The streams the filter keeps: by their current region, case type and source.
        var list = StreamList.Filter()
        list.region = filter.region
        list.caseType = filter.caseType
        list.source = filter.source
        let present = try StreamList.load(list, in: db).rows
        list.gone = true
        let gone = try StreamList.load(list, in: db).rows
        let kept = Dictionary((present + gone).map { ($0.jobUID, $0) }, uniquingKeysWith: { a, _ in a })

        let everyStream = try Uptime.load(
            since: filter.since, until: filter.until, up: filter.up, by: nil, source: filter.source, flapRule: filter.flapRule, in: db)
        let uptime = everyStream.filtered { kept[$0.key] != nil }
        let byRegion = try everyStream.grouped(by: .region, in: db)
        let regionUptime = Dictionary(byRegion.rows.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        let regions = try RegionReport.load(asOf: nil, source: filter.source, in: db).rows
            .filter { filter.region == nil || $0.region == filter.region }
            .map { Region(name: $0.region, byStatus: $0.byStatus, streams: $0.streams, uptime: regionUptime[$0.region]) }

        var replacements = EventFeed.Filter()
        replacements.since = filter.since
        replacements.until = filter.until
        replacements.kinds = [.replaced]
        replacements.source = filter.source
        let replaced = Dictionary(
            try EventFeed.load(replacements, in: db).events.map { ($0.jobUID, $0) }, uniquingKeysWith: { a, _ in a })

        let chosen = uptime.rows.sorted { a, b in
            if a.flapping != b.flapping { return a.flapping }
            return (a.availability ?? 2, a.key) < (b.availability ?? 2, b.key)
        }.prefix(filter.timelines)
        let streams = try chosen.map { row in
            let info = kept[row.key]
            return Stream(
                jobUID: row.key, caseType: info?.caseType, regions: info?.regions ?? [], source: info?.source, uptime: row,
                timeline: try StatusTimeline.load(jobUID: row.key, since: filter.since, until: filter.until, asOf: nil, in: db),
                replacedAt: replaced[row.key]?.at, replacedBy: replaced[row.key]?.replacedBy)
        }

        var changes = EventFeed.Filter()
        changes.since = filter.since
        changes.until = filter.until
        changes.kinds = [.config]
        changes.region = filter.region
        changes.caseType = filter.caseType
        changes.source = filter.source
        let configChangesInWindow = try EventFeed.count(changes, in: db)
        changes.limit = filter.configChanges
        let configChanges = try EventFeed.load(changes, in: db).events

        let health = try SyncHealth.load(sources: filter.source.map { [$0] }, in: db)
        let infos = try Row.fetchAll(db, sql: "SELECT name, base_url FROM sources")
        let urls = Dictionary(infos.map { ($0["name"] as String, $0["base_url"] as String) }, uniquingKeysWith: { a, _ in a })
        let sources = health.sources.map { source in
            Source(
                name: source.name, baseURL: urls[source.name] ?? "", lastSuccessAt: source.lastSuccessAt,
                lastRunAt: source.lastRun?.startedAt, lastOutcome: source.lastRun?.outcome?.rawValue)
        }
        return FleetReport(
            filter: filter, generatedAt: generatedAt, sources: sources, regions: regions, streams: streams,
            streamsInWindow: uptime.rows.count, flappingStreams: uptime.rows.filter(\.flapping).count,
            configChanges: configChanges.reversed(), configChangesInWindow: configChangesInWindow)
    }
}
