import Foundation
import StreamDBModel
import StreamDBStore

/// Double buffering between the producers (listing pages, detail requests) and the database:
/// observations gather until a batch is full, then that batch is written in one transaction while
/// the next one gathers. At most one write is in flight, so memory stays bounded by two batches.
final class WritePipeline: @unchecked Sendable {
    // Safe: only the run's own task calls add and flush (never concurrently); the write task
    // touches only its own copy of a batch and the locked RunState.
    private let store: HistoryStore
    private let state: RunState
    private let now: @Sendable () -> String
    private var buffer: [StreamObservation] = []
    private var inFlight: Task<Void, any Error>?
    private let batchSize: Int

    init(store: HistoryStore, state: RunState, batchSize: Int, now: @escaping @Sendable () -> String) {
        self.store = store
        self.state = state
        self.batchSize = batchSize
        self.now = now
    }

    func add(_ observations: [StreamObservation]) async throws {
        buffer += observations
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
        let (store, state, now) = (self.store, self.state, self.now)
        inFlight = Task {
            state.apply(try await store.writeBatch(batch, observedAt: now(), runID: state.runID, sourceID: state.sourceID))
        }
    }
}
