import CStreamDBSQLite
import Foundation
import GRDB
import StreamDBModel

/// The SQLite history file: opening, migrating, and the one writer that serialises all writes.
///
/// Writes go through ``write(_:)`` (one transaction per call); the pieces that record streams,
/// versions and runs are in `HistoryStore+Versions.swift` and `HistoryStore+Runs.swift`.
public final class HistoryStore: Sendable {
    public let path: String
    let database: any DatabaseWriter
    /// For a store opened for writing: when the file was last checked whole (now, or the time an
    /// ``IntegrityMarker`` vouches for). ``closeAfterSync()`` carries it into the next marker.
    public let checkedAt: String?
    /// Whether opening this store read the whole file for damage (`PRAGMA quick_check`).
    public let checkedThisRun: Bool
    /// For a store opened for writing: the checkpoints of its log, off the writer's thread.
    private let checkpoint: BackgroundCheckpoint?

    private init(
        path: String, database: any DatabaseWriter, checkpoint: BackgroundCheckpoint? = nil, checkedAt: String? = nil,
        checkedThisRun: Bool = false
    ) {
        self.path = path
        self.database = database
        self.checkpoint = checkpoint
        self.checkedAt = checkedAt
        self.checkedThisRun = checkedThisRun
    }

    /// SQLite's process-wide settings, made once, before the process's first connection (after it
    /// SQLite refuses them and nothing changes): its memory statistics off. They take a global
    /// mutex around every allocation SQLite makes, which was about 7 % of a first sync's writer
    /// thread in a profile; nothing in streamdb reads them.
    private static let processSettings: Void = { _ = streamdb_sqlite_disable_memstatus() }()

    /// Opens the database for syncing: creates it (mode 0600: it maps the operator's
    /// infrastructure) when missing, and applies the migrations this binary carries.
    ///
    /// - Parameter integrityCheck: when to read the whole file for damage first (see
    ///   ``IntegrityCheckPolicy``); `streamdb sync` checks when due, other writers always.
    /// - Throws: ``StoreError`` when the file is not a database, is corrupted, or its schema is
    ///   newer than this binary knows (the file is then left untouched).
    public static func openForWriting(path: String, integrityCheck: IntegrityCheckPolicy = .always) throws -> HistoryStore {
        _ = processSettings
        if !FileManager.default.fileExists(atPath: path) {
            let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd < 0 && errno != EEXIST {
                throw StoreError(.readOnly, "cannot create the database \(path): \(String(cString: strerror(errno))).")
            }
            if fd >= 0 { close(fd) }
        }
        // Look before touching: a database from a newer streamdb, a file that is not a database,
        // or a corrupted one, is refused through a read-only connection, so the file stays byte
        // for byte.
        let (checkedAt, checkedThisRun) = try checkBeforeWriting(path: path, integrityCheck: integrityCheck)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.label = "streamdb"
        configuration.prepareDatabase { db in
            // In WAL mode NORMAL keeps the database consistent after a crash or power loss; only
            // the last transactions may roll back (https://sqlite.org/pragma.html#pragma_synchronous).
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // 16 MiB of page cache (the default is 2 MiB): a batch of a sync touches pages all over
            // the uid-keyed indexes, which are then read once and written once per transaction.
            // Larger caches were no faster and cost memory (bench/ANALYSIS.md).
            try db.execute(sql: "PRAGMA cache_size = -16384")
            // Statement journals (of the per-stream savepoints a batch is redone with when one of
            // its statements fails) in memory, not in /var/tmp files.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        let pool: DatabasePool
        let checkpoint = BackgroundCheckpoint(path: path)
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try migrator.migrate(pool)
            pool.writeWithoutTransaction { db in checkpoint.install(on: db) }
        } catch {
            throw Self.translate(error, path: path)
        }
        return HistoryStore(path: path, database: pool, checkpoint: checkpoint, checkedAt: checkedAt, checkedThisRun: checkedThisRun)
    }

    /// Removes the database at `path` and every file kept beside it (SQLite's log, its index and a
    /// rollback journal; streamdb's integrity marker and sync lock), so that the next store opened
    /// there is a new one. Files that are not there are passed over.
    public static func removeFiles(at path: String) {
        for file in [path, path + "-wal", path + "-shm", path + "-journal", IntegrityMarker.path(for: path), SyncLock.path(for: path)] {
            try? FileManager.default.removeItem(atPath: file)
        }
    }

