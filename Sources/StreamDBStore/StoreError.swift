import Foundation
import StreamDBModel

/// Why the history database cannot be used.
public struct StoreError: StreamDBError {
    public enum Reason: Sendable, Equatable {
        /// No database at the path (query commands never create one).
        case missing
        /// The file is not an SQLite database.
        case notADatabase
        /// The file is an SQLite database with damaged pages.
        case corrupted
        /// The database was migrated by a newer streamdb.
        case newerSchema
        /// The database lacks migrations this streamdb has: the next sync applies them.
        case olderSchema
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

    /// 3 when another sync holds the database (as documented), 2 otherwise.
    public var exitStatus: ExitStatus { reason == .busy ? .busy : .failed }

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }
}
