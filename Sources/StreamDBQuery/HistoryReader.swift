import Foundation
import GRDB
import StreamDBModel
import StreamDBStore

/// The history, opened for reading: every question the query commands ask, each answered with a
/// typed result and each failure as a ``StreamDBError`` (a ``QueryError`` or a ``StoreError``).
///
/// Opened read-only: never created, migrated or written; reads run on a consistent snapshot.
public final class HistoryReader: Sendable {
    let store: HistoryStore

    public var path: String { store.path }

    init(store: HistoryStore) { self.store = store }

    /// Opens an existing database; throws ``StoreError`` when there is none, it was never synced,
    /// or a newer streamdb wrote it.
    public static func open(path: String) throws -> HistoryReader {
        HistoryReader(store: try HistoryStore.openReadOnly(path: path))
    }

    /// Runs `body` on the database; SQLite errors become ``StoreError`` sentences.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try store.readNow(body)
    }

    /// The full job_uid of a stream named by its uid or a unique start of it (surrounding
    /// whitespace, such as the `\r` of a line pasted from CSV, is ignored).
    public func resolve(_ uid: String) throws -> String {
        try read { db in try StreamLookup.resolve(uid, in: db) }
    }

    /// One stream's status timeline; see ``StatusTimeline``.
    public func timeline(jobUID: String, since: Date? = nil, until: Date? = nil, asOf: Date? = nil) throws -> StatusTimeline {
        try read { db in
            try StatusTimeline.load(
                jobUID: try StreamLookup.resolve(jobUID, in: db), since: since, until: until, asOf: asOf, in: db)
        }
    }

    /// The timeline of every job of `jobUID`'s chain of replacements, as one (see
    /// ``StatusTimeline/loadChain(jobUID:since:until:in:)``).
    public func followedTimeline(jobUID: String, since: Date? = nil, until: Date? = nil) throws -> StatusTimeline {
        try read { db in
            try StatusTimeline.loadChain(jobUID: try StreamLookup.resolve(jobUID, in: db), since: since, until: until, in: db)
        }
    }

    /// The jobs of `jobUID`'s chain of replacements, first to last.
    public func chain(of jobUID: String) throws -> [String] {
        try read { db in try StatusTimeline.chain(of: try StreamLookup.resolve(jobUID, in: db), in: db) }
    }

    /// The fleet's change feed.
    public func events(_ filter: EventFeed.Filter) throws -> EventFeed {
        try read { db in try EventFeed.load(filter, in: db) }
    }

    /// Availability over `since`...`until`, with `up` the raw statuses that count as up.
    /// A stream flaps in it when ``Flapping/Rule`` `flapRule` holds.
    public func uptime(
        since: Date, until: Date, up: Set<String>, by grouping: Uptime.Grouping? = nil, source: String? = nil,
        flapRule: Flapping.Rule = Flapping.Rule()
    ) throws -> Uptime {
        try read { db in
            try Uptime.load(since: since, until: until, up: up, by: grouping, source: source, flapRule: flapRule, in: db)
        }
    }

    /// The streams that flapped in `since`...`until` by `rule`.
    public func flapping(
        since: Date, until: Date, rule: Flapping.Rule, source: String? = nil, region: String? = nil, caseType: String? = nil
    ) throws -> Flapping {
        try read { db in
            try Flapping.load(since: since, until: until, rule: rule, source: source, region: region, caseType: caseType, in: db)
        }
    }

    /// Everything the HTML report shows, read in one snapshot.
    public func fleetReport(_ filter: FleetReport.Filter) throws -> FleetReport {
        try read { db in try FleetReport.load(filter, in: db) }
    }

    /// Each source's last run and last success (all sources, or those named).
    public func syncHealth(sources: [String]? = nil) throws -> SyncHealth {
        try read { db in try SyncHealth.load(sources: sources, in: db) }
    }

    /// The streams matching `filter`.
    public func streams(_ filter: StreamList.Filter) throws -> StreamList {
        try read { db in try StreamList.load(filter, in: db) }
    }

    /// The present streams per region.
    public func regions(asOf: Date? = nil, source: String? = nil) throws -> RegionReport {
        try read { db in try RegionReport.load(asOf: asOf, source: source, in: db) }
    }

    /// The last `last` runs and at most `errorLimit` of their errors.
    public func runs(last: Int, errorLimit: Int, source: String? = nil) throws -> SyncRunLedger {
        try read { db in try SyncRunLedger.load(last: last, errorLimit: errorLimit, source: source, in: db) }
    }

    /// The sources the database holds.
    public func sources() throws -> [SourceInfo] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT name, base_url, first_synced_at, last_synced_at FROM sources ORDER BY name").map { row in
                SourceInfo(
                    name: row["name"], baseURL: row["base_url"], firstSyncedAt: row.date("first_synced_at"),
                    lastSyncedAt: row.date("last_synced_at"))
            }
        }
    }

    /// A stored version: the current one, number `number`, or the one held at `asOf`.
    public func version(of jobUID: String, number: Int64? = nil, asOf: Date? = nil) throws -> StoredVersion {
        try read { db in
            try StoredVersion.load(jobUID: try StreamLookup.resolve(jobUID, in: db), number: number, asOf: asOf, in: db)
        }
    }

    /// The two versions around the stream's last config change: the last version with the
    /// previous config and the first with the current one; nil when every stored version has the
    /// same config.
    public func lastConfigChange(of jobUID: String) throws -> (old: StoredVersion, new: StoredVersion)? {
        try read { db in
            let uid = try StreamLookup.resolve(jobUID, in: db)
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        WITH v AS (
                            SELECT x.version, x.platform_config_id FROM versions AS x
                            JOIN streams AS st ON st.stream_id = x.stream_id WHERE st.job_uid = ?
                        ),
                        current AS (SELECT platform_config_id AS id FROM v ORDER BY version DESC LIMIT 1)
                        SELECT max(v.version) AS old FROM v, current WHERE v.platform_config_id IS NOT current.id
                        """, arguments: [uid]),
                let old = row["old"] as Int64?
            else { return nil }
            return (try StoredVersion.load(jobUID: uid, number: old, in: db), try StoredVersion.load(jobUID: uid, number: old + 1, in: db))
        }
    }

    /// Across the platform's last replacement of `jobUID`: the replaced job's last version and
    /// this job's first; nil when no job was replaced by it.
    public func lastReplacement(of jobUID: String) throws -> (old: StoredVersion, new: StoredVersion)? {
        try read { db in
            let uid = try StreamLookup.resolve(jobUID, in: db)
            guard
                let old = try String.fetchOne(
                    db, sql: "SELECT old_job_uid FROM replacements WHERE new_job_uid = ? ORDER BY detected_at DESC LIMIT 1",
                    arguments: [uid])
            else { return nil }
            return (try StoredVersion.load(jobUID: old, in: db), try StoredVersion.load(jobUID: uid, number: 1, in: db))
        }
    }

    /// An analyst's read-only SQL.
    public func sql(_ text: String) throws -> SQLResult {
        try read { db in try SQLResult.run(text, in: db) }
    }

    /// The stream with the most status changes (the latest change breaking ties), if any.
    public func busiestStream() throws -> String? {
        try read { db in
            try String.fetchOne(
                db,
                sql: """
                    SELECT job_uid FROM status_history GROUP BY job_uid ORDER BY count(*) DESC, max(changed_at) DESC LIMIT 1
                    """)
        }
    }

    /// The replacements recorded (old job_uid -> new), oldest first.
    public func replacements() throws -> [(old: String, new: String)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT old_job_uid, new_job_uid FROM replacements ORDER BY detected_at, old_job_uid").map {
                ($0["old_job_uid"], $0["new_job_uid"])
            }
        }
    }

    /// The number of stored versions.
    public func versionCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM versions") ?? 0 }
    }
}
