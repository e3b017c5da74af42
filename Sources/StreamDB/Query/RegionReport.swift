import Foundation
import GRDB

/// `streamdb regions`: each region with its number of present streams, split by status and by
/// case type. A stream in two regions counts in both; streams in none are shown as `(none)`.
public enum RegionReport {
    /// - Parameter asOf: count the fleet as the mirror knew it then; nil for now.
    public static func load(labels: StatusLabels, asOf: String? = nil, in db: Database) throws -> ResultTable {
        let moment: StatementArguments = ["as_of": FleetAsOf.moment(asOf)]
        let rows = try Row.fetchAll(db, sql: """
            SELECT region, count(*) AS streams FROM (\(Self.placedSQL)) GROUP BY region ORDER BY streams DESC, region
            """, arguments: moment)
        var table = ResultTable(columns: ["region", "streams", "by_status", "by_case_type"])
        for row in rows {
            let region: String = row["region"]
            let statuses = try Row.fetchAll(db, sql: """
                SELECT status, count(*) AS n FROM (\(Self.placedSQL)) WHERE region = :region GROUP BY status ORDER BY n DESC, status
                """, arguments: moment + ["region": region])
            let cases = try Row.fetchAll(db, sql: """
                SELECT coalesce(case_type, '(unknown)') AS case_type, count(*) AS n FROM (\(Self.placedSQL))
                WHERE region = :region GROUP BY 1 ORDER BY n DESC, 1
                """, arguments: moment + ["region": region])
            let statusText = statuses.map { r -> String in
                let raw = StatusTimeline.text(r["status"]) ?? "null"
                return "\(labels.name(raw)): \(r["n"] as Int)"
            }.joined(separator: ", ")
            let caseText = cases.map { "\($0["case_type"] as String): \($0["n"] as Int)" }.joined(separator: ", ")
            table.rows.append([.text(region), .int(row["streams"]), .text(statusText), .text(caseText)])
        }
        return table
    }

    private static let placedSQL = """
        SELECT coalesce(rg.title, '(none)') AS region, f.job_uid, f.status, json_extract(p.json, '$.CaseType') AS case_type
        FROM (\(FleetAsOf.sql)) AS f
        LEFT JOIN documents AS p ON p.id = f.platform_config_id
        LEFT JOIN document_regions AS dr ON dr.document_id = f.rest_id
        LEFT JOIN regions AS rg ON rg.id = dr.region_id
        WHERE f.gone = 0
        """
}
