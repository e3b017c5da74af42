import StreamDBModel

/// How a run ended, as stored in `sync_runs.outcome` and mapped to the exit status.
public enum SyncOutcome: String, Sendable, CaseIterable {
    /// Still going, or its process died without a word (until the next sync marks it interrupted).
    case running
    /// Everything fetched and stored.
    case ok
    /// Some streams or pages failed (see `sync_errors`); the rest was stored.
    case partial
    /// Nothing could be synced: unreachable, credentials refused, nothing to sync.
    case failed
    /// The process stopped before it finished (killed or crashed); what it committed is kept.
    case interrupted

    /// The status `streamdb sync` exits with after a run with this outcome.
    public var exitStatus: ExitStatus {
        switch self {
        case .ok: return .ok
        case .partial: return .partial
        case .running, .failed, .interrupted: return .failed
        }
    }
}

/// What a run made of the list route, as stored in `sync_runs.listing`.
public enum ListingState: String, Sendable, CaseIterable {
    /// Every page was read: a present stream missing from it is then asked for by its uid.
    case complete
    /// A page failed, the pages looped, or the credentials were refused; the streams of the pages
    /// read were stored.
    case incomplete
    /// The server has no list route (404 or 405): only known and named streams were synced.
    case unavailable
    /// Not asked (`--no-list`).
    case skipped
}

/// The counts of one sync run, as stored in `sync_runs`.
public struct SyncCounts: Sendable, Equatable {
    public var seen = 0
    public var new = 0
    public var changed = 0
    public var unchanged = 0
    public var gone = 0
    public var back = 0
    /// Gone jobs that a new job of the same camera stream and case type replaced (migration 0005).
    public var replaced = 0
    /// Rows of `sync_errors` for the run: failures, and doubtful values stored anyway.
    public var errors = 0

    public init() {}

    /// Adds another tally's stream counts (not its errors, which the store counts).
    public mutating func add(_ other: SyncCounts) {
        seen += other.seen
        new += other.new
        changed += other.changed
        unchanged += other.unchanged
        gone += other.gone
        back += other.back
    }
}

/// One row of `sync_errors` to write: what failed, where, and the sentence that says so.
public struct SyncErrorEntry: Sendable {
    public var jobUID: String?
    public var kind: ErrorKind
    public var httpStatus: Int?
    public var url: String?
    public var attempts: Int?
    public var message: String

    public init(
        jobUID: String? = nil, kind: ErrorKind, httpStatus: Int? = nil, url: String? = nil, attempts: Int? = nil,
        message: String
    ) {
        self.jobUID = jobUID
        self.kind = kind
        self.httpStatus = httpStatus
        self.url = url
        self.attempts = attempts
        self.message = message
    }
}
