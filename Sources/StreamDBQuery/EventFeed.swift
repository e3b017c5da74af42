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

    static func load(_ filter: Filter, in db: Database) throws -> EventFeed {
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
        // The versions worth reading: an event is never later than the version that records it
        // (a status change is dated at or before the sync that saw it), so a window's start, or the
        // start of the first run asked for (an hour earlier, against a clock stepped back), bounds
        // `observed_at`, which versions_by_time indexes.
        var floors: [String] = []
        if filter.since != nil { floors.append(":since") }
        if filter.afterRun != nil {
            floors.append("(SELECT strftime('%Y-%m-%dT%H:%M:%fZ', min(started_at), '-1 hour') FROM sync_runs WHERE id > :after_run)")
        }
        if filter.lastRun {
            floors.append(
                "(SELECT strftime('%Y-%m-%dT%H:%M:%fZ', min(started_at), '-1 hour') FROM sync_runs WHERE id IN (SELECT max(id) FROM sync_runs GROUP BY source_id))"
            )
        }
        let floor = floors.isEmpty ? "1" : floors.map { "v.observed_at >= coalesce(\($0), '9999')" }.joined(separator: " AND ")
        let rows = try Row.fetchAll(
            db,
            sql: """
                WITH e AS (
                    SELECT v.stream_id, coalesce(v.status_changed_at, v.observed_at) AS at,
                           CASE v.version WHEN 1 THEN 'first_seen' ELSE 'status' END AS kind,
                           v.status, p.status AS previous_status, v.sync_run_id AS run,
                           NULL AS config, NULL AS previous_config, NULL AS rest, NULL AS previous_rest, NULL AS other
                    FROM versions AS v LEFT JOIN versions AS p ON p.stream_id = v.stream_id AND p.version = v.version - 1
                    WHERE v.status_changed_at IS NOT NULL AND \(floor)
                    UNION ALL
                    SELECT pe.stream_id, pe.changed_at, pe.event, pe.status, pe.previous_status, pe.sync_run_id,
                           NULL, NULL, NULL, NULL, NULL
                    FROM presence_events AS pe
                    UNION ALL
                    SELECT v.stream_id, v.observed_at, 'config', NULL, NULL, v.sync_run_id,
                           v.platform_config_id, p.platform_config_id, NULL, NULL, NULL
                    FROM versions AS v JOIN versions AS p ON p.stream_id = v.stream_id AND p.version = v.version - 1
                    WHERE v.platform_config_id IS NOT p.platform_config_id AND \(floor)
                    UNION ALL
                    SELECT v.stream_id, v.observed_at, 'regions', NULL, NULL, v.sync_run_id,
                           NULL, NULL, v.rest_id, p.rest_id, NULL
                    FROM versions AS v JOIN versions AS p ON p.stream_id = v.stream_id AND p.version = v.version - 1
                    WHERE v.rest_id IS NOT p.rest_id AND \(floor)
                    UNION ALL
                    SELECT r.old_stream_id, r.detected_at, 'replaced', NULL, NULL, r.sync_run_id,
                           NULL, NULL, NULL, NULL, r.new_stream_id
                    FROM stream_replacements AS r WHERE r.verdict = 'replaced'
                )
                SELECT e.*, st.job_uid, src.name AS source,
                       (SELECT group_concat(rg.title, \(listSeparator)) FROM versions AS cv
                          JOIN document_regions AS dr ON dr.document_id = cv.rest_id JOIN regions AS rg ON rg.id = dr.region_id
                         WHERE cv.stream_id = st.stream_id AND cv.version = st.current_version) AS current_regions,
                       (SELECT group_concat(rg.title, \(listSeparator)) FROM document_regions AS dr
                          JOIN regions AS rg ON rg.id = dr.region_id WHERE dr.document_id = e.rest) AS regions_after,
                       (SELECT group_concat(rg.title, \(listSeparator)) FROM document_regions AS dr
                          JOIN regions AS rg ON rg.id = dr.region_id WHERE dr.document_id = e.previous_rest) AS regions_before,
                       (SELECT json FROM documents WHERE id = e.config) AS config_json,
                       (SELECT json FROM documents WHERE id = e.previous_config) AS previous_config_json,
                       (SELECT job_uid FROM streams WHERE stream_id = e.other) AS replaced_by
                FROM e
                JOIN streams AS st ON st.stream_id = e.stream_id
                LEFT JOIN sources AS src ON src.id = st.source_id
                WHERE \(conditions.joined(separator: " AND "))
                ORDER BY e.at, st.job_uid
                """, arguments: StatementArguments(arguments))
        var events: [Event] = []
        for row in rows {
            guard let at = row.date("at"), let kind = Kind(rawValue: row["kind"]) else { continue }
            let before = row.list("regions_before")
            let after = row.list("regions_after")
            // A new payload document with the same regions is no regions event.
            if kind == .regions, before == after { continue }
            var paths: [String] = []
            if kind == .config, let new = (row["config_json"] as String?).flatMap({ try? JSONValue.parse($0) }) {
                let old = (row["previous_config_json"] as String?).flatMap { try? JSONValue.parse($0) } ?? .null
                paths = ConfigDiff(old: old, new: new).changes.map(\.path)
            }
            events.append(
                Event(
                    at: at, jobUID: row["job_uid"], kind: kind, fromStatus: (row["previous_status"] as DatabaseValue).statusValue,
                    toStatus: (row["status"] as DatabaseValue).statusValue, paths: paths, regionsBefore: before, regionsAfter: after,
                    replacedBy: row["replaced_by"], source: row["source"], regions: row.list("current_regions"),
                    syncRunID: row["run"]))
        }
        return EventFeed(events: events, severalSources: try SourceInfo.several(in: db))
    }
}
