import Foundation
import StreamDBAPI
import StreamDBModel
import StreamDBStore
import Synchronization

extension StreamSync {
    /// Fetches streams by uid, `concurrency` at a time, writing results in batches. Stops early
    /// when the server stopped answering (many connection failures or timeouts in a row), so that
    /// a dead server does not cost every remaining stream's retries.
    ///
    /// `concurrency` workers each ask for the next uid once their answer is in, and hand it to one
    /// ``DetailResults``. A task per request, each answer woken back to the run's task to be
    /// counted and to start the next, took longer: this is 0.95x wall and CPU of it on a
    /// detail-only sync of 2,000 (bench/ANALYSIS.md).
    func fetchDetails(
        _ uids: [String], concurrency: Int, _ filter: PendingFilter, _ state: RunState, _ pipeline: WritePipeline
    ) async throws {
        guard !uids.isEmpty else { return }
        let api = self.api
        let total = uids.count
        let queue = UIDQueue(uids)
        let results = DetailResults(
            pipeline: pipeline, giveUpAfter: 2 * concurrency + 10, total: total, onProgress: onProgress)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<min(concurrency, total) {
                    group.addTask {
                        while let uid = queue.next() {
                            try await results.add(try await Self.detail(uid, api: api, filter: filter))
                        }
                    }
                }
                // The first error (credentials refused, the database, giving up) cancels the
                // other workers and their requests in flight.
                try await group.waitForAll()
            }
        } catch let stop as DetailResults.GaveUp {
            try await pipeline.flush()
            state.addFailure()
            let entry = SyncErrorEntry(
                kind: .connection,
                message:
                    "gave up after \(stop.failures) detail requests in a row failed to connect or timed out; \(total - stop.done) streams were not requested."
            )
            try await store.recordError(entry, runID: state.runID)
            return
        }
        try await pipeline.flush()
        onProgress(SyncProgress(done: total, total: total, phase: .details))
    }

    /// One detail request, as an observation; refused credentials are thrown (they end the run),
    /// and so is a failure to read the stored digests, which the answer waits for (the first
    /// requests are on their way while they are read).
    private static func detail(_ uid: String, api: StreamsAPI, filter: PendingFilter) async throws -> StreamObservation {
        let url = api.configuration.detailURL(uid)
        do {
            switch try await api.detail(uid) {
            case .found(let body):
                return try await filter.value.classify(body, expectedJobUID: uid).observation(url: url)
            case .notFound:
                return .notFound(jobUID: uid, url: url)
            }
        } catch let error as APIError {
            if case .unauthorized = error.reason { throw error }
            return .failed(entry(error, jobUID: uid))
        }
    }
}

/// The uids a detail fetch has yet to ask for, taken one at a time by its workers.
private final class UIDQueue: Sendable {
    private let remaining: Mutex<IndexingIterator<[String]>>

    init(_ uids: [String]) { remaining = Mutex(uids.makeIterator()) }

    func next() -> String? { remaining.withLock { $0.next() } }
}

/// Where a detail fetch's workers hand in their answers: counted in the order they arrive, and
/// passed on to the ``WritePipeline``, which takes one caller at a time.
///
/// An actor runs one call at a time only between suspensions: while the pipeline waits for the
/// writer, other workers' answers come in. So one call at a time adds to the pipeline (`adding`),
/// and the answers that arrive meanwhile wait in `arrived` until it takes them in the same call.
/// Once a batch's worth waits there, the workers that bring more wait too, so that memory stays
/// bounded (the pipeline's two batches, this one, and the requests in flight).
private actor DetailResults {
    /// Thrown by ``add(_:)`` once the answers show a server that stopped answering.
    struct GaveUp: Error {
        let failures: Int
        let done: Int
    }

    private let pipeline: WritePipeline
    private let giveUpAfter: Int
    private let total: Int
    private let onProgress: @Sendable (SyncProgress) -> Void
    private var done = 0
    private var consecutiveConnectionFailures = 0
    private var adding = false
    /// What the pipeline threw: the answers after it are not handed on (the run ends with it).
    private var failure: (any Error)?
    private var arrived: [StreamObservation] = []
    /// Workers waiting for `arrived` to be taken.
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(pipeline: WritePipeline, giveUpAfter: Int, total: Int, onProgress: @escaping @Sendable (SyncProgress) -> Void) {
        self.pipeline = pipeline
        self.giveUpAfter = giveUpAfter
        self.total = total
        self.onProgress = onProgress
    }

    func add(_ observation: StreamObservation) async throws {
        if let failure { throw failure }
        if consecutiveConnectionFailures >= giveUpAfter {
            throw GaveUp(failures: consecutiveConnectionFailures, done: done)
        }
        done += 1
        if case .failed(let entry) = observation, entry.kind == .connection || entry.kind == .timeout {
            consecutiveConnectionFailures += 1
        } else {
            consecutiveConnectionFailures = 0
        }
        arrived.append(observation)
        if adding {
            if arrived.count >= pipeline.batchSize {
                await withCheckedContinuation { waiting.append($0) }
            }
        } else {
            adding = true
            defer {
                adding = false
                resumeWaiting()
            }
            while !arrived.isEmpty {
                let batch = arrived
                arrived = []
                resumeWaiting()
                do {
                    try await pipeline.add(batch)
                } catch {
                    failure = error
                    throw error
                }
            }
        }
        if done % 100 == 0 {
            onProgress(SyncProgress(done: done, total: total, phase: .details))
        }
        if consecutiveConnectionFailures >= giveUpAfter {
            throw GaveUp(failures: consecutiveConnectionFailures, done: done)
        }
    }

    private func resumeWaiting() {
        let resumed = waiting
        waiting = []
        for worker in resumed { worker.resume() }
    }
}
