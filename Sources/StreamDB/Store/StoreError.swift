import Foundation

/// Why the history database cannot be used. The CLI prints ``message`` and exits non-zero.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// No database at the path (query commands never create one).
        case missing
        /// The file is not an SQLite database.
        case notADatabase
        /// The file is an SQLite database with damaged pages.
        case corrupted
        /// The database was migrated by a newer streamdb.
        case newerSchema
        /// The database exists but was never synced.
        case neverSynced
        /// Another `streamdb sync` holds the database.
        case busy
        /// The file or its directory cannot be written.
        case readOnly
        /// The disk is full.
        case full
        /// The operating system failed to read or write the file.
        case io
        case other
    }

    public let reason: Reason
    public let message: String
    public var description: String { message }

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }
}
