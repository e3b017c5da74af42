import Foundation
import Logging
import StreamDBAPI
import StreamDBModel
import StreamDBStore

/// A whole `streamdb sync` against one database: lock -> open (create, check, migrate) -> sync ->
/// close -> integrity marker. `streamdb sync`, `streamdb demo` and the tests all go through it, so
/// that the order that keeps the file sound is written once.
public struct SyncSession: Sendable {
    /// The history file.
    public var databasePath: String
    /// The server and how to reach it.
    public var api: APIConfiguration
    public var options = SyncOptions()
    /// Queue behind a running sync instead of stopping with ``StoreError/Reason/busy``.
    public var wait = false
    /// When to read the whole file for damage before writing.
    public var integrityCheck = IntegrityCheckPolicy.whenDue
    /// The source's name; nil for the source of this URL, or a new one named after its host.
    public var sourceName: String?
    /// The run's clock (the demo plays a day in seconds).
    public var clock: @Sendable () -> Date = { Date() }

    public init(databasePath: String, api: APIConfiguration) {
        self.databasePath = databasePath
        self.api = api
    }

    /// Runs the session. Returns the run's report whatever its outcome; throws a
    /// ``StreamDBError`` (a ``StoreError`` or an ``APIError``) when the database cannot be used or
    /// the client cannot be set up, having written nothing half-way.
    public func run(
        logger: Logger, onProgress: @escaping @Sendable (SyncProgress) -> Void = { _ in }
    ) async throws -> SyncReport {
        let lock = try SyncLock(databasePath: databasePath, wait: wait)
        let store = try HistoryStore.openForWriting(path: databasePath, integrityCheck: integrityCheck)
        if store.checkedThisRun {
            logger.info("checked the whole database file for damage (PRAGMA quick_check): sound")
        } else {
            logger.info(
                "database integrity check not due: unchanged since the last clean sync, last checked \(store.checkedAt ?? "?")")
        }
        let client = try StreamsAPI(configuration: api, logger: logger)
        let report: SyncReport
        do {
            report = try await StreamSync(api: client, store: store, logger: logger, clock: clock, onProgress: onProgress)
                .run(options, sourceName: sourceName)
        } catch {
            await client.shutdown()
            throw HistoryStore.translate(error, path: databasePath)
        }
        await client.shutdown()
        // Closed while the lock is held, so that the marker describes the file this sync left.
        try store.closeAfterSync()
        withExtendedLifetime(lock) {}
        return report
    }
}
