import Foundation
import GRDB
import Logging
import Synchronization

/// What to sync in one run.
public struct SyncOptions: Sendable {
    /// job_uids named by the user (`--job-uid`, `--jobs-file`); checked to be UUIDs.
    public var jobUIDs: [String] = []
    /// Use the list route (off with `--no-list`).
    public var useList = true
    /// Detail requests in flight at once.
    public var concurrency = 8
    /// Streams written per transaction, while the next batch is fetched and normalised. Large
    /// batches write each touched page of the database once instead of once per listing page; a
    /// killed run loses at most the batch in flight, which the next run fetches again.
    public var batchSize = 1000
    /// Store URL passwords as served instead of masking them (`--keep-url-credentials`).
    public var keepURLCredentials = false

    public init() {}
}

/// How a run ended, as stored in `sync_runs.outcome` and mapped to the exit status.
public enum SyncOutcome: String, Sendable {
    /// Everything fetched and stored.
    case ok
    /// Some streams or pages failed (see `sync_errors`); the rest was stored.
    case partial
    /// Nothing could be synced: unreachable, credentials refused, nothing to sync.
    case failed
}

/// Progress of a run, for the progress bar.
public struct SyncProgress: Sendable {
    public var done: Int
    /// Streams expected, when known (the list route's `count`, or the number of detail requests).
    public var total: Int?
    public var phase: String
}

/// The result of one run, with the one-line summary the CLI prints.
public struct SyncReport: Sendable {
    public let runID: Int64
    public let outcome: SyncOutcome
    public let listing: String
    public let counts: SyncCounts
    public let elapsed: Double
    /// Why the run failed, or a warning worth a line; nil when there is nothing to say.
    public let message: String?

    public var summary: String {
        let c = counts
        return "sync \(outcome.rawValue): \(c.seen) seen, \(c.new) new, \(c.changed) changed, "
            + "\(c.unchanged) unchanged, \(c.gone) gone, \(c.back) back, \(c.errors) errors in "
            + String(format: "%.2f s", elapsed) + " (run \(runID))"
    }
}

/// One `streamdb sync`: fetches the streams (list route, named uids, known uids), normalises each,
/// and records it in the history store; failures go to `sync_errors` and the run goes on.
///
/// The caller holds the database's ``SyncLock``.
public final class StreamSync: Sendable {
    private let api: StreamsAPI
    private let store: HistoryStore
    private let logger: Logger
    private let onProgress: @Sendable (SyncProgress) -> Void
    private let clock: @Sendable () -> Date

    public init(
        api: StreamsAPI, store: HistoryStore, logger: Logger,
        clock: @escaping @Sendable () -> Date = { Date() },
        onProgress: @escaping @Sendable (SyncProgress) -> Void = { _ in }
    ) {
        self.clock = clock
        self.api = api
        self.store = store
        self.logger = logger
        self.onProgress = onProgress
    }

