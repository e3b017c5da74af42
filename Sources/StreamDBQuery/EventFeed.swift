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

    /// One event. A class: a report lends each row to nine column closures through generic code,
    /// where a struct of this many strings and arrays is copied (and every field retained) per
    /// call.
    public final class Event: Sendable {
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

        init(_ event: Pending, regions: [String]) {
            (at, jobUID, kind, fromStatus, toStatus) = (event.at, event.jobUID, event.kind, event.fromStatus, event.toStatus)
            (paths, regionsBefore, regionsAfter, replacedBy) = (event.paths, event.regionsBefore, event.regionsAfter, event.replacedBy)
            (source, syncRunID) = (event.source, event.syncRunID)
            self.regions = regions
        }
    }

    /// An event as read, before the regions of its stream now are known.
    struct Pending {
        let at: Date
        let jobUID: String
        let kind: Kind
        let fromStatus: StatusValue?
        let toStatus: StatusValue?
        let paths: [String]
        let regionsBefore: [String]
        let regionsAfter: [String]
        let replacedBy: String?
        let source: String?
        let syncRunID: Int64?
    }

    public let events: [Event]
    /// Whether the database holds more than one source (the rows then name theirs).
    public let severalSources: Bool

    /// How many events `filter` selects (regions events counted as stored, before the check that
    /// their titles differ).
    static func count(_ filter: Filter, in db: Database) throws -> Int {
        let (with, select, arguments) = query(filter)
        return try Int.fetchOne(db, sql: "\(with)\nSELECT count(*) FROM (\(select))", arguments: arguments) ?? 0
    }

    /// The `WITH e0 AS (...), e1 ...` of the events `filter` may select (one per kind of source),
    /// the `SELECT ...` of them, and the arguments of both. `at` is in microseconds, as
    /// status_spans keeps it.
    private static func query(_ filter: Filter) -> (with: String, select: String, arguments: StatementArguments) {
        var conditions = ["1"]
        var arguments: [String: (any DatabaseValueConvertible)?] = [:]
        if let since = filter.since {
            conditions.append("e.at >= :since")
            arguments["since"] = Uptime.microseconds(since)
        }
        if let until = filter.until {
            conditions.append("e.at <= :until")
            arguments["until"] = Uptime.microseconds(until)
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
                EXISTS (SELECT 1 FROM document_regions AS dr JOIN regions AS rg ON rg.id = dr.region_id
                        WHERE dr.document_id = st.current_rest_id
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
        // The runs worth reading, through the run indexes of migrations 0007 and 0008. An event is
        // never later than the observation that records it, and a run observes only until the next
        // run of its source starts (one sync at a time), so a window starting at T needs, of each
        // source, the last run that started by T and the runs after it; an hour earlier, against a
        // clock stepped back. A source with no run that old needs all of its runs.
        var floors: [String] = []
        if let since = filter.since {
            floors.append(
                """
                >= coalesce((SELECT min(floor) FROM (
                    SELECT coalesce(max(CASE WHEN started_at <= :oldest_run_start THEN id END), min(id)) AS floor
                    FROM sync_runs GROUP BY source_id)), 0)
                """)
            arguments["oldest_run_start"] = Timestamp.format(since.addingTimeInterval(-3600))
        }
        if filter.afterRun != nil { floors.append("> :after_run") }
        if filter.lastRun {
            floors.append(">= coalesce((SELECT min(id) FROM (SELECT max(id) AS id FROM sync_runs GROUP BY source_id)), 0)")
        }
        func floor(_ column: String) -> String {
            floors.isEmpty ? "1" : floors.map { "\(column) \($0)" }.joined(separator: " AND ")
        }
        // Only the sources of the kinds asked for: each is a scan of its own.
        func wanted(_ kinds: Set<Kind>) -> Bool {
            (filter.kinds.isEmpty || !filter.kinds.isDisjoint(with: kinds))
                && (filter.status == nil || !kinds.isDisjoint(with: [.status, .firstSeen, .back]))
        }
        var branches: [String] = []
        if wanted([.status, .firstSeen]) {
            // A span carries its event's time in microseconds and the status before (0008).
            branches.append(
                """
                SELECT s.stream_id, s.started_us AS at, CASE s.started_by WHEN 'first_seen' THEN 'first_seen' ELSE 'status' END AS kind,
                       s.status, s.previous_status, s.sync_run_id AS run,
                       NULL AS config, NULL AS previous_config, NULL AS rest, NULL AS previous_rest, NULL AS other
                FROM status_spans AS s WHERE s.started_by IN ('first_seen', 'changed') AND \(floor("s.sync_run_id"))
                """)
        }
        if wanted([.gone, .back]) {
            branches.append(
                """
                SELECT pe.stream_id, \(microseconds("pe.changed_at")), pe.event, pe.status, pe.previous_status, pe.sync_run_id,
                       NULL, NULL, NULL, NULL, NULL
                FROM presence_events AS pe WHERE \(floor("pe.sync_run_id"))
                """)
        }
        if wanted([.config]) {
            branches.append(
                """
                SELECT d.stream_id, \(microseconds("d.observed_at")), 'config', NULL, NULL, d.sync_run_id,
                       d.platform_config_id, d.previous_config_id, NULL, NULL, NULL
                FROM document_changes AS d WHERE d.platform_config_id IS NOT d.previous_config_id AND \(floor("d.sync_run_id"))
                """)
        }
        if wanted([.regions]) {
            branches.append(
                """
                SELECT d.stream_id, \(microseconds("d.observed_at")), 'regions', NULL, NULL, d.sync_run_id,
                       NULL, NULL, d.rest_id, d.previous_rest_id, NULL
                FROM document_changes AS d WHERE d.rest_id IS NOT d.previous_rest_id AND \(floor("d.sync_run_id"))
                """)
        }
        if wanted([.replaced]) {
            branches.append(
                """
                SELECT r.old_stream_id, \(microseconds("r.detected_at")), 'replaced', NULL, NULL, r.sync_run_id,
                       NULL, NULL, NULL, NULL, r.new_stream_id
                FROM stream_replacements AS r WHERE r.verdict = 'replaced' AND \(floor("r.sync_run_id"))
                """)
        }
        if branches.isEmpty {
            branches.append("SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL WHERE 0")
        }
        // Each kind's rows are joined to their streams on their own: a join over the union of all
        // would first copy the union into a temporary table.
        let columns = "stream_id, at, kind, status, previous_status, run, config, previous_config, rest, previous_rest, other"
        let with = "WITH " + branches.indices.map { "e\($0) (\(columns)) AS (\n\(branches[$0])\n)" }.joined(separator: ",\n")
        let select = branches.indices.map { index in
            """
            SELECT e.stream_id, e.at, e.kind, e.status, e.previous_status, e.run, st.job_uid, src.name AS source,
                   e.rest, e.previous_rest, e.config, e.previous_config, e.other
            FROM e\(index) AS e
            JOIN streams AS st ON st.stream_id = e.stream_id
            LEFT JOIN sources AS src ON src.id = st.source_id
            WHERE \(conditions.joined(separator: " AND "))
            """
        }.joined(separator: "\nUNION ALL\n")
        return (with, select, StatementArguments(arguments))
    }

    /// A database time as microseconds, as status_spans keeps them (migration 0007's rule: exact
    /// for the form streamdb writes, to the millisecond for any other).
    private static func microseconds(_ column: String) -> String {
        """
        CASE WHEN length(\(column)) = 27 AND substr(\(column), 20, 1) = '.'
             THEN unixepoch(\(column)) * 1000000 + CAST(substr(\(column), 21, 6) AS INTEGER)
             ELSE CAST(round((julianday(\(column)) - 2440587.5) * 86400000000.0) AS INTEGER) END
        """
    }

    static func load(_ filter: Filter, in db: Database) throws -> EventFeed {
        let (with, select, arguments) = query(filter)
        // The newest `limit` when asked for, still returned oldest first. Without a limit the rows
        // are sorted here: SQLite's sorter spent a third of the query on the uids' text.
        let rows = try Row.fetchCursor(
            db,
            sql: filter.limit.map { "\(with)\nSELECT * FROM (\(select)) ORDER BY at DESC, job_uid DESC LIMIT \($0)" }
                ?? "\(with)\n\(select)",
            arguments: arguments)
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
        var events: [Pending] = []
        var streams: [Int64] = []
        var uids: [Int64: String] = [:]
        while let row = try rows.next() {
            guard let micros = row[at] as Int64?, let kind = Kind(rawValue: row[kind]) else { continue }
            let time = Date(timeIntervalSince1970: Uptime.seconds(micros))
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
            streams.append(stream)
            // A stream's uid is read once: most streams have several events.
            let uid: String
            if let known = uids[stream] {
                uid = known
            } else {
                uid = row[jobUID]
                uids[stream] = uid
            }
            events.append(
                Pending(
                    at: time, jobUID: uid, kind: kind, fromStatus: (row[previousStatus] as DatabaseValue).statusValue,
                    toStatus: (row[status] as DatabaseValue).statusValue, paths: paths, regionsBefore: before, regionsAfter: after,
                    replacedBy: replacedBy, source: row[source], syncRunID: row[run]))
        }
        // Each stream's regions now, in one query for all of them (most streams have several
        // events; a lookup per stream cost a third of the command on a day of 10,000 streams).
        var regionsNow: [Int64: [String]] = [:]
        let regionRows = try Row.fetchCursor(
            db,
            sql: """
                SELECT st.stream_id, group_concat(rg.title, \(listSeparator)) FROM streams AS st
                JOIN document_regions AS dr ON dr.document_id = st.current_rest_id JOIN regions AS rg ON rg.id = dr.region_id
                WHERE st.stream_id IN (SELECT value FROM json_each(?))
                GROUP BY st.stream_id
                """, arguments: ["[" + Set(streams).map(String.init).joined(separator: ",") + "]"])
        while let row = try regionRows.next() {
            regionsNow[row[0]] = listItems(row[1] as String?)
        }
        let order: [Int]
        if filter.limit != nil {
            order = events.indices.reversed()
        } else {
            // Oldest first, ties by uid as SQLite orders text (byte by byte), and otherwise in the
            // order read (stable). By keys, not by comparing the events.
            // Each stream's uid is ranked once; the events are then sorted by plain numbers
            // (comparing strings retained both at each of the half a million comparisons).
            var rank: [Int64: Int] = [:]
            rank.reserveCapacity(uids.count)
            if uids.count > 512 {
                // Many streams: their order by uid read from the uid index (SQLite's text order,
                // byte by byte), every stream's, which is cheaper than sorting the strings here.
                let ordered = try Int64.fetchCursor(db, sql: "SELECT stream_id FROM streams ORDER BY job_uid")
                var position = 0
                while let stream = try ordered.next() {
                    if uids[stream] != nil { rank[stream] = position }
                    position += 1
                }
            } else {
                for (position, entry) in uids.sorted(by: { $0.value.utf8Precedes($1.value) }).enumerated() {
                    rank[entry.key] = position
                }
            }
            var keys: [(Double, Int, Int)] = []
            keys.reserveCapacity(events.count)
            for index in events.indices {
                keys.append((events[index].at.timeIntervalSinceReferenceDate, rank[streams[index]] ?? 0, index))
            }
            keys.sort { $0 < $1 }
            order = keys.map(\.2)
        }
        let feed = order.map { Event(events[$0], regions: regionsNow[streams[$0]] ?? []) }
        return EventFeed(events: feed, severalSources: try SourceInfo.several(in: db))
    }
}
