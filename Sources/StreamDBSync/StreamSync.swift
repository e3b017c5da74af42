import Foundation
import Logging
import StreamDBAPI
import StreamDBModel
import StreamDBStore

/// One sync run: fetches the streams (list route, named uids, known uids), normalises each, and
/// records it in the history store; failures go to `sync_errors` and the run goes on.
///
/// The caller holds the database's ``SyncLock``; ``SyncSession`` is the usual caller.
public final class StreamSync: Sendable {
    let api: StreamsAPI
    let store: HistoryStore
    let logger: Logger
    let onProgress: @Sendable (SyncProgress) -> Void
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

    /// How the fetching part of a run went.
    struct Fetched {
        var listing: ListingState
        /// Why nothing could be synced, when nothing could.
        var failure: String?
    }

    /// Runs one sync. Returns the report also for failed runs; throws only when the database
    /// itself cannot be written (disk full, read-only file), after which nothing half-written
    /// remains: every write is a transaction.
    ///
    /// - Parameter sourceName: the source's name (see ``HistoryStore/resolveSource(name:url:)``);
    ///   nil for the source of this URL, or a new one named after its host.
    public func run(_ options: SyncOptions, sourceName: String? = nil) async throws -> SyncReport {
        let stopwatch = ContinuousClock.now
        let source = try await store.resolveSource(name: sourceName, url: api.configuration.baseURL.absoluteString)
        let runID = try await store.beginRun(source: source, startedAt: Timestamp.format(clock()))
        let state = RunState(runID: runID, sourceID: source.id)
        let clock = self.clock
        let pipeline = WritePipeline(
            store: store, state: state, batchSize: max(1, options.batchSize), now: { Timestamp.format(clock()) })
        // A sync without the listing asks for the streams it knows: their uids are read first, so
        // that the requests can start before the digests below are read.
        let known = options.useList ? nil : try await store.presentStreamsNotSeen(in: runID, sourceID: source.id)
        // Streams served exactly as last time are recognised by their digest and not normalised.
        // The digests are read while the first listing pages (or detail requests) are fetched.
        let (store, masking) = (self.store, options.masking)
        let filter = PendingFilter {
            ServedDigestFilter(stored: try await store.servedDigests(sourceID: source.id), masking: masking)
        }
        var fetched: Fetched
        do {
            fetched = try await fetch(options, state, pipeline, filter, known: known)
        } catch let error as APIError {
            // Credentials refused: nothing more can succeed in this run. What was fetched before
            // is stored.
            try await pipeline.flush()
            try await store.recordError(Self.entry(error, jobUID: nil), runID: runID)
            fetched = Fetched(listing: options.useList ? .incomplete : .skipped, failure: error.message)
        } catch {
            // The database failed (full disk, I/O): the run ends here, after the digests' read,
            // so that nothing of this run uses the store once the caller closes it.
            _ = try? await filter.value
            throw error
        }
        // Read by now unless the listing failed at once; a database that could not be read fails
        // the run here as it would have before the first request.
        _ = try await filter.value
        let (outcome, message) = try await judge(fetched, state)
        var tally = state.counts
        tally.replaced = try await store.detectReplacements(runID: runID)
        let counts = try await store.finishRun(
            runID, finishedAt: Timestamp.format(clock()), outcome: outcome, listing: fetched.listing,
            counts: tally, message: message)
        return SyncReport(
            runID: runID, source: source, outcome: outcome, listing: fetched.listing, counts: counts,
            elapsed: (ContinuousClock.now - stopwatch).seconds, message: message)
    }

    /// The listing, then the details of every stream it did not serve whole, of the named ones and
    /// of the known ones it left out (`known`: read already, when there is no listing).
    private func fetch(
        _ options: SyncOptions, _ state: RunState, _ pipeline: WritePipeline, _ filter: PendingFilter, known: [String]?
    ) async throws -> Fetched {
        var fetched = Fetched(listing: options.useList ? .complete : .skipped)
        var detailTargets: [String] = []
        if options.useList {
            let result = try await syncListing(state, pipeline, filter)
            // What follows asks the database which streams this run has seen.
            try await pipeline.flush()
            fetched.listing = result.listing
            detailTargets = result.needDetails
            if let failure = result.unreachable {
                fetched.failure = failure
                return fetched
            }
        }
        detailTargets += try await namedTargets(options.jobUIDs, state)
        if let known {
            detailTargets += known
        } else {
            detailTargets += try await store.presentStreamsNotSeen(in: state.runID, sourceID: state.sourceID)
        }
        var unique = Set<String>()
        detailTargets = detailTargets.filter { unique.insert($0).inserted }
        if fetched.listing == .unavailable && detailTargets.isEmpty && state.counts.seen == 0 && state.failures == 0 {
            fetched.failure =
                "the server has no list route and no streams are known: name them with --job-uid or --jobs-file."
            return fetched
        }
        try await fetchDetails(detailTargets, concurrency: max(1, options.concurrency), filter, state, pipeline)
        try await pipeline.flush()
        return fetched
    }

    /// The run's outcome and the sentence that explains a failed one.
    private func judge(_ fetched: Fetched, _ state: RunState) async throws -> (SyncOutcome, String?) {
        if let failure = fetched.failure { return (.failed, failure) }
        guard state.failures > 0 else { return (.ok, nil) }
        let stored = state.counts.seen + state.counts.gone
        if stored > 0 { return (.partial, nil) }
        let first = try await store.firstErrorMessage(runID: state.runID)
        return (.failed, "nothing could be synced; the first error: \(first ?? "unknown") (all in `streamdb runs`).")
    }

    /// The uids the user named that this run has not recorded yet; a bad one is recorded and
    /// skipped.
    private func namedTargets(_ uids: [String], _ state: RunState) async throws -> [String] {
        var targets: [String] = []
        for text in uids {
            guard let uid = JobUID.normalized(text) else {
                state.addFailure()
                let entry = SyncErrorEntry(
                    kind: .badUID, message: "'\(String(text.prefix(80)))' is not a job_uid (a UUID); it was not requested.")
                try await store.recordError(entry, runID: state.runID)
                continue
            }
            if try await !store.wasSeen(uid, in: state.runID) {
                targets.append(uid)
            }
        }
        return targets
    }

    /// The `sync_errors` row of a failed request.
    static func entry(_ error: APIError, jobUID: String?, message: String? = nil) -> SyncErrorEntry {
        SyncErrorEntry(
            jobUID: jobUID, kind: error.kind, httpStatus: error.httpStatus, url: error.url, attempts: error.attempts,
            message: message ?? error.message)
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
