import Foundation
import StreamDBModel

/// The lock that lets one `streamdb sync` at a time write a database.
///
/// An advisory `flock(2)` on `<database>.lock`: the kernel releases it when the process ends, even
/// by SIGKILL, so a crashed sync never leaves a stale lock behind. Readers (the query commands) do
/// not take it; SQLite's WAL mode lets them read while a sync writes.
public final class SyncLock: Sendable {
    private let descriptor: Int32
    public let path: String

    /// The lock file of the database at `databasePath`.
    static func path(for databasePath: String) -> String { databasePath + ".lock" }

    /// Takes the lock for the database at `databasePath`.
    /// - Parameter wait: block until the running sync finishes instead of failing at once.
    /// - Throws: ``StoreError`` `.busy` when another sync holds it and `wait` is false.
    public init(databasePath: String, wait: Bool) throws {
        path = Self.path(for: databasePath)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StoreError(.readOnly, "cannot create the lock file \(path): \(String(cString: strerror(errno))).")
        }
        var result: Int32
        repeat {
            result = flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB))
        } while result != 0 && errno == EINTR
        if result != 0 {
            let code = errno
            close(fd)
            if code == EWOULDBLOCK {
                throw StoreError(
                    .busy, "another streamdb sync is running on \(databasePath); this one stops (use --wait to queue behind it).")
            }
            throw StoreError(.other, "cannot lock \(path): \(String(cString: strerror(code))).")
        }
        descriptor = fd
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
