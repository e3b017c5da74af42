import Foundation
import Logging
import StreamDBAPI
import StreamDBModel
import StreamDBStore

/// A whole `streamdb sync` against one database: lock -> open (create, check, migrate) -> sync
/// each source -> close -> integrity marker. `streamdb sync`, `streamdb demo` and the tests all go
/// through it, so that the order that keeps the file sound is written once.
public struct SyncSession: Sendable {
    /// One server to sync: its name (nil: the source of its URL, or a new one named after its
    /// host), how to reach it, and what to sync.
    public struct Target: Sendable {
        public var name: String?
        public var api: APIConfiguration
        public var options: SyncOptions
        /// A healthchecks URL pinged for this source's run alone (``HealthcheckPing``).
        public var pingURL: URL?

        public init(name: String? = nil, api: APIConfiguration, options: SyncOptions = SyncOptions(), pingURL: URL? = nil) {
            self.name = name
            self.api = api
            self.options = options
            self.pingURL = pingURL
        }

        /// The name reports use before the database has resolved it.
        public var label: String { name ?? api.baseURL.host ?? api.baseURL.absoluteString }
    }

    /// How one target's run ended: its report, or why it could not start (an unreadable CA file,
    /// say) or could not finish.
    public struct Outcome: Sendable {
        public enum Result: Sendable {
            case report(SyncReport)
            case failed(any StreamDBError)
        }

        public let target: String
        public let result: Result

        /// One line: the run's summary, or why it could not run, after the source's name.
        public var summary: String {
            switch result {
            case .report(let report): return "\(target): \(report.summary)"
            case .failed(let error): return "\(target): \(error.message)"
            }
        }

        /// The exit status this outcome alone would end `streamdb sync` with.
        public var exitStatus: ExitStatus {
            switch result {
            case .report(let report): return report.outcome.exitStatus
            case .failed(let error): return error.exitStatus
            }
        }
    }

    /// The history file.
    public var databasePath: String
    /// The servers, synced at once (at most ``parallelSources`` at a time) by one writer.
    public var targets: [Target]
    /// Queue behind a running sync instead of stopping with ``StoreError/Reason/busy``.
    public var wait = false
    /// When to read the whole file for damage before writing.
    public var integrityCheck = IntegrityCheckPolicy.whenDue
    /// The run's clock (the demo plays a day in seconds).
    public var clock: @Sendable () -> Date = { Date() }
    /// Sources fetched at once.
    public var parallelSources = 4
    /// A healthchecks URL pinged for the whole session: `/start` once the database is locked,
    /// then success when every source's run ended ok, `/fail` otherwise (partial runs included),
    /// with the runs' summaries as the body. A session that finds the database locked by another
    /// sync (exit 3) pings nothing: that other run reports.
    public var pingURL: URL?
    /// How long one ping may take.
    public var pingTimeout: TimeInterval = 10

    public init(databasePath: String, targets: [Target]) {
        self.databasePath = databasePath
        self.targets = targets
    }

    /// A session of one server.
    public init(databasePath: String, api: APIConfiguration) {
        self.init(databasePath: databasePath, targets: [Target(api: api)])
    }

    /// The first target's options (a session of one server).
    public var options: SyncOptions {
        get { targets[0].options }
        set { targets[0].options = newValue }
    }

    /// The first target's source name (a session of one server).
    public var sourceName: String? {
        get { targets[0].name }
        set { targets[0].name = newValue }
    }

    /// Runs a session of one server. Returns the run's report whatever its outcome; throws a
    /// ``StreamDBError`` (a ``StoreError`` or an ``APIError``) when the database cannot be used or
    /// the client cannot be set up, having written nothing half-way.
    public func run(
        logger: Logger, onProgress: @escaping @Sendable (SyncProgress) -> Void = { _ in }
    ) async throws -> SyncReport {
        let outcomes = try await runAll(logger: logger) { _, progress in onProgress(progress) }
        switch outcomes[0].result {
        case .report(let report): return report
        case .failed(let error): throw error
        }
    }

