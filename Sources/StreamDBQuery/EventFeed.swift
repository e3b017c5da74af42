import Foundation
import GRDB
import StreamDBModel

/// `streamdb events`: the fleet's change feed, one row per event, oldest first: what an alerting
/// script reads after each cron run.
public struct EventFeed: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A job seen for the first time.
        case firstSeen = "first_seen"
        /// Its status changed.
        case status
        /// Its pipeline config changed.
        case config
        /// Its regions changed.
        case regions
        /// The server answered 404.
        case gone
        /// Served again after a 404.
        case back
        /// The platform replaced the job by another (same camera stream and case type).
        case replaced
    }

    public struct Filter: Sendable {
        public var since: Date?
        public var until: Date?
        /// Only the events of runs after this one (`--since-run N`: runs N+1 on; `--last-run`).
        public var afterRun: Int64?
        /// Only the events of the last run of each source.
        public var lastRun = false
        public var kinds: Set<Kind> = []
        public var region: String?
        public var caseType: String?
        public var source: String?
        /// Only status changes (and first sightings, returns) into this raw status.
        public var status: String?
        /// Only the newest this many (still listed oldest first).
        public var limit: Int?
        public init() {}
    }

    public struct Event: Sendable {
        /// When it happened: the best estimate for status events (see `status_history.changed_at`),
        /// when a sync saw it for the others.
        public let at: Date
        public let jobUID: String
        public let kind: Kind
        /// The status before and after, for status events (and `gone`, `back`).
        public let fromStatus: StatusValue?
        public let toStatus: StatusValue?
        /// For a config event: the paths that changed. For regions: the titles before and after.
        public let paths: [String]
        public let regionsBefore: [String]
        public let regionsAfter: [String]
        /// For a replaced event: the new job.
        public let replacedBy: String?
        public let source: String?
        /// The stream's regions now.
        public let regions: [String]
        public let syncRunID: Int64?
    }

    public let events: [Event]
    /// Whether the database holds more than one source (the rows then name theirs).
    public let severalSources: Bool

    /// How many events `filter` selects (regions events counted as stored, before the check that
    /// their titles differ).
    static func count(_ filter: Filter, in db: Database) throws -> Int {
        let (e, from, arguments) = query(filter)
        return try Int.fetchOne(db, sql: "\(e) SELECT count(*) \(from)", arguments: arguments) ?? 0
    }

    /// The `WITH e AS (...)` of the events `filter` may select, the `FROM ... WHERE` that selects
    /// them, and the arguments of both.
    private static func query(_ filter: Filter) -> (with: String, from: String, arguments: StatementArguments) {
        var conditions = ["1"]
        var arguments: [String: (any DatabaseValueConvertible)?] = [:]
        if let since = filter.since {
            conditions.append("e.at >= :since")
            arguments["since"] = Timestamp.format(since)
        }
        if let until = filter.until {
            conditions.append("e.at <= :until")
            arguments["until"] = Timestamp.format(until)
        }
        if let afterRun = filter.afterRun {
            conditions.append("e.run > :after_run")
            arguments["after_run"] = afterRun
        }
        if filter.lastRun {
            conditions.append("e.run IN (SELECT max(id) FROM sync_runs GROUP BY source_id)")
        }
        if !filter.kinds.isEmpty {
            conditions.append("e.kind IN (\(filter.kinds.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")))")
        }
        if let region = filter.region {
            conditions.append(
                """
                EXISTS (SELECT 1 FROM versions AS cv JOIN document_regions AS dr ON dr.document_id = cv.rest_id
                        JOIN regions AS rg ON rg.id = dr.region_id
                        WHERE cv.stream_id = st.stream_id AND cv.version = st.current_version
                          AND (rg.title = :region OR CAST(rg.id AS TEXT) = :region))
                """)
            arguments["region"] = region
        }
        if let caseType = filter.caseType {
            conditions.append("st.case_type = :case_type")
            arguments["case_type"] = caseType
        }
        if let source = filter.source {
            conditions.append("src.name = :source")
            arguments["source"] = source
        }
        if let status = filter.status {
            conditions.append("e.kind IN ('status', 'first_seen', 'back') AND CAST(e.status AS TEXT) = :status")
            arguments["status"] = status
        }
        // The versions worth reading, by the runs that wrote them (versions_by_run): an event is
        // never later than the version that records it (a status change is dated at or before the
        // sync that saw it), so a window starting at T needs the runs of each source from the last
        // one that started by T (an hour later, against a clock stepped back) on.
        var floors: [String] = []
        if filter.since != nil {
            floors.append(
                """
                v.sync_run_id >= coalesce((SELECT min(id) FROM (SELECT max(id) AS id FROM sync_runs
                    WHERE started_at <= strftime('%Y-%m-%dT%H:%M:%fZ', :since, '+1 hour') GROUP BY source_id)), 0)
                """)
        }
        if filter.afterRun != nil { floors.append("v.sync_run_id > :after_run") }
        if filter.lastRun {
            floors.append("v.sync_run_id >= coalesce((SELECT min(id) FROM (SELECT max(id) AS id FROM sync_runs GROUP BY source_id)), 0)")
        }
        let floor = floors.isEmpty ? "1" : floors.joined(separator: " AND ")
        // Only the sources of the kinds asked for: each is a scan of its own.
        func wanted(_ kinds: Set<Kind>) -> Bool {
            (filter.kinds.isEmpty || !filter.kinds.isDisjoint(with: kinds))
                && (filter.status == nil || !kinds.isDisjoint(with: [.status, .firstSeen, .back]))
        }
        var branches: [String] = []
        if wanted([.status, .firstSeen]) {
            branches.append(
                """
                SELECT v.stream_id, coalesce(v.status_changed_at, v.observed_at) AS at,
                       CASE v.version WHEN 1 THEN 'first_seen' ELSE 'status' END AS kind,
                       v.status, v.previous_status, v.sync_run_id AS run,
                       NULL AS config, NULL AS previous_config, NULL AS rest, NULL AS previous_rest, NULL AS other
                FROM v WHERE v.status_changed_at IS NOT NULL
                """)
        }
        if wanted([.gone, .back]) {
            branches.append(
                """
                SELECT pe.stream_id, pe.changed_at, pe.event, pe.status, pe.previous_status, pe.sync_run_id,
                       NULL, NULL, NULL, NULL, NULL
                FROM presence_events AS pe
                """)
        }
        if wanted([.config]) {
            branches.append(
                """
                SELECT v.stream_id, v.observed_at, 'config', NULL, NULL, v.sync_run_id,
                       v.platform_config_id, v.previous_config, NULL, NULL, NULL
                FROM v WHERE v.version > 1 AND v.platform_config_id IS NOT v.previous_config
                """)
        }
        if wanted([.regions]) {
            branches.append(
                """
                SELECT v.stream_id, v.observed_at, 'regions', NULL, NULL, v.sync_run_id,
                       NULL, NULL, v.rest_id, v.previous_rest, NULL
                FROM v WHERE v.version > 1 AND v.rest_id IS NOT v.previous_rest
                """)
        }
        if wanted([.replaced]) {
            branches.append(
                """
                SELECT r.old_stream_id, r.detected_at, 'replaced', NULL, NULL, r.sync_run_id,
                       NULL, NULL, NULL, NULL, r.new_stream_id
                FROM stream_replacements AS r WHERE r.verdict = 'replaced'
                """)
        }
        if branches.isEmpty {
            branches.append("SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL WHERE 0")
        }
        // The versions of the window are read once, each with the one before it, into `v`; the
        // status, config and regions events are then taken from it (three scans of versions and
        // three lookups of the version before each cost three times as much).
        let versions =
            wanted([.status, .firstSeen, .config, .regions])
            ? """
            v AS MATERIALIZED (
                SELECT v.stream_id, v.version, v.observed_at, v.sync_run_id, v.status, v.status_changed_at,
                       v.platform_config_id, v.rest_id,
                       p.status AS previous_status, p.platform_config_id AS previous_config, p.rest_id AS previous_rest
                FROM versions AS v LEFT JOIN versions AS p ON p.stream_id = v.stream_id AND p.version = v.version - 1
                WHERE \(floor)
            ),

            """ : ""
        let with =
            "WITH \(versions)e (stream_id, at, kind, status, previous_status, run, config, previous_config, rest, previous_rest, other) AS (\n"
            + branches.joined(separator: "\nUNION ALL\n") + "\n)"
        let from = """
            FROM e
            JOIN streams AS st ON st.stream_id = e.stream_id
            LEFT JOIN sources AS src ON src.id = st.source_id
            WHERE \(conditions.joined(separator: " AND "))
            """
        return (with, from, StatementArguments(arguments))
    }

    static func load(_ filter: Filter, in db: Database) throws -> EventFeed {
        let (with, from, arguments) = query(filter)
        // The newest `limit` when asked for, still returned oldest first.
        let order = filter.limit.map { "ORDER BY e.at DESC, st.job_uid DESC LIMIT \($0)" } ?? "ORDER BY e.at, st.job_uid"
        let rows = try Row.fetchCursor(
            db,
            sql: """
                \(with)
                SELECT e.stream_id, e.at, e.kind, e.status, e.previous_status, e.run, st.job_uid, src.name AS source,
                       e.rest, e.previous_rest, e.config, e.previous_config, e.other
                \(from)
                \(order)
                """, arguments: arguments)
        // A stream's regions now, read once per stream (most streams have several events).
        let currentRegions = try db.cachedStatement(
            sql: """
                SELECT group_concat(rg.title, \(listSeparator)) FROM streams AS st
                CROSS JOIN versions AS cv ON cv.stream_id = st.stream_id AND cv.version = st.current_version
                JOIN document_regions AS dr ON dr.document_id = cv.rest_id JOIN regions AS rg ON rg.id = dr.region_id
                WHERE st.stream_id = ?
                """)
        var regionsNow: [Int64: [String]] = [:]
        // What only some kinds need is read for those rows alone, not by a subquery on every row.
        let regionTitles = try db.cachedStatement(
            sql: """
                SELECT group_concat(rg.title, \(listSeparator)) FROM document_regions AS dr
                JOIN regions AS rg ON rg.id = dr.region_id WHERE dr.document_id = ?
                """)
        let documentJSON = try db.cachedStatement(sql: "SELECT json FROM documents WHERE id = ?")
        let streamUID = try db.cachedStatement(sql: "SELECT job_uid FROM streams WHERE stream_id = ?")
        func titles(_ documentID: Int64?) throws -> [String] {
            guard let documentID else { return [] }
            return listItems(try String.fetchOne(regionTitles, arguments: [documentID]))
        }
        func config(_ documentID: Int64?) throws -> JSONValue? {
            guard let documentID else { return nil }
            return try String.fetchOne(documentJSON, arguments: [documentID]).flatMap { try? JSONValue.parse($0) }
        }
        // The columns by index: a million lookups by name cost more than the query.
        let (streamID, at, kind, status, previousStatus, run, jobUID, source) = (0, 1, 2, 3, 4, 5, 6, 7)
        let (rest, previousRest, configID, previousConfigID, other) = (8, 9, 10, 11, 12)
        var events: [Event] = []
        while let row = try rows.next() {
            guard let time = row.date(at: at), let kind = Kind(rawValue: row[kind]) else { continue }
            var (before, after): ([String], [String]) = ([], [])
            if kind == .regions {
                (before, after) = (try titles(row[previousRest]), try titles(row[rest]))
                // A new payload document with the same regions is no regions event.
                if before == after { continue }
            }
            var paths: [String] = []
            if kind == .config, let new = try config(row[configID]) {
                paths = ConfigDiff(old: try config(row[previousConfigID]) ?? .null, new: new).changes.map(\.path)
            }
            let replacedBy: String? = kind == .replaced ? try String.fetchOne(streamUID, arguments: [row[other] as Int64?]) : nil
            let stream: Int64 = row[streamID]
            let regions: [String]
            if let known = regionsNow[stream] {
                regions = known
            } else {
                regions = listItems(try String.fetchOne(currentRegions, arguments: [stream]))
                regionsNow[stream] = regions
            }
            events.append(
                Event(
                    at: time, jobUID: row[jobUID], kind: kind, fromStatus: (row[previousStatus] as DatabaseValue).statusValue,
                    toStatus: (row[status] as DatabaseValue).statusValue, paths: paths, regionsBefore: before, regionsAfter: after,
                    replacedBy: replacedBy, source: row[source], regions: regions, syncRunID: row[run]))
        }
        if filter.limit != nil { events.reverse() }
        return EventFeed(events: events, severalSources: try SourceInfo.several(in: db))
    }
}
