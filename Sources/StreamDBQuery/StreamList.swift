import Foundation
import GRDB
import StreamDBModel

/// `streamdb streams`: the streams, one row each, filtered, now or as of a moment.
public struct StreamList: Sendable {
    public struct Filter: Sendable {
        public var region: String?
        /// The raw status as stored (`11`, `WORKING`); a name from the labels is turned into its
        /// raw value by the caller.
        public var status: String?
        public var caseType: String?
        /// List gone streams instead of present ones.
        public var gone = false
        public var asOf: Date?
        /// Only the streams of this source (its name).
        public var source: String?
        /// Only the jobs of this camera stream (every job_uid the platform gave it).
        public var streamUID: String?
        public var sort = Sort.jobUID
        /// At most this many rows, after sorting.
        public var limit: Int?
        public init() {}
    }

    /// The order of the rows; times and versions newest or highest first, names ascending.
    public enum Sort: String, Sendable, CaseIterable {
        case jobUID = "job_uid"
        case status
        case caseType = "case_type"
        case version
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
        case gone

        var orderBy: String {
            switch self {
            case .jobUID: return "f.job_uid"
            case .status: return "CAST(f.status AS TEXT), f.job_uid"
            case .caseType: return "ct.case_type, f.job_uid"
            case .version: return "f.version DESC, f.job_uid"
            case .firstSeen: return "st.first_seen_at DESC, f.job_uid"
            case .lastSeen: return "st.last_seen_at DESC, f.job_uid"
            case .gone: return "st.gone_at DESC, f.job_uid"
            }
        }
    }

    /// One stream as the filter's moment saw it.
    public struct Row: Sendable {
        public let jobUID: String
        public let status: StatusValue?
        public let caseType: String?
        public let regions: [String]
        public let version: Int64
        public let firstSeenAt: Date?
        public let lastSeenAt: Date?
        public let goneAt: Date?
        /// The name of the stream's source.
        public let source: String?
    }

    public let rows: [Row]
    /// When no stream matched because of a filter value, why (see ``whyEmpty(_:in:)``).
    public let emptyBecause: String?
    /// Whether the database holds more than one source (the rows then name theirs).
    public let severalSources: Bool

    static func load(_ filter: Filter, in db: Database) throws -> StreamList {
        // A camera stream's jobs are listed whether present or gone: its whole lineage.
        var conditions = [filter.streamUID == nil ? "f.gone = :gone" : "1"]
        var arguments: [String: (any DatabaseValueConvertible)?] = [
            "as_of": FleetAsOf.moment(filter.asOf), "gone": filter.gone, "limit": filter.limit ?? -1,
        ]
        if let region = filter.region {
            conditions.append(
                """
                EXISTS (SELECT 1 FROM document_regions AS dr JOIN regions AS rg ON rg.id = dr.region_id
                        WHERE dr.document_id = f.rest_id AND (rg.title = :region OR CAST(rg.id AS TEXT) = :region))
                """)
            arguments["region"] = region
        }
        if let status = filter.status {
            conditions.append("CAST(f.status AS TEXT) = :status")
            arguments["status"] = status
        }
        if let caseType = filter.caseType {
            conditions.append("ct.case_type = :case_type")
            arguments["case_type"] = caseType
        }
        if let source = filter.source {
            conditions.append("src.name = :source")
            arguments["source"] = source
        }
        if let streamUID = filter.streamUID {
            conditions.append("st.stream_uid = :stream_uid")
            arguments["stream_uid"] = streamUID.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        }
        let rows = try GRDB.Row.fetchAll(
            db,
            sql: """
                SELECT f.job_uid, f.status, ct.case_type,
                       (SELECT group_concat(rg.title, \(listSeparator)) FROM document_regions AS dr
                          JOIN regions AS rg ON rg.id = dr.region_id WHERE dr.document_id = f.rest_id) AS regions,
                       f.version, st.first_seen_at, st.last_seen_at, st.gone_at, src.name AS source
                FROM (\(FleetAsOf.sql)) AS f
                JOIN streams AS st ON st.job_uid = f.job_uid
                LEFT JOIN sources AS src ON src.id = st.source_id
                LEFT JOIN config_case_types AS ct ON ct.document_id = f.platform_config_id
                WHERE \(conditions.joined(separator: " AND "))
                ORDER BY \(filter.sort.orderBy)
                LIMIT :limit
                """, arguments: StatementArguments(arguments))
        let emptyBecause = rows.isEmpty ? try whyEmpty(filter, in: db) : nil
        return StreamList(
            rows: rows.map { row in
                Row(
                    jobUID: row["job_uid"], status: (row["status"] as DatabaseValue).statusValue,
                    caseType: row["case_type"], regions: row.list("regions"), version: row["version"],
                    firstSeenAt: row.date("first_seen_at"), lastSeenAt: row.date("last_seen_at"),
                    goneAt: row.date("gone_at"), source: row["source"])
            }, emptyBecause: emptyBecause, severalSources: try SourceInfo.several(in: db))
    }
}