    /// Runs one sync. Returns the report also for failed runs; throws only when the database
    /// itself cannot be written (disk full, read-only file), after which nothing half-written
    /// remains: every write is a transaction.
    public func run(_ options: SyncOptions) async throws -> SyncReport {
        let started = clock()
        let stopwatch = ContinuousClock.now
        let runID = try await store.beginRun(sourceURL: api.configuration.baseURL.absoluteString,
                                             startedAt: Timestamp.format(started))
        let state = RunState(runID: runID)
        let pipeline = WritePipeline(sync: self, state: state, batchSize: max(1, options.batchSize))
        // Streams served exactly as last time are recognised by their digest and not normalised.
        let filter = ServedDigestFilter(stored: try await store.servedDigests(), maskCredentials: !options.keepURLCredentials)
        var listing = options.useList ? "complete" : "skipped"
        var message: String?
        var failed = false
        do {
            var detailTargets: [String] = []
            if options.useList {
                let result = try await syncListing(state, pipeline, filter)
                // What follows asks the database which streams this run has seen.
                try await pipeline.flush()
                listing = result.listing
                detailTargets = result.needDetails
                if result.unreachable {
                    failed = true
                    message = result.failureMessage
                }
            }
            if !failed {
                detailTargets += try await namedTargets(options.jobUIDs, state)
                detailTargets += try await store.presentStreamsNotSeen(in: runID)
                var unique = Set<String>()
                detailTargets = detailTargets.filter { unique.insert($0).inserted }
                if listing == "unavailable" && detailTargets.isEmpty && state.counts.seen == 0 && state.failures == 0 {
                    failed = true
                    message = "the server has no list route and no streams are known: name them with --job-uid or --jobs-file."
                }
                try await fetchDetails(detailTargets, concurrency: max(1, options.concurrency), filter, state, pipeline)
            }
            try await pipeline.flush()
        } catch let error as APIError {
            // What was fetched before the credentials were refused is stored.
            try await pipeline.flush()
            // Credentials refused: nothing more can succeed in this run.
            try await store.recordError(runID: runID, jobUID: nil, kind: error.kind, httpStatus: error.httpStatus,
                                        url: error.url, attempts: error.attempts, message: error.message)
            failed = true
            message = error.message
        }
        var counts = state.counts
        counts.errors = try await store.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM sync_errors WHERE sync_run_id = ?", arguments: [runID]) ?? 0
        }
        let outcome: SyncOutcome
        if failed {
            outcome = .failed
        } else if state.failures > 0 {
            let stored = counts.seen + counts.gone
            outcome = stored == 0 ? .failed : .partial
            if stored == 0, message == nil {
                let first = try await store.read { db in
                    try String.fetchOne(db, sql: "SELECT message FROM sync_errors WHERE sync_run_id = ? ORDER BY id LIMIT 1", arguments: [runID])
                }
                message = "nothing could be synced; the first error: \(first ?? "unknown") (all in `streamdb runs`)."
            }
        } else {
            outcome = .ok
        }
        try await store.finishRun(runID, finishedAt: now(), outcome: outcome.rawValue, listing: listing, counts: counts, message: message)
        return SyncReport(runID: runID, outcome: outcome, listing: listing, counts: counts,
                          elapsed: Self.seconds(ContinuousClock.now - stopwatch), message: message)
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// The current time in the database's format, from the run's clock.
    fileprivate func now() -> String { Timestamp.format(clock()) }

    // MARK: - Listing

    private struct ListingResult {
        var listing: String
        var needDetails: [String] = []
        var unreachable = false
        var failureMessage: String?
    }

    /// Follows the list route page by page, storing each page as it arrives (one transaction a
    /// page) while the next one is fetched.
    private func syncListing(_ state: RunState, _ pipeline: WritePipeline, _ filter: ServedDigestFilter) async throws -> ListingResult {
        var result = ListingResult(listing: "complete")
        // Every page URL requested so far: a `next` pointing back to one is a loop.
        var requested: Set<String> = [api.configuration.listURL]
        var pending: Task<StreamsAPI.ListAnswer, any Error>? = Task { [api] in try await api.listPage(nil) }
        var pageIndex = 0
        while let task = pending {
            pending = nil
            let answer: StreamsAPI.ListAnswer
            do {
                answer = try await task.value
            } catch let error as APIError {
                if case .unauthorized = error.reason { throw error }
                state.addFailure()
                try await store.recordError(runID: state.runID, jobUID: nil, kind: error.kind, httpStatus: error.httpStatus,
                                            url: error.url, attempts: error.attempts,
                                            message: "listing page \(pageIndex + 1): \(error.message)")
                logger.error("listing page \(pageIndex + 1) failed: \(error.message)")
                result.listing = "incomplete"
                if pageIndex == 0, [.connection, .timeout, .tls].contains(error.reason) {
                    result.unreachable = true
                    result.failureMessage = "cannot reach \(api.configuration.baseURL.absoluteString): \(error.message)"
                }
                return result
            }
            switch answer {
            case .unavailable(let status):
                logger.info("the server has no list route (HTTP \(status)); syncing known and named streams")
                result.listing = "unavailable"
                return result
            case .page(let items, let next, let count):
                pageIndex += 1
                if let next {
                    let sameOrigin = sameOriginURL(next)
                    if !requested.insert(sameOrigin).inserted {
                        state.addFailure()
                        try await store.recordError(runID: state.runID, jobUID: nil, kind: "pagination_loop", url: next,
                                                    message: "page \(pageIndex)'s next link points back to a page already read; the listing stops there.")
                        result.listing = "incomplete"
                    } else {
                        pending = Task { [api] in try await api.listPage(sameOrigin) }
                    }
                }
                result.needDetails += try await storeItems(items, filter, pipeline)
                onProgress(SyncProgress(done: state.counts.seen, total: count, phase: "listing"))
            }
        }
        return result
    }

