import StreamDBStore
import Synchronization

/// The tally of one run, updated by the writer and read by the run's task.
final class RunState: Sendable {
    let runID: Int64
    /// The source the run syncs: it writes only that source's streams.
    let sourceID: Int64
    private let tally = Mutex((counts: SyncCounts(), failures: 0))

    init(runID: Int64, sourceID: Int64) {
        self.runID = runID
        self.sourceID = sourceID
    }

    var counts: SyncCounts { tally.withLock { $0.counts } }
    /// Streams or pages that could not be fetched or stored: when every one failed, so did the run.
    var failures: Int { tally.withLock { $0.failures } }

    func addFailure() { tally.withLock { $0.failures += 1 } }

    func apply(_ outcome: BatchOutcome) {
        tally.withLock { tally in
            tally.counts.add(outcome.counts)
            tally.failures += outcome.failures
        }
    }
}
