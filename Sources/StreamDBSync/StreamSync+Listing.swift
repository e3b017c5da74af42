import Foundation
import StreamDBAPI
import StreamDBModel
import StreamDBStore

extension StreamSync {
    struct ListingResult {
        var listing: ListingState
        /// Uids of items that only named a stream: their details are fetched next.
        var needDetails: [String] = []
        /// Why the server could not be reached at all, when the first page failed to connect.
        var unreachable: String?
    }

    /// Follows the list route page by page, storing each page as it arrives while the next one is
    /// fetched. Until the stored digests are read, pages are fetched ahead (up to
    /// ``lookaheadBytes`` of items) and stored once they are.
    func syncListing(_ state: RunState, _ pipeline: WritePipeline, _ filter: PendingFilter) async throws -> ListingResult {
        var result = ListingResult(listing: .complete)
        // Every page URL requested so far: a `next` pointing back to one is a loop.
        var requested: Set<String> = [api.configuration.listURL]
        var pending: Task<StreamsAPI.ListAnswer, any Error>? = Task { [api] in try await api.listPage(nil) }
        var pageIndex = 0
        // Pages fetched and not stored yet, with the listing's count of streams as each said it.
        var fetched: [(items: [JSONOutline.Value], count: Int?)] = []
        var fetchedBytes = 0
        func storeFetched() async throws {
            guard !fetched.isEmpty else { return }
            fetchedBytes = 0
            let ready = try await filter.value
            for page in fetched {
                result.needDetails += try await storeItems(page.items, ready, pipeline)
                onProgress(SyncProgress(done: state.counts.seen, total: page.count, phase: .listing))
            }
            fetched.removeAll()
        }
        while let task = pending {
            pending = nil
            let answer: StreamsAPI.ListAnswer
            do {
                answer = try await task.value
            } catch let error as APIError {
                try await storeFetched()
                if case .unauthorized = error.reason { throw error }
                state.addFailure()
                let message = "listing page \(pageIndex + 1): \(error.message)"
                try await store.recordError(Self.entry(error, jobUID: nil, message: message), runID: state.runID)
                result.listing = .incomplete
                if pageIndex == 0, [.connection, .unreachable, .timeout, .tls].contains(error.reason) {
                    result.unreachable = "cannot reach \(api.configuration.baseURL.absoluteString): \(error.message)"
                } else {
                    logger.error("\(message)")
                }
                return result
            }
            switch answer {
            case .unavailable(let status):
                try await storeFetched()
                logger.info("the server has no list route (HTTP \(status)); syncing known and named streams")
                result.listing = .unavailable
                return result
            case .page(let items, let next, let count):
                pageIndex += 1
                if let next {
                    let sameOrigin = sameOriginURL(next)
                    if requested.insert(sameOrigin).inserted {
                        pending = Task { [api] in try await api.listPage(sameOrigin) }
                    } else {
                        state.addFailure()
                        let entry = SyncErrorEntry(
                            kind: .paginationLoop, url: next,
                            message: "page \(pageIndex)'s next link points back to a page already read; the listing stops there.")
                        try await store.recordError(entry, runID: state.runID)
                        result.listing = .incomplete
                    }
                }
                fetched.append((items, count))
                fetchedBytes += items.reduce(0) { $0 + $1.byteRange.count }
                if pending != nil, fetchedBytes < Self.lookaheadBytes, !filter.isReady { continue }
                try await storeFetched()
            }
        }
        return result
    }

    /// The most of listing items fetched ahead while the stored digests are read: about 80 pages
    /// of 100 streams, which take about as long to fetch as 50,000 streams' digests take to read
    /// (10,000 digests take the time of 5-6 pages), whatever the server's page size.
    static let lookaheadBytes = 16 << 20

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
    private func storeItems(
        _ items: [JSONOutline.Value], _ filter: ServedDigestFilter, _ pipeline: WritePipeline
    ) async throws -> [String] {
        var whole: [JSONOutline.Value] = []
        var needDetails: [String] = []
        for item in items {
            // One pass over the item's members for the three looked at.
            let known = item.members(["platform_json", "status", "job_uid"])
            let isWhole = known[0] != nil && known[1] != nil
            if !isWhole, let uid = known[2]?.string.flatMap(JobUID.normalized) {
                needDetails.append(uid)
            } else {
                whole.append(item)
            }
        }
        let url = api.configuration.listURL
        try await pipeline.add(await Self.normalise(whole, filter).map { $0.observation(url: url) })
        return needDetails
    }

    /// Normalises a page's items on every core (building them, parsing the embedded configs,
    /// canonical JSON and hashing are most of a sync's CPU time), keeping their order; items served
    /// as last time are only digested from their bytes.
    static func normalise(_ items: [JSONOutline.Value], _ filter: ServedDigestFilter) async -> [ServedDigestFilter.Outcome] {
        let cores = Self.cores
        guard items.count >= 16, cores > 1 else { return items.map { filter.classify($0) } }
        let chunk = (items.count + cores - 1) / cores
        return await withTaskGroup(of: (Int, [ServedDigestFilter.Outcome]).self) { group in
            for start in stride(from: 0, to: items.count, by: chunk) {
                let slice = Array(items[start..<min(start + chunk, items.count)])
                group.addTask { (start, slice.map { filter.classify($0) }) }
            }
            var parts: [(Int, [ServedDigestFilter.Outcome])] = []
            for await part in group { parts.append(part) }
            return parts.sorted { $0.0 < $1.0 }.flatMap(\.1)
        }
    }

    /// Read once: Foundation reads the cgroup files on every call.
    private static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
}

extension ServedDigestFilter.Outcome {
    /// What the store is told about an item served from `url`.
    func observation(url: String) -> StreamObservation {
        switch self {
        case .unchanged(let stream): return .servedUnchanged(stream, url: url)
        case .normalised(let result): return .served(result, url: url)
        }
    }
}