    /// `next` as served, but on the configured scheme, host and port: a server behind a proxy
    /// often builds `next` with its internal name, and the token must not go anywhere else.
    private func sameOriginURL(_ next: String) -> String {
        guard var components = URLComponents(string: next),
              let base = URLComponents(url: api.configuration.baseURL, resolvingAgainstBaseURL: false)
        else { return next }
        if components.host != base.host || components.scheme != base.scheme || components.port != base.port {
            logger.debug("rewriting next link \(next) to the configured origin")
            components.scheme = base.scheme
            components.host = base.host
            components.port = base.port
        }
        return components.string ?? next
    }

    /// Stores the full objects of a list page; returns the uids of items that only name a stream.
    private func storeItems(_ items: [JSONValue], _ filter: ServedDigestFilter, _ pipeline: WritePipeline) async throws -> [String] {
        var whole: [JSONValue] = []
        var needDetails: [String] = []
        for item in items {
            let isWhole = item["platform_json"] != nil && item["status"] != nil
            if !isWhole, let uid = item["job_uid"]?.stringValue.flatMap(JobUID.normalized) {
                needDetails.append(uid)
            } else {
                whole.append(item)
            }
        }
        let url = api.configuration.listURL
        try await pipeline.add(await Self.normalise(whole, filter).map { DetailOutcome($0, url: url) })
        return needDetails
    }

    /// Normalises a page's items on every core (parsing the embedded configs, canonical JSON and
    /// hashing are most of a sync's CPU time), keeping their order; items served as last time are
    /// only digested.
    static func normalise(_ items: [JSONValue], _ filter: ServedDigestFilter) async -> [ServedDigestFilter.Outcome] {
        func one(_ item: JSONValue) -> ServedDigestFilter.Outcome { filter.classify(item) }
        let cores = Self.cores
        guard items.count >= 16, cores > 1 else { return items.map(one) }
        let chunk = (items.count + cores - 1) / cores
        return await withTaskGroup(of: (Int, [ServedDigestFilter.Outcome]).self) { group in
            for start in stride(from: 0, to: items.count, by: chunk) {
                let slice = Array(items[start..<min(start + chunk, items.count)])
                group.addTask { (start, slice.map(one)) }
            }
            var parts: [(Int, [ServedDigestFilter.Outcome])] = []
            for await part in group { parts.append(part) }
            return parts.sorted { $0.0 < $1.0 }.flatMap(\.1)
        }
    }

    /// Read once: Foundation reads the cgroup files on every call.
    private static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    // MARK: - Details

    fileprivate enum DetailOutcome: Sendable {
        case fetched(Result<StreamSnapshot, SnapshotRejection>, url: String)
        /// Served exactly as last time (see ``ServedDigest``).
        case unchanged(UnchangedStream, url: String)
        case notFound(String, url: String)
        case failed(String, APIError)

        init(_ outcome: ServedDigestFilter.Outcome, url: String) {
            switch outcome {
            case .unchanged(let stream): self = .unchanged(stream, url: url)
            case .normalised(let result): self = .fetched(result, url: url)
            }
        }
    }

    /// The uids the user named, checked; a bad one is recorded and skipped.
    private func namedTargets(_ uids: [String], _ state: RunState) async throws -> [String] {
        var targets: [String] = []
        for text in uids {
            guard let uid = JobUID.normalized(text) else {
                state.addFailure()
                try await store.recordError(runID: state.runID, jobUID: nil, kind: "bad_uid",
                                            message: "'\(String(text.prefix(80)))' is not a job_uid (a UUID); it was not requested.")
                logger.error("'\(text.prefix(80))' is not a job_uid (a UUID); skipped")
                continue
            }
            if try await !store.wasSeen(uid, in: state.runID) {
                targets.append(uid)
            }
        }
        return targets
    }

