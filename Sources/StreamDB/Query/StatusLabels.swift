import Foundation

/// Names for raw status values, from a user's file of lines like `11=WORKING`. The API does not
/// publish its integers' meaning, so streamdb shows raw values unless told otherwise, and falls
/// back to the raw value for codes the file does not name.
public struct StatusLabels: Sendable {
    public var names: [String: String]

    public init(names: [String: String] = [:]) { self.names = names }

    /// Reads `CODE=NAME` lines; blank lines and `#` comments are skipped.
    public init(file path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw QueryError("cannot read the status labels file '\(path)'.")
        }
        var names: [String: String] = [:]
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw QueryError("\(path) line \(number + 1): expected CODE=NAME, found '\(line)'.")
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
}
