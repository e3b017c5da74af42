import StreamDBModel

/// A config file that cannot be used: one sentence naming the file, the line where known, and the
/// key. Status 2, and nothing is synced or written.
public struct ConfigError: StreamDBError {
    public let message: String
    public var exitStatus: ExitStatus { .failed }

    init(_ path: String, line: Int? = nil, key: String? = nil, _ problem: String) {
        var place = path
        if let line { place += ", line \(line)" }
        if let key { place += ", key '\(key)'" }
        message = "\(place): \(problem)"
    }
}