    /// Fetches streams by uid, `concurrency` at a time, writing results in batches.
    private func fetchDetails(_ uids: [String], concurrency: Int, _ filter: ServedDigestFilter, _ state: RunState,
                              _ pipeline: WritePipeline) async throws {
        guard !uids.isEmpty else { return }
        let api = self.api
        let total = uids.count
        var done = 0
        var consecutiveConnectionFailures = 0
        try await withThrowingTaskGroup(of: DetailOutcome.self) { group in
            var pending = uids.makeIterator()
            func startNext() {
                guard let uid = pending.next() else { return }
                group.addTask {
                    let url = api.configuration.detailURL(uid)
                    do {
                        switch try await api.detail(uid) {
                        case .found(let body):
                            return DetailOutcome(filter.classify(body, expectedJobUID: uid), url: url)
                        case .notFound:
                            return .notFound(uid, url: url)
                        }
                    } catch let error as APIError {
                        if case .unauthorized = error.reason { throw error }
                        return .failed(uid, error)
                    }
                }
            }
            for _ in 0..<concurrency { startNext() }
            while let outcome = try await group.next() {
                try await pipeline.add([outcome])
                done += 1
                if case .failed(_, let error) = outcome, error.reason == .connection || error.reason == .timeout {
                    consecutiveConnectionFailures += 1
                } else {
                    consecutiveConnectionFailures = 0
                }
                // A server that stopped answering: do not spend every remaining stream's retries.
                if consecutiveConnectionFailures >= 2 * concurrency + 10 {
                    group.cancelAll()
                    try await pipeline.flush()
                    state.addFailure()
                    try await store.recordError(runID: state.runID, jobUID: nil, kind: "connection",
                                                message: "gave up after \(consecutiveConnectionFailures) detail requests in a row failed to connect or timed out; \(total - done) streams were not requested.")
                    return
                }
                startNext()
                if done % 100 == 0 {
                    onProgress(SyncProgress(done: done, total: total, phase: "details"))
                }
            }
            try await pipeline.flush()
            onProgress(SyncProgress(done: done, total: total, phase: "details"))
        }
    }

    // MARK: - Writing

    /// Writes a batch in one transaction. A stream that cannot be stored (a constraint, a value
    /// SQLite refuses) is recorded as an error without losing the others: the batch is first
    /// written straight through, and only when a statement fails is it rolled back and written
    /// again with each stream in its own savepoint. Savepoints cost a pair of statements and a
    /// statement journal per stream, which a batch that stores cleanly does not need.
    fileprivate func write(_ outcomes: [DetailOutcome], observedAt: String, _ state: RunState) async throws {
        guard !outcomes.isEmpty else { return }
        let runID = state.runID
        let delta: BatchDelta
        do {
            // A transaction of its own, so that no savepoint (and no statement journal) is needed
            // to undo it.
            delta = try await store.write { db in
                try Self.write(outcomes, observedAt: observedAt, runID: runID, perStream: false, in: db)
            }
        } catch let error as DatabaseError where Self.isStreamLevel(error) {
            delta = try await store.write { db in
                try Self.write(outcomes, observedAt: observedAt, runID: runID, perStream: true, in: db)
            }
        }
        state.apply(delta)
    }

    /// Whether a failed statement is about the stream being stored, not the file: a full disk or
    /// an I/O error ends the run instead.
    private static func isStreamLevel(_ error: DatabaseError) -> Bool {
        error.resultCode != .SQLITE_FULL && error.resultCode != .SQLITE_IOERR
    }

