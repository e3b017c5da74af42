// Build-time tool used by the EmbedMigrations plugin.
// Usage: embed-migrations OUTPUT.swift FILE.sql...
// Writes a Swift file that defines `EmbeddedMigrations.all`: each migration's name (the file name
// without `.sql`) and its SQL text, in file-name order.
import Foundation

let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first else {
    FileHandle.standardError.write(Data("usage: embed-migrations OUTPUT.swift FILE.sql...\n".utf8))
    exit(64)
}

/// A raw string literal that holds `text` exactly: enough `#` that no run inside can close it.
func rawLiteral(_ text: String) -> String {
    var longest = 0
    var run = -1
    for character in text {
        if character == "\"" {
            run = 0
        } else if character == "#", run >= 0 {
            run += 1
            longest = max(longest, run)
        } else {
            run = -1
        }
    }
    let hashes = String(repeating: "#", count: longest + 1)
    return "\(hashes)\"\"\"\n\(text)\n\"\"\"\(hashes)"
}

var entries: [String] = []
for path in arguments.dropFirst().sorted(by: { ($0 as NSString).lastPathComponent < ($1 as NSString).lastPathComponent }) {
    let url = URL(fileURLWithPath: path)
    let name = url.deletingPathExtension().lastPathComponent
    let sql = try String(contentsOf: url, encoding: .utf8)
    entries.append("        EmbeddedMigration(name: \(rawLiteral(name)), sql: \(rawLiteral(sql))),")
}

let source = """
    // Generated at build time by embed-migrations from migrations/*.sql. Do not edit.

    /// The schema migrations compiled into this binary, in the order they apply.
    enum EmbeddedMigrations {
        static let all: [EmbeddedMigration] = [
    \(entries.joined(separator: "\n"))
        ]
    }

    """
try source.write(to: URL(fileURLWithPath: output), atomically: true, encoding: .utf8)
