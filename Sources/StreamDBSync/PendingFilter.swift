import StreamDBModel
import Synchronization

/// The run's ``ServedDigestFilter`` while the stored digests it compares with are being read.
///
/// Reading them (every present stream's `served_digest`, ten thousand in about 10 ms) takes as
/// long as fetching several listing pages, so the listing fetches ahead while they are read
/// instead of waiting for them before its first request, and a sync without the listing has its
/// first detail requests on their way.
final class PendingFilter: Sendable {
    private let done = Atomic(false)
    private let task = Mutex<Task<ServedDigestFilter, any Error>?>(nil)

    init(_ load: @escaping @Sendable () async throws -> ServedDigestFilter) {
        let started = Task { [self] in
            defer { done.store(true, ordering: .releasing) }
            return try await load()
        }
        task.withLock { $0 = started }
    }

    /// Whether ``value`` is there without waiting.
    var isReady: Bool { done.load(ordering: .acquiring) }

    /// The filter; throws what reading the digests threw.
    var value: ServedDigestFilter {
        get async throws {
            let load = task.withLock { $0 }
            // Set in init, before anyone can ask.
            guard let load else { preconditionFailure("PendingFilter used before its load started") }
            return try await load.value
        }
    }
}
