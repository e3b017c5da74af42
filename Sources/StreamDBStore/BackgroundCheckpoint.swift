import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Copies most of the write-ahead log into the database file on a connection and a thread of its
/// own, beside the writer instead of inside its commits.
///
/// SQLite's automatic checkpoint runs inside the commit that takes the log past 1,000 pages, on
/// the writing connection: a sync's writer, which is what a first sync waits for, spent about a
/// sixth of its time reading its log back and writing it into the file, and on a disk it waited
/// for the file's `fsync` there too (bench/ANALYSIS.md). Here each commit of the writer's
/// connection only reports the log's length (SQLite's WAL hook, which replaces the automatic
/// checkpoint on that connection), and past the same 1,000 pages a PASSIVE checkpoint starts on
/// this connection and runs beside the next batch: it copies what no reader still needs and never
/// waits for the writer or a reader (https://sqlite.org/c3ref/wal_checkpoint_v2.html).
///
/// SQLite starts the log again from its beginning only when a write finds all of it copied, which
/// a writer that never pauses rarely gives a checkpoint beside it the moment to do: left alone, the
/// log of a first sync grew to most of the file's size. So once it holds ``inlineThreshold`` pages
/// the writer copies what is left itself (SQLite's own checkpoint, in its commit: the last batch
/// or so, the rest having been copied beside it), and its next write starts the log again. The log
/// so stays under about 32 MiB and a batch.
///
/// Nothing depends on it: a checkpoint that fails or finds the log busy leaves the pages in the
/// log, where readers find them and the next checkpoint (or the store's close) copies them. When
/// the connection cannot be opened, or once the store that owned it is gone, the writer checkpoints
/// itself at 1,000 pages, as SQLite does.
final class BackgroundCheckpoint: Sendable {
    /// The log's length, in pages, past which a checkpoint starts: SQLite's default for its own.
    static let threshold: Int32 = 1000
    /// The log's length past which the writer copies the rest itself: 32 MiB of 4 KiB pages.
    static let inlineThreshold: Int32 = 8192

    private let path: String
    private let queue = DispatchQueue(label: "streamdb.checkpoint")
    /// The checkpointing connection, opened at the first checkpoint.
    private let connection = Mutex<DatabaseQueue?>(nil)
    private let running = Atomic(false)
    private let closed = Atomic(false)
    /// Set when the connection could not be opened: the writer then checkpoints itself.
    private let unavailable = Atomic(false)
    private let copies = Atomic(0)
    /// What the writer's hook holds (retained by it until ``uninstall(from:)``).
    private let hook: Unmanaged<WALHook>

    init(path: String) {
        self.path = path
        hook = Unmanaged.passRetained(WALHook())
        hook.takeUnretainedValue().owner = self
    }

    /// Called by the writer's connection after each commit, with the log's length in pages:
    /// starts a checkpoint beside it, or returns true when the writer should checkpoint now.
    fileprivate func committed(logPages: Int32) -> Bool {
        guard logPages >= Self.threshold else { return false }
        if logPages >= Self.inlineThreshold || unavailable.load(ordering: .acquiring) { return true }
        guard !closed.load(ordering: .acquiring), !running.exchange(true, ordering: .acquiringAndReleasing) else {
            return false
        }
        queue.async { [self] in
            defer { running.store(false, ordering: .releasing) }
            guard !closed.load(ordering: .acquiring) else { return }
            checkpoint()
        }
        return false
    }

    private func checkpoint() {
        connection.withLock { connection in
            if connection == nil {
                var configuration = Configuration()
                configuration.label = "streamdb-checkpoint"
                do {
                    connection = try DatabaseQueue(path: path, configuration: configuration)
                } catch {
                    unavailable.store(true, ordering: .releasing)
                    return
                }
            }
            // Busy (another checkpoint under way) or failed: the pages stay in the log.
            let copied = try? connection?.writeWithoutTransaction { db in try db.checkpoint(.passive).checkpointedFrameCount }
            if let copied, copied > 0 { copies.add(1, ordering: .relaxed) }
        }
    }

    /// How many checkpoints here have copied pages into the file.
    var completed: Int { copies.load(ordering: .relaxed) }

    /// Makes the writer's connection report its commits here instead of checkpointing itself.
    /// Runs on that connection.
    func install(on db: Database) {
        sqlite3_wal_hook(
            db.sqliteConnection,
            { context, connection, _, pages in
                guard let context else { return SQLITE_OK }
                let owner = Unmanaged<WALHook>.fromOpaque(context).takeUnretainedValue().owner
                if owner?.committed(logPages: pages) ?? (pages >= BackgroundCheckpoint.threshold) {
                    // As SQLite's own automatic checkpoint does; busy or failed, the pages wait.
                    _ = sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
                }
                return SQLITE_OK
            }, hook.toOpaque())
    }

    /// Gives the writer's connection SQLite's automatic checkpoint back, waits for a checkpoint
    /// under way and closes this connection: no checkpoint starts here after. Runs on the
    /// writer's connection.
    func uninstall(from db: Database) {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        sqlite3_wal_autocheckpoint(db.sqliteConnection, Self.threshold)
        hook.release()
        queue.sync {}
        connection.withLock { connection in
            try? connection?.close()
            connection = nil
        }
    }
}

/// The context of the writer's WAL hook: the checkpointer while it lives. A store dropped without
/// being closed leaves its connection with this and no owner, which checkpoints as SQLite does.
private final class WALHook: @unchecked Sendable {
    // Safe: set once, before the hook is installed, and read by the writer's connection only.
    weak var owner: BackgroundCheckpoint?
}
