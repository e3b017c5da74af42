import Foundation
import GRDB
import StreamDBModel

/// `streamdb regions`: each region with its number of present streams, split by status and by
/// case type. A stream in two regions counts in both; streams in none are under `(none)`.
public struct RegionReport: Sendable {
    public struct Row: Sendable {
        public let region: String
        public let streams: Int
        /// Streams per raw status (nil: no status), most first.
        public let byStatus: [(status: StatusValue?, count: Int)]
        /// Streams per case type (`(unknown)` when the config names none), most first.
        public let byCaseType: [(caseType: String, count: Int)]
    }

    /// Regions with the most streams first.
    public let rows: [Row]

    /// - Parameter asOf: count the fleet as the mirror knew it then; nil for now.
    /// - Parameter source: count only this source's streams (its name); nil for all.
    static func load(asOf: Date?, source: String? = nil, in db: Database) throws -> RegionReport {
        // One pass over the fleet; the counting is done here rather than by a query per region.
        struct Tally {
            var streams = 0
            var statuses: [String: (StatusValue?, Int)] = [:]
            var cases: [String: Int] = [:]
        }
        var tallies: [String: Tally] = [:]
        let cursor = try GRDB.Row.fetchCursor(db, sql: placedSQL, arguments: ["as_of": FleetAsOf.moment(asOf), "source": source])
        while let row = try cursor.next() {
            let region: String = row["region"]
            let status = (row["status"] as DatabaseValue).statusValue
            let caseType = row["case_type"] as String? ?? "(unknown)"
            tallies[region, default: Tally()].streams += 1
            tallies[region]!.statuses[status?.description ?? "null", default: (status, 0)].1 += 1
            tallies[region]!.cases[caseType, default: 0] += 1
        }
        let rows = tallies.sorted { ($1.value.streams, $0.key) < ($0.value.streams, $1.key) }.map { region, tally in
            Row(
                region: region, streams: tally.streams,
                byStatus: tally.statuses.sorted { ($1.value.1, $0.key) < ($0.value.1, $1.key) }.map { ($0.value.0, $0.value.1) },
                byCaseType: tally.cases.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { ($0.key, $0.value) })
        }
        return RegionReport(rows: rows)
    }

    private static let placedSQL = """
        SELECT coalesce(rg.title, '(none)') AS region, f.job_uid, f.status, ct.case_type
        FROM (\(FleetAsOf.sql)) AS f
        LEFT JOIN config_case_types AS ct ON ct.document_id = f.platform_config_id
        LEFT JOIN document_regions AS dr ON dr.document_id = f.rest_id
        LEFT JOIN regions AS rg ON rg.id = dr.region_id
        WHERE f.gone = 0 AND (:source IS NULL OR f.source_id = (SELECT id FROM sources WHERE name = :source))
        """
}
