import Foundation
import StreamDBAPI
import StreamDBModel
import StreamDBStore

extension StreamSync {
    /// Fetches streams by uid, `concurrency` at a time, writing results in batches. Stops early
    /// when the server stopped answering (many connection failures or timeouts in a row), so that
    /// a dead server does not cost every remaining stream's retries.
    func fetchDetails(
        _ uids: [String], concurrency: Int, _ filter: PendingFilter, _ state: RunState, _ pipeline: WritePipeline
    ) async throws {
        guard !uids.isEmpty else { return }
        let api = self.api
        let total = uids.count
        var done = 0
        var consecutiveConnectionFailures = 0
        try await withThrowingTaskGroup(of: StreamObservation.self) { group in
            var pending = uids.makeIterator()
            func startNext() {
                guard let uid = pending.next() else { return }
                group.addTask { try await Self.detail(uid, api: api, filter: filter) }
            }
            for _ in 0..<concurrency { startNext() }
            while let observation = try await group.next() {
                try await pipeline.add([observation])
                done += 1
                if case .failed(let entry) = observation, entry.kind == .connection || entry.kind == .timeout {
                    consecutiveConnectionFailures += 1
                } else {
                    consecutiveConnectionFailures = 0
                }
                if consecutiveConnectionFailures >= 2 * concurrency + 10 {
                    group.cancelAll()
                    try await pipeline.flush()
                    state.addFailure()
                    let entry = SyncErrorEntry(
                        kind: .connection,
                        message:
                            "gave up after \(consecutiveConnectionFailures) detail requests in a row failed to connect or timed out; \(total - done) streams were not requested."
                    )
                    try await store.recordError(entry, runID: state.runID)
                    return
                }
                startNext()
                if done % 100 == 0 {
                    onProgress(SyncProgress(done: done, total: total, phase: .details))
                }
            }
            try await pipeline.flush()
            onProgress(SyncProgress(done: done, total: total, phase: .details))
        }
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
