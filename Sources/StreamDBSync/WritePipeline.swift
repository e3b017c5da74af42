import Foundation
import StreamDBModel
import StreamDBStore
import Synchronization

/// Double buffering between the producers (listing pages, detail requests) and the database:
/// observations gather until a batch is full, then that batch is written in one transaction while
/// the next one gathers. At most one write is in flight, so memory stays bounded by two batches.
///
/// A writer with nothing to do does not wait for a full batch of streams served as last time:
/// once a listing page's worth (``earlyBatch``) has gathered, nine in ten of them unchanged, it is
/// written, and a resync's last write is that of a page or two instead of up to a whole batch
/// after the last page arrived. Such a stream costs the writer one UPDATE; a new or changed one
/// about fifteen statements, and for those an early write's extra commit and the pages it dirties
/// again cost more than they save (a first sync written early was 1.02-1.04x), so they wait for a
/// full batch.
final class WritePipeline: @unchecked Sendable {
    // Safe: add and flush have one caller at a time, never two at once: the run's own task, or
    // the detail fetch's DetailResults, which lets one of its calls add at a time and returns
    // before the run's task flushes; the write task touches only its own copy of a batch and the
    // locked RunState.
    private let store: HistoryStore
    private let state: RunState
    private let now: @Sendable () -> String
    private var buffer: [StreamObservation] = []
    /// Of ``buffer``, the streams served as last time.
    private var unchangedInBuffer = 0
    private var inFlight: Task<Void, any Error>?
    /// Whether ``inFlight`` is still writing: set before it starts, cleared by it when it ends.
    private let writing = Atomic(false)
    /// Observations written in one transaction (the last may have fewer).
    let batchSize: Int
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
        for case .servedUnchanged in observations { unchangedInBuffer += 1 }
        let early = buffer.count >= earlyBatch && unchangedInBuffer * 10 >= buffer.count * 9
        if buffer.count >= batchSize || (early && !writing.load(ordering: .acquiring)) {
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
        unchangedInBuffer = 0
        let (store, state, now) = (self.store, self.state, self.now)
        writing.store(true, ordering: .releasing)
        inFlight = Task {
            defer { self.writing.store(false, ordering: .releasing) }
            state.apply(try await store.writeBatch(batch, observedAt: now(), runID: state.runID, sourceID: state.sourceID))
        }
    }
}