    /// Runs every target. Throws only when the database cannot be locked, opened or closed; each
    /// target's own failure is its outcome, and the others go on.
    public func runAll(
        logger: Logger, onProgress: @escaping @Sendable (String, SyncProgress) -> Void = { _, _ in }
    ) async throws -> [Outcome] {
        let lock = try SyncLock(databasePath: databasePath, wait: wait)
        let ping = pingURL.map { HealthcheckPing(url: $0, timeout: pingTimeout) }
        await ping?.send(.start, summary: "streamdb sync of \(targets.map(\.label).joined(separator: ", ")) started", logger: logger)
        let outcomes: [Outcome]
        do {
            outcomes = try await syncAll(lock: lock, logger: logger, onProgress: onProgress)
        } catch {
            let message = (error as? any StreamDBError)?.message ?? "\(error)"
            await ping?.send(.fail, summary: message, logger: logger)
            throw error
        }
        if let ping {
            let ok = outcomes.allSatisfy { $0.exitStatus == .ok }
            await ping.send(ok ? .success : .fail, summary: outcomes.map(\.summary).joined(separator: "\n"), logger: logger)
        }
        return outcomes
    }

    private func syncAll(
        lock: SyncLock, logger: Logger, onProgress: @escaping @Sendable (String, SyncProgress) -> Void
    ) async throws -> [Outcome] {
        let store = try HistoryStore.openForWriting(path: databasePath, integrityCheck: integrityCheck)
        if store.checkedThisRun {
            logger.info("checked the whole database file for damage (PRAGMA quick_check): sound")
        } else {
            logger.info(
                "database integrity check not due: unchanged since the last clean sync, last checked \(store.checkedAt ?? "?")")
        }
        let (clock, path) = (self.clock, databasePath)
        let outcomes = try await withThrowingTaskGroup(of: (Int, Outcome).self) { group in
            var next = targets.indices.makeIterator()
            func start() {
                guard let index = next.next() else { return }
                let target = targets[index]
                group.addTask {
                    (
                        index,
                        try await Self.sync(
                            target, store: store, path: path, logger: logger, clock: clock, pingTimeout: pingTimeout,
                            onProgress: onProgress)
                    )
                }
            }
            for _ in 0..<max(1, parallelSources) { start() }
            var outcomes: [(Int, Outcome)] = []
            while let outcome = try await group.next() {
                outcomes.append(outcome)
                start()
            }
            return outcomes.sorted { $0.0 < $1.0 }.map(\.1)
        }
        // Closed while the lock is held, so that the marker describes the file this sync left.
        try store.closeAfterSync()
        withExtendedLifetime(lock) {}
        return outcomes
    }

    /// One target's run. A failure of the database itself (full disk, I/O) is thrown: it ends
    /// every target's run.
    private static func sync(
        _ target: Target, store: HistoryStore, path: String, logger: Logger, clock: @escaping @Sendable () -> Date,
        pingTimeout: TimeInterval, onProgress: @escaping @Sendable (String, SyncProgress) -> Void
    ) async throws -> Outcome {
        guard let pingURL = target.pingURL else {
            return try await sync(target, store: store, path: path, logger: logger, clock: clock, onProgress: onProgress)
        }
        let ping = HealthcheckPing(url: pingURL, timeout: pingTimeout)
        await ping.send(.start, summary: "streamdb sync of \(target.label) started", logger: logger)
        do {
            let outcome = try await sync(target, store: store, path: path, logger: logger, clock: clock, onProgress: onProgress)
            await ping.send(outcome.exitStatus == .ok ? .success : .fail, summary: outcome.summary, logger: logger)
            return outcome
        } catch {
            await ping.send(.fail, summary: (error as? any StreamDBError)?.message ?? "\(error)", logger: logger)
            throw error
        }
    }

    private static func sync(
        _ target: Target, store: HistoryStore, path: String, logger: Logger, clock: @escaping @Sendable () -> Date,
        onProgress: @escaping @Sendable (String, SyncProgress) -> Void
    ) async throws -> Outcome {
        let client: StreamsAPI
        do {
            client = try StreamsAPI(configuration: target.api, logger: logger)
        } catch let error as any StreamDBError {
            return Outcome(target: target.label, result: .failed(error))
        }
        let label = target.label
        do {
            let report = try await StreamSync(
                api: client, store: store, logger: logger, clock: clock, onProgress: { onProgress(label, $0) }
            ).run(target.options, sourceName: target.name)
            await client.shutdown()
            return Outcome(target: report.source.name, result: .report(report))
        } catch {
            await client.shutdown()
            let translated = HistoryStore.translate(error, path: path)
            if let storeError = translated as? StoreError { throw storeError }
            if let known = translated as? any StreamDBError { return Outcome(target: label, result: .failed(known)) }
            throw translated
        }
    }
}
