import Foundation
import GRDB

/// `streamdb regions`: each region with its number of present streams, split by status and by
/// case type. A stream in two regions counts in both; streams in none are shown as `(none)`.
public enum RegionReport {
    /// - Parameter asOf: count the fleet as the mirror knew it then; nil for now.
    public static func load(labels: StatusLabels, asOf: String? = nil, in db: Database) throws -> ResultTable {
        // One pass over the fleet; the counting is done here rather than by a query per region.
        struct Tally { var streams = 0; var statuses: [String: Int] = [:]; var cases: [String: Int] = [:] }
        var tallies: [String: Tally] = [:]
        let cursor = try Row.fetchCursor(db, sql: placedSQL, arguments: ["as_of": FleetAsOf.moment(asOf)])
        while let row = try cursor.next() {
            let region: String = row["region"]
            let status = StatusTimeline.text(row["status"]) ?? "null"
            let caseType = row["case_type"] as String? ?? "(unknown)"
            tallies[region, default: Tally()].streams += 1
            tallies[region]!.statuses[status, default: 0] += 1
            tallies[region]!.cases[caseType, default: 0] += 1
        }
        func ranked(_ counts: [String: Int], _ name: (String) -> String) -> String {
            counts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { "\(name($0.key)): \($0.value)" }.joined(separator: ", ")
        }
        var table = ResultTable(columns: ["region", "streams", "by_status", "by_case_type"])
        for (region, tally) in tallies.sorted(by: { ($1.value.streams, $0.key) < ($0.value.streams, $1.key) }) {
            table.rows.append([.text(region), .int(Int64(tally.streams)), .text(ranked(tally.statuses, labels.name)),
                               .text(ranked(tally.cases, { $0 }))])
        }
        return table
    }

    private static let placedSQL = """
        SELECT coalesce(rg.title, '(none)') AS region, f.job_uid, f.status, ct.case_type
        FROM (\(FleetAsOf.sql)) AS f
        LEFT JOIN config_case_types AS ct ON ct.document_id = f.platform_config_id
        LEFT JOIN document_regions AS dr ON dr.document_id = f.rest_id
        LEFT JOIN regions AS rg ON rg.id = dr.region_id
        WHERE f.gone = 0
        """
}
