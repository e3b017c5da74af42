import Foundation

/// One analytics server the history holds.
public struct SourceInfo: Sendable, Equatable {
    public let name: String
    public let baseURL: String
    public let firstSyncedAt: Date?
    public let lastSyncedAt: Date?
}
