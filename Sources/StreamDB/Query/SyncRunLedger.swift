import Foundation
import GRDB

/// `streamdb runs`: the last sync runs with outcome and counts, and the errors of each.
public enum SyncRunLedger {
    public static func runs(last: Int, readable: Bool, zone: TimeZone? = nil, in db: Database) throws -> ResultTable {
        var table = ResultTable(columns: ["run", "started_at", "elapsed", "outcome", "listing", "seen", "new", "changed",
                                          "unchanged", "gone", "back", "errors", "source_url"])
        for row in try Row.fetchAll(db, sql: """
            SELECT * FROM (SELECT * FROM sync_runs ORDER BY id DESC LIMIT ?) ORDER BY id
            """, arguments: [last]) {
            let started: String = row["started_at"]
            let finished: String? = row["finished_at"]
            var elapsed: ResultTable.Cell = .null
            if let finished, let a = Timestamp.parse(started), let b = Timestamp.parse(finished) {
                let seconds = b.timeIntervalSince(a)
                elapsed = readable ? .text(String(format: "%.2f s", seconds)) : .double((seconds * 1000).rounded() / 1000)
            }
            table.rows.append([
                .int(row["id"]), .text(readable ? DurationText.readable(started, zone: zone) : started), elapsed,
                .text(row["outcome"]), (row["listing"] as String?).map(ResultTable.Cell.text) ?? .null,
                .int(row["streams_seen"]), .int(row["streams_new"]), .int(row["streams_changed"]),
                .int(row["streams_unchanged"]), .int(row["streams_gone"]), .int(row["streams_back"]),
                .int(row["errors"]), .text(row["source_url"]),
            ])
        }
        return table
    }

    public static func errors(last: Int, limit: Int, in db: Database) throws -> ResultTable {
        var table = ResultTable(columns: ["run", "job_uid", "kind", "attempts", "message"])
        for row in try Row.fetchAll(db, sql: """
            SELECT e.sync_run_id, e.job_uid, e.kind, e.attempts, e.message FROM sync_errors AS e
            WHERE e.sync_run_id IN (SELECT id FROM sync_runs ORDER BY id DESC LIMIT ?)
            ORDER BY e.sync_run_id, e.id LIMIT ?
            """, arguments: [last, limit]) {
            table.rows.append([
                .int(row["sync_run_id"]), (row["job_uid"] as String?).map(ResultTable.Cell.text) ?? .null,
                .text(row["kind"]), (row["attempts"] as Int64?).map(ResultTable.Cell.int) ?? .null, .text(row["message"]),
            ])
        }
        return table
    }
}
