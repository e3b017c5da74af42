import Foundation
import StreamDBModel

/// A status labels file that cannot be used; status 2.
public struct LabelsError: StreamDBError {
    public let message: String
    public var exitStatus: ExitStatus { .failed }
    init(_ message: String) { self.message = message }
}

/// Names for raw status values, from a user's file of lines like `11=WORKING`. The API does not
/// publish its integers' meaning, so streamdb shows raw values unless told otherwise, and falls
/// back to the raw value for codes the file does not name.
public struct StatusLabels: Sendable {
    public var names: [String: String]

    public init(names: [String: String] = [:]) { self.names = names }

    /// Reads `CODE=NAME` lines; blank lines and `#` comments are skipped.
    public init(file path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw LabelsError("cannot read the status labels file '\(path)'.")
        }
        var names: [String: String] = [:]
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw LabelsError("\(path) line \(number + 1): expected CODE=NAME, found '\(line)'.")
            }
            names[parts[0]] = parts[1]
        }
        self.names = names
    }

    /// The name alone (`WORKING`), or the raw value when it has none.
    public func name(_ raw: String) -> String { names[raw] ?? raw }

    /// The label for a raw status (`WORKING (11)`), or the raw value itself.
    public func label(_ raw: String) -> String {
        names[raw].map { "\($0) (\(raw))" } ?? raw
    }

    /// The name of a raw status (`WORKING`), or its raw text when it has none; `null` for none.
    public func name(_ status: StatusValue?) -> String {
        status.map { name($0.description) } ?? "null"
    }

    /// The label of a raw status (`WORKING (11)`), or its raw text when it has none.
    public func label(_ status: StatusValue) -> String { label(status.description) }

    /// The raw value a user means by `text`: a code, or a name from the labels (any case).
    public func raw(for text: String) -> String {
        names.first { $0.value.caseInsensitiveCompare(text) == .orderedSame }?.key ?? text
    }
}
