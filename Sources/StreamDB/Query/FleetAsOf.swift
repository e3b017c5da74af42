import Foundation
import GRDB

/// The fleet as the mirror knew it at a moment: the streams that existed then, each with the
/// version (status, config, regions) it had then. Without a moment, the fleet now.
///
/// "Knew" is by `observed_at`: a change enters the picture when a sync saw it.
enum FleetAsOf {
    /// A `SELECT` of `job_uid, version, rest_id, platform_config_id, status, observed_at, gone`
    /// over every stream seen by `:as_of`, where `gone` is 1 for streams gone at that moment.
    static let sql = """
        SELECT st.job_uid, v.version, v.rest_id, v.platform_config_id, v.status, v.observed_at,
               coalesce((SELECT e.event = 'gone' FROM presence_events AS e
                          WHERE e.stream_id = st.stream_id AND e.observed_at <= :as_of
                          ORDER BY e.observed_at DESC, e.id DESC LIMIT 1), 0) AS gone
        FROM streams AS st
        JOIN versions AS v ON v.stream_id = st.stream_id
         AND v.version = (SELECT x.version FROM versions AS x
                          WHERE x.stream_id = st.stream_id AND x.observed_at <= :as_of
                          ORDER BY x.observed_at DESC, x.version DESC LIMIT 1)
        WHERE st.first_seen_at <= :as_of
        """

    /// `asOf`, or a time after everything stored.
    static func moment(_ asOf: String?) -> String { asOf ?? "9999-12-31T23:59:59Z" }
}

/// `streamdb streams`: the streams, one row each, filtered, now or as of a moment.
public enum StreamList {
    public struct Filter: Sendable {
        public var region: String?
        public var status: String?
        public var caseType: String?
        /// List gone streams instead of present ones.
        public var gone = false
        public var asOf: String?
        public init() {}
    }

    public static func load(_ filter: Filter, labels: StatusLabels, readable: Bool, zone: TimeZone? = nil, in db: Database) throws -> ResultTable {
        var conditions = ["f.gone = :gone"]
        var arguments: [String: (any DatabaseValueConvertible)?] = ["as_of": FleetAsOf.moment(filter.asOf), "gone": filter.gone]
        if let region = filter.region {
            conditions.append("""
                EXISTS (SELECT 1 FROM document_regions AS dr JOIN regions AS rg ON rg.id = dr.region_id
                        WHERE dr.document_id = f.rest_id AND (rg.title = :region OR CAST(rg.id AS TEXT) = :region))
                """)
            arguments["region"] = region
        }
        if let status = filter.status {
            // The raw value, or a name from the labels file.
            let raw = labels.names.first { $0.value.caseInsensitiveCompare(status) == .orderedSame }?.key ?? status
            conditions.append("CAST(f.status AS TEXT) = :status")
            arguments["status"] = raw
        }
        if let caseType = filter.caseType {
            conditions.append("ct.case_type = :case_type")
            arguments["case_type"] = caseType
        }
        let rows = try Row.fetchAll(db, sql: """
            SELECT f.job_uid, f.status, ct.case_type,
                   (SELECT group_concat(rg.title, ', ') FROM document_regions AS dr JOIN regions AS rg ON rg.id = dr.region_id
                     WHERE dr.document_id = f.rest_id) AS regions,
                   f.version, st.first_seen_at, st.last_seen_at, st.gone_at
            FROM (\(FleetAsOf.sql)) AS f
            JOIN streams AS st ON st.job_uid = f.job_uid
            LEFT JOIN config_case_types AS ct ON ct.document_id = f.platform_config_id
            WHERE \(conditions.joined(separator: " AND "))
            ORDER BY f.job_uid
            """, arguments: StatementArguments(arguments))
        var table = ResultTable(columns: ["job_uid", "status", "case_type", "regions", "version", "first_seen_at", "last_seen_at", "gone_at"])
        let time = { (t: String?) -> ResultTable.Cell in
            guard let t else { return .null }
            return .text(readable ? DurationText.readable(t, zone: zone) : t)
        }
        for row in rows {
            let status = StatusTimeline.text(row["status"]).map { ResultTable.Cell.text(labels.label($0)) } ?? .null
            table.rows.append([
                .text(row["job_uid"]), status, (row["case_type"] as String?).map(ResultTable.Cell.text) ?? .null,
                (row["regions"] as String?).map(ResultTable.Cell.text) ?? .null, .int(row["version"]),
                time(row["first_seen_at"]), time(row["last_seen_at"]), time(row["gone_at"]),
            ])
        }
        return table
    }
}
