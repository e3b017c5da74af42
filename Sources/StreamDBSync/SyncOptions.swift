import Foundation
import StreamDBModel
import StreamDBStore

/// What to sync in one run.
public struct SyncOptions: Sendable {
    /// job_uids named by the user (`--job-uid`, `--jobs-file`), already checked to be UUIDs (see
    /// ``JobUID/normalized(_:)``); one that is not is recorded as an error and not requested.
    public var jobUIDs: [String] = []
    /// Use the list route (off with `--no-list`).
    public var useList = true
    /// Detail requests in flight at once.
    public var concurrency = 8
    /// Streams written per transaction, while the next batch is fetched and normalised. Large
    /// batches write each touched page of the database once instead of once per listing page; a
    /// killed run loses at most the batch in flight, which the next run fetches again.
    public var batchSize = 1000
    /// Store URL passwords and tokens as served instead of masking them (`--keep-url-credentials`).
    public var keepURLCredentials = false
    /// Query parameters whose values are masked beside the standard ones (`--mask-query-param`).
    public var maskQueryParameters: [String] = []

    /// The masking rules these options ask for; nil keeps every secret as served.
    public var masking: CredentialMask? {
        keepURLCredentials ? nil : CredentialMask(extraQueryParameters: maskQueryParameters)
    }

    public init() {}
}

/// Progress of a run, for the progress bar.
public struct SyncProgress: Sendable {
    public enum Phase: String, Sendable {
        case listing
        case details
    }

    public var done: Int
    /// Streams expected, when known (the list route's `count`, or the number of detail requests).
    public var total: Int?
    public var phase: Phase
}

/// The result of one run, with the one-line summary the CLI prints.
public struct SyncReport: Sendable {
    public let runID: Int64
    /// The source synced, and whether this run added it or moved it to a new URL.
    public let source: SyncSource
    public let outcome: SyncOutcome
    public let listing: ListingState
    public let counts: SyncCounts
    public let elapsed: Double
    /// Why the run failed, or a warning worth a line; nil when there is nothing to say.
    public let message: String?

    /// `sync ok: 20 seen, 0 new, ... 0 errors in 0.05 s (run 3)`.
    public var summary: String {
        let c = counts
        let errors = c.errors == 1 ? "1 error" : "\(c.errors) errors"
        return "sync \(outcome.rawValue): \(c.seen) seen, \(c.new) new, \(c.changed) changed, "
            + "\(c.unchanged) unchanged, \(c.gone) gone, \(c.back) back, " + (c.replaced > 0 ? "\(c.replaced) replaced, " : "")
            + "\(errors) in "
            + String(format: "%.2f s", elapsed) + " (run \(runID)" + (source.others.isEmpty ? ")" : ", source \(source.name))")
    }

    /// A line worth saying about the source: new beside others, or moved to a new URL; nil otherwise.
    public var sourceNote: String? {
        if source.isNew, !source.others.isEmpty {
            return
                "a new source '\(source.name)' for \(source.baseURL); the database also holds \(source.others.map { "'\($0)'" }.joined(separator: ", ")), whose streams this sync leaves alone."
        }
        if let previous = source.previousURL {
            return "the source '\(source.name)' moved from \(previous) to \(source.baseURL); its history goes on."
        }
        return nil
    }
}

/// A run that did not store everything: the exit status it ends `streamdb sync` with, and the
/// sentence that says what to do.
public struct SyncFailure: StreamDBError {
    public let message: String
    public let exitStatus: ExitStatus
}

extension SyncReport {
    /// Nil for a run that stored everything.
    /// - Parameter databasePath: named in the advice to look at `streamdb runs`.
    public func failure(databasePath: String) -> SyncFailure? {
        switch outcome {
        case .ok: return nil
        case .partial:
            return SyncFailure(
                message: "some streams failed; see `streamdb runs --db \(databasePath)`.", exitStatus: .partial)
        case .failed, .running, .interrupted:
            return SyncFailure(message: message ?? "the sync failed.", exitStatus: .failed)
        }
    }
}
