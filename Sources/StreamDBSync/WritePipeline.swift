import Foundation
import StreamDBModel
import StreamDBStore
import Synchronization

/// Double buffering between the producers (listing pages, detail requests) and the database:
/// observations gather until a batch is full, then that batch is written in one transaction while
/// the next one gathers. At most one write is in flight, so memory stays bounded by two batches.
///
/// A writer with nothing to do does not wait for a full batch: once a listing page's worth
/// (``earlyBatch``) has gathered, it is written. When the writer keeps up (an unchanged resync), a
/// run's last write is then that of a page or two, not of up to a whole batch after the last page
/// arrived; when it does not (a first sync), batches fill while it writes, as before.
final class WritePipeline: @unchecked Sendable {
    // Safe: only the run's own task calls add and flush (never concurrently); the write task
    // touches only its own copy of a batch and the locked RunState.
    private let store: HistoryStore
    private let state: RunState
    private let now: @Sendable () -> String
    private var buffer: [StreamObservation] = []
    private var inFlight: Task<Void, any Error>?
    /// Whether ``inFlight`` is still writing: set before it starts, cleared by it when it ends.
    private let writing = Atomic(false)
    private let batchSize: Int
    /// Observations written at once by an idle writer: the usual listing page. Fewer, and the
    /// detail requests (one observation each) would cost a transaction every few streams.
    private var earlyBatch: Int { min(batchSize, 100) }

    init(store: HistoryStore, state: RunState, batchSize: Int, now: @escaping @Sendable () -> String) {
        self.store = store
        self.state = state
        self.batchSize = batchSize
        self.now = now
    }

    func add(_ observations: [StreamObservation]) async throws {
        buffer += observations
        if buffer.count >= batchSize || (buffer.count >= earlyBatch && !writing.load(ordering: .acquiring)) {
            try await startWrite()
        }
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
        writing.store(true, ordering: .releasing)
        inFlight = Task {
            defer { self.writing.store(false, ordering: .releasing) }
            state.apply(try await store.writeBatch(batch, observedAt: now(), runID: state.runID, sourceID: state.sourceID))
        }
    }
}
