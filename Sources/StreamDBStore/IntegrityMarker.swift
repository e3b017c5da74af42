import Foundation
import StreamDBModel

/// How often `streamdb sync` reads the whole history file to check it (`PRAGMA quick_check`)
/// before writing: a damaged b-tree that is written to can spread the damage.
public enum IntegrityCheckPolicy: Sendable {
    /// Before every write session.
    case always
    /// When the file may have changed since the last check: it was not closed by a clean sync, it
    /// differs from how that sync left it (something else wrote it, it was restored, truncated or
    /// overwritten), or the last check is older than ``IntegrityMarker/interval``. Damage that
    /// leaves the file's size and modification time alone (a failing disk) is found by the daily
    /// check.
    case whenDue
}

/// `<database>.checked`, beside the database: when the file was last checked whole, and its size
/// and modification time when a sync last closed it cleanly. Written only after a clean close, so a
/// killed or failed sync leaves a marker that no longer matches and the next sync checks.
struct IntegrityMarker: Codable {
    /// The longest time between two checks of a file that nothing else changed.
    static let interval: TimeInterval = 24 * 3600

    /// When the file was last found sound (ISO 8601).
    var checkedAt: String
    var size: Int64
    /// The file's modification time, in nanoseconds since 1970.
    var modifiedNanoseconds: Int64

    static func path(for databasePath: String) -> String { databasePath + ".checked" }

    /// The size and modification time of a file, or nil when it cannot be read.
    static func fileState(_ path: String) -> (size: Int64, modifiedNanoseconds: Int64)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (Int64(info.st_size), Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
    }

    static func read(for databasePath: String) -> IntegrityMarker? {
        guard let data = FileManager.default.contents(atPath: path(for: databasePath)) else { return nil }
        return try? JSONDecoder().decode(IntegrityMarker.self, from: data)
    }

    /// Whether this marker spares the file at `databasePath` a check at `now`: it describes the
    /// file as it is, the last check is recent, and no write-ahead log was left behind.
    func vouches(for databasePath: String, now: Date = Date()) -> Bool {
        guard let state = Self.fileState(databasePath), state.size == size,
            state.modifiedNanoseconds == modifiedNanoseconds,
            let checked = Timestamp.parse(checkedAt),
            now.timeIntervalSince(checked) < Self.interval, checked <= now.addingTimeInterval(60)
        else { return false }
        // A clean close checkpoints and removes the log; one with frames in it means a writer
        // stopped without closing.
        let log = Self.fileState(databasePath + "-wal")
        return log == nil || log?.size == 0
    }

    /// Writes the marker for the file as it is now (mode 0600, replacing the old one atomically).
    /// A marker that cannot be written only means the next sync checks the file.
    static func write(checkedAt: String, for databasePath: String) {
        guard let state = fileState(databasePath) else { return }
        let marker = IntegrityMarker(checkedAt: checkedAt, size: state.size, modifiedNanoseconds: state.modifiedNanoseconds)
        guard let data = try? JSONEncoder().encode(marker) else { return }
        let target = path(for: databasePath)
        let temporary = target + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]) else { return }
        if rename(temporary, target) != 0 { unlink(temporary) }
    }
}