    /// Closes a store written as a copy of another history (the team mirror's, for the query
    /// commands): everything in the main file and the write-ahead log gone, so that the file alone
    /// opens read-only.
    public func closeAsCopy() throws {
        guard let pool = database as? DatabasePool else { return }
        do {
            try stopBackgroundCheckpoints(pool)
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
                try db.execute(sql: "PRAGMA journal_mode = DELETE")
            }
            try pool.close()
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    /// Closes a store opened for writing after a sync that ended normally (whatever its outcome),
    /// and leaves an ``IntegrityMarker`` describing the file as closed, so that the next sync can
    /// tell whether anything else changed it. Not called after a failure: the next sync then
    /// checks the file.
    public func closeAfterSync() throws {
        guard let pool = database as? DatabasePool, let checkedAt else { return }
        do {
            // Everything into the main file and the log emptied: the marker then describes the
            // whole database, and a copy of the file alone is a complete backup.
            try stopBackgroundCheckpoints(pool)
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            try pool.close()
        } catch {
            throw Self.translate(error, path: path)
        }
        IntegrityMarker.write(checkedAt: checkedAt, for: path)
    }

    /// How many times the store's log has been copied into the file beside the writer (see
    /// `BackgroundCheckpoint`): what the tests see of it.
    public var backgroundCheckpoints: Int { checkpoint?.completed ?? 0 }

    /// Puts SQLite's own checkpoints back on the writer and waits for a background one under way,
    /// before a checkpoint of the whole log (which would wait for it).
    private func stopBackgroundCheckpoints(_ pool: DatabasePool) throws {
        guard let checkpoint else { return }
        pool.writeWithoutTransaction { db in checkpoint.uninstall(from: db) }
    }

    /// Refuses a file that must not be written, through a read-only connection. Returns when the
    /// file was last found sound (now when it was checked, the time a marker vouches for, or now for
    /// a new empty file), and whether it was checked now.
    private static func checkBeforeWriting(
        path: String, integrityCheck: IntegrityCheckPolicy
    ) throws -> (checkedAt: String, checkedNow: Bool) {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size > 0 else { return (Timestamp.now(), true) }
        // Writing into a damaged b-tree can spread the damage, and a damaged page may be one a
        // sync never reads: every page is checked before the first write, unless the marker of
        // the last clean sync shows the file as it left it, checked within a day.
        // quick_check reads the whole file once (https://sqlite.org/pragma.html#pragma_quick_check),
        // which on every cron run costs time in proportion to the file's size.
        var vouched: String?
        if integrityCheck == .whenDue, let marker = IntegrityMarker.read(for: path), marker.vouches(for: path) {
            vouched = marker.checkedAt
        }
        do {
            let queue = try DatabaseQueue(path: path, configuration: readOnlyConfiguration)
            let state = try queue.read(schemaState)
            let problems = vouched != nil ? ["ok"] : try queue.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check(1)") }
            try queue.close()
            if problems != ["ok"] {
                throw StoreError(.corrupted, corruptedMessage(path: path, detail: problems.first ?? "quick_check found a problem"))
            }
            if state.superseded {
                let unknown = state.applied.subtracting(migrator.migrations).sorted().joined(separator: ", ")
                throw StoreError(
                    .newerSchema,
                    "\(path) was migrated by a newer streamdb (migrations \(unknown) are unknown to streamdb \(StreamDBVersion.current)); it is left untouched. Use a newer streamdb."
                )
            }
            return vouched.map { ($0, false) } ?? (Timestamp.now(), true)
        } catch let error as StoreError {
            throw error
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    /// Opens an existing database for reading only: never created, migrated or written.
    public static func openReadOnly(path: String) throws -> HistoryStore {
        _ = processSettings
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError(.missing, "no database at \(path): run `streamdb sync` first, or point --db / $STREAMDB_DB at one.")
        }
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: path, configuration: readOnlyConfiguration)
            let state = try queue.read(schemaState)
            if state.superseded {
                throw StoreError(.newerSchema, "\(path) was written by a newer streamdb; use a newer streamdb to read it.")
            }
            if state.applied.isEmpty {
                throw StoreError(.neverSynced, "\(path) has never been synced: run `streamdb sync` first.")
            }
            let missing = Set(migrator.migrations).subtracting(state.applied).sorted()
            if !missing.isEmpty {
                throw StoreError(
                    .olderSchema,
                    "\(path) was written by an older streamdb (migration \(missing.joined(separator: ", ")) not applied yet); the next `streamdb sync` applies it, and this command never writes the file."
                )
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw Self.translate(error, path: path)
        }
        return HistoryStore(path: path, database: queue)
    }

    /// A connection that can never write the file.
    private static var readOnlyConfiguration: Configuration {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        // Queries read much of a large file once: mapped pages are read without a copy through the
        // kernel (pread) and shared with the page cache; a bigger page cache keeps the indexes a
        // report walks twice (each version and the one before it) in memory. Measured on the
        // bench's 10,000 x 100 file: uptime over 30 days 1.4 s -> 1.0 s, events --since 1d
        // 0.75 s -> 0.6 s. The mapped pages count in the process's RSS; they are the page cache's.
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA mmap_size = 1073741824; PRAGMA cache_size = -65536")
        }
        return configuration
    }

