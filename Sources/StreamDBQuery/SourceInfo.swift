import Foundation
import GRDB

/// One analytics server the history holds.
public struct SourceInfo: Sendable, Equatable {
    public let name: String
    public let baseURL: String
    public let firstSyncedAt: Date?
    public let lastSyncedAt: Date?
}

extension SourceInfo {
    /// Whether the database holds more than one source: results then name each row's source.
    static func several(in db: Database) throws -> Bool {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM sources") ?? 0 > 1
    }
}
