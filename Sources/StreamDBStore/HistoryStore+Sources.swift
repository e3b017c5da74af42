import Foundation
import GRDB
import StreamDBModel

/// A source as a sync resolved it: the row it writes under, and what resolving it changed.
public struct SyncSource: Sendable, Equatable {
    public let id: Int64
    public let name: String
    public let baseURL: String
    /// The source did not exist: this sync adds it.
    public let isNew: Bool
    /// The source existed with another URL (the server moved): its history goes on under this one.
    public let previousURL: String?
    /// The other sources the database holds, by name.
    public let others: [String]
}

extension HistoryStore {
    /// The source a sync of `url` writes under, created when missing.
    ///
    /// - Parameter name: the source's name (from the config file or `--source`): the source is its
    ///   name, and its URL is updated when it changed. Nil: the source whose URL is `url`, or a new
    ///   one named after the URL's host (`analytics.example`, then `analytics.example-2`, ...).
    public func resolveSource(name: String?, url: String) async throws -> SyncSource {
        try await write { db in
            let others = { (id: Int64) in
                try String.fetchAll(db, sql: "SELECT name FROM sources WHERE id <> ? ORDER BY name", arguments: [id])
            }
            if let name {
                if let row = try Row.fetchOne(db, sql: "SELECT id, base_url FROM sources WHERE name = ?", arguments: [name]) {
                    let id: Int64 = row["id"]
                    let previous: String = row["base_url"]
                    if previous != url {
                        try db.execute(sql: "UPDATE sources SET base_url = ? WHERE id = ?", arguments: [url, id])
                    }
                    return SyncSource(
                        id: id, name: name, baseURL: url, isNew: false, previousURL: previous == url ? nil : previous,
                        others: try others(id))
                }
                try db.execute(sql: "INSERT INTO sources (name, base_url) VALUES (?, ?)", arguments: [name, url])
                let id = db.lastInsertedRowID
                return SyncSource(id: id, name: name, baseURL: url, isNew: true, previousURL: nil, others: try others(id))
            }
            if let row = try Row.fetchOne(db, sql: "SELECT id, name FROM sources WHERE base_url = ? ORDER BY id LIMIT 1", arguments: [url])
            {
                let id: Int64 = row["id"]
                return SyncSource(id: id, name: row["name"], baseURL: url, isNew: false, previousURL: nil, others: try others(id))
            }
            let host = URLComponents(string: url)?.host.flatMap { $0.isEmpty ? nil : $0 } ?? "source"
            var candidate = host
            var n = 1
            while try Bool.fetchOne(db, sql: "SELECT 1 FROM sources WHERE name = ?", arguments: [candidate]) != nil {
                n += 1
                candidate = "\(host)-\(n)"
            }
            try db.execute(sql: "INSERT INTO sources (name, base_url) VALUES (?, ?)", arguments: [candidate, url])
            let id = db.lastInsertedRowID
            return SyncSource(id: id, name: candidate, baseURL: url, isNew: true, previousURL: nil, others: try others(id))
        }
    }

    /// The name of the source that serves `jobUID`, when it is another than `sourceID`.
    static func otherSource(of jobUID: String, than sourceID: Int64, in db: Database) throws -> String? {
        try String.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT coalesce(src.name, 'another source') FROM streams AS st LEFT JOIN sources AS src ON src.id = st.source_id
                    WHERE st.job_uid = ? AND st.source_id IS NOT ?
                    """), arguments: [jobUID, sourceID])
    }
}