    /// Which migrations a database has, and whether it has some this binary does not know.
    private static func schemaState(_ db: Database) throws -> (applied: Set<String>, superseded: Bool) {
        (try migrator.appliedIdentifiers(db), try migrator.hasBeenSuperseded(db))
    }

    /// The migrations in `migrations/*.sql`, compiled into the binary, applied in name order,
    /// each once and in its own transaction.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in EmbeddedMigrations.all {
            migrator.registerMigration(migration.name) { db in
                // unhex() is built into SQLite from 3.41; migration 0003 uses it, and the system
                // library may be older (Debian 12 has 3.40).
                db.add(function: unhex)
                try db.execute(sql: migration.sql)
            }
        }
        return migrator
    }

    /// SQLite's `unhex(X)` for one argument: the bytes the hex digits spell, NULL when X is not hex.
    private static let unhex = DatabaseFunction("unhex", argumentCount: 1, pure: true) { values in
        String.fromDatabaseValue(values[0]).flatMap(HexBytes.decode).map { Data($0) }
    }

    /// Runs `body` in one write transaction (rolled back when it throws).
    public func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await database.write(body)
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    /// Runs `body` on a consistent snapshot of the database.
    public func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await database.read(body)
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    /// Synchronous read, for short command-line queries.
    public func readNow<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try database.read(body)
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    /// Turns SQLite failures into a ``StoreError`` with a plain sentence, so that no GRDB error
    /// reaches a user untranslated; other errors (already sentences) pass through unchanged.
    public static func translate(_ error: any Error, path: String) -> any Error {
        guard let error = error as? DatabaseError else { return error }
        let detail = error.message ?? "\(error.resultCode)"
        switch error.resultCode {
        case .SQLITE_NOTADB:
            return StoreError(.notADatabase, "\(path) is not a streamdb database (SQLite: \(detail)); it is left as it is.")
        case .SQLITE_CORRUPT:
            return StoreError(.corrupted, corruptedMessage(path: path, detail: detail))
        case .SQLITE_FULL:
            return StoreError(.full, "the disk holding \(path) is full; nothing of the current step was written.")
        case .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_AUTH:
            return StoreError(
                .readOnly, "cannot write \(path) or create files in its folder (SQLite: \(detail)); check their owner and permissions.")
        case .SQLITE_IOERR:
            return StoreError(.io, "reading or writing \(path) failed (SQLite: \(detail)); nothing of the current step was written.")
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return StoreError(.other, "\(path) stayed locked by another process for 10 s (SQLite: \(detail)); try again.")
        default:
            let line = detail.split(whereSeparator: \.isNewline).joined(separator: " ")
            return StoreError(.other, "cannot use the database \(path) (SQLite: \(line)).")
        }
    }

    private static func corruptedMessage(path: String, detail: String) -> String {
        let detail = detail.split(whereSeparator: \.isNewline).joined(separator: " ").prefix(200)
        return
            "\(path) is corrupted (SQLite: \(detail)); it is left as it is: restore it from a backup, or move it away to start a new history."
    }
}

/// One migration compiled into the binary from `migrations/NAME.sql`.
struct EmbeddedMigration: Sendable {
    let name: String
    let sql: String
}