    /// Writes a batch inside the caller's transaction. With `perStream`, each stream is stored in
    /// a savepoint and a stream-level failure is recorded as that stream's error; without, the
    /// first failure is thrown.
    private static func write(
        _ outcomes: [DetailOutcome], observedAt: String, runID: Int64, perStream: Bool, in db: Database
    ) throws -> BatchDelta {
        var delta = BatchDelta()
        func store(_ snapshot: StreamSnapshot, url: String) throws {
            guard perStream else {
                delta.add(try HistoryStore.record(snapshot, observedAt: observedAt, runID: runID, in: db))
                return
            }
            do {
                var result: RecordResult?
                try db.inSavepoint {
                    result = try HistoryStore.record(snapshot, observedAt: observedAt, runID: runID, in: db)
                    return .commit
                }
                delta.add(result!)
            } catch let error as DatabaseError where isStreamLevel(error) {
                delta.failures += 1
                try HistoryStore.recordError(runID: runID, jobUID: snapshot.jobUID, kind: "storage", httpStatus: nil,
                                             url: url, attempts: nil, message: "could not be stored: \(error.message ?? "\(error)")", in: db)
            }
        }
        /// A normalised stream is stored; a rejected one is recorded as an error.
        func fetched(_ result: Result<StreamSnapshot, SnapshotRejection>, url: String) throws {
            switch result {
            case .success(let snapshot):
                try store(snapshot, url: url)
            case .failure(let rejection):
                delta.failures += 1
                try HistoryStore.recordError(runID: runID, jobUID: rejection.jobUID, kind: rejection.kind, httpStatus: nil,
                                             url: url, attempts: nil, message: rejection.message, in: db)
            }
        }
        for outcome in outcomes {
            switch outcome {
            case .fetched(let result, let url):
                try fetched(result, url: url)
            case .unchanged(let stream, let url):
                if let version = try HistoryStore.recordUnchanged(
                    jobUID: stream.jobUID, servedDigest: stream.servedDigest, serverUpdatedAt: stream.serverUpdatedAt,
                    observedAt: observedAt, runID: runID, in: db) {
                    delta.add(RecordResult(change: .unchanged, back: false, version: version))
                } else {
                    try fetched(stream.snapshot(), url: url)
                }
            case .notFound(let uid, let url):
                if try HistoryStore.markGone(jobUID: uid, observedAt: observedAt, runID: runID, in: db) {
                    delta.counts.gone += 1
                } else if try Bool.fetchOne(db, sql: "SELECT 1 FROM streams WHERE job_uid = ?", arguments: [uid]) == nil {
                    delta.failures += 1
                    try HistoryStore.recordError(runID: runID, jobUID: uid, kind: "http_404", httpStatus: 404, url: url,
                                                 attempts: 1, message: "the server has no stream with this job_uid.", in: db)
                }
            case .failed(let uid, let error):
                delta.failures += 1
                try HistoryStore.recordError(runID: runID, jobUID: uid, kind: error.kind, httpStatus: error.httpStatus,
                                             url: error.url, attempts: error.attempts, message: error.message, in: db)
            }
        }
        return delta
    }
}

/// Counts gathered while a batch is written.
private struct BatchDelta: Sendable {
    var counts = SyncCounts()
    var failures = 0

    mutating func add(_ result: RecordResult) {
        counts.seen += 1
        switch result.change {
        case .new: counts.new += 1
        case .changed: counts.changed += 1
        case .unchanged: counts.unchanged += 1
        }
        if result.back { counts.back += 1 }
    }
}

/// Double buffering between the producers (listing pages, detail requests) and the database:
/// outcomes gather until a batch is full, then that batch is written in one transaction while the
/// next one gathers. At most one write is in flight, so memory stays bounded by two batches.
private final class WritePipeline: @unchecked Sendable {
    // Only the run's own task calls add and flush (never concurrently); the write task touches
    // only its own copy of a batch and the locked RunState.
    private let sync: StreamSync
    private let state: RunState
    private var buffer: [StreamSync.DetailOutcome] = []
    private var inFlight: Task<Void, any Error>?
    private let batchSize: Int

    init(sync: StreamSync, state: RunState, batchSize: Int) {
        self.sync = sync
        self.state = state
        self.batchSize = batchSize
    }

    func add(_ outcomes: [StreamSync.DetailOutcome]) async throws {
        buffer += outcomes
        if buffer.count >= batchSize { try await startWrite() }
    }

    /// Returns when everything added so far is in the database.
    func flush() async throws {
        if !buffer.isEmpty { try await startWrite() }
        let last = inFlight
        inFlight = nil
        try await last?.value
    }

    private func startWrite() async throws {
        let previous = inFlight
        inFlight = nil
        try await previous?.value
        let batch = buffer
        buffer = []
        let sync = self.sync, state = self.state
        inFlight = Task { try await sync.write(batch, observedAt: sync.now(), state) }
    }
}

/// The counts of one run, updated by the writer and read by the run's task.
private final class RunState: Sendable {
    let runID: Int64
    private let tally = Mutex((counts: SyncCounts(), failures: 0))

    init(runID: Int64) { self.runID = runID }

    var counts: SyncCounts { tally.withLock { $0.counts } }
    /// Streams or pages that could not be fetched or stored.
    var failures: Int { tally.withLock { $0.failures } }

    func addFailure() { tally.withLock { $0.failures += 1 } }

    func apply(_ delta: BatchDelta) {
        tally.withLock { tally in
            tally.counts.seen += delta.counts.seen
            tally.counts.new += delta.counts.new
            tally.counts.changed += delta.counts.changed
            tally.counts.unchanged += delta.counts.unchanged
            tally.counts.gone += delta.counts.gone
            tally.counts.back += delta.counts.back
            tally.failures += delta.failures
        }
    }
}
