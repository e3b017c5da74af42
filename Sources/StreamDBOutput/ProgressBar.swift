import Foundation

/// A one-line progress bar on standard error, drawn only when standard error is a terminal (so
/// cron mail and logs stay clean).
public final class ProgressBar: @unchecked Sendable {
    // Safe: every access to `lastDraw` is under `lock`.
    private let lock = NSLock()
    private var lastDraw = Date.distantPast
    public let enabled: Bool
    private let write: @Sendable (String) -> Void

    /// - Parameter write: where the bar's text goes; standard error unless a test captures it.
    public init(
        enabled: Bool = isatty(STDERR_FILENO) == 1,
        write: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }
    ) {
        self.enabled = enabled
        self.write = write
    }

    public func update(done: Int, total: Int?, label: String) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        guard now.timeIntervalSince(lastDraw) > 0.1 || done == total else { return }
        lastDraw = now
        var line = "\r\u{1B}[2K\(label) \(done)"
        if let total, total > 0 {
            let width = 30
            let filled = min(width, done * width / total)
            line =
                "\r\u{1B}[2K\(label) [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                + "] \(done)/\(total)"
        }
        write(line)
    }

    public func finish() {
        guard enabled else { return }
        write("\r\u{1B}[2K")
    }
}
