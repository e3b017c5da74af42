import Foundation
import Testing

/// Every sample output in README.md comes from the real program: the demo is run, then each
/// command the README shows on its database, and the outputs are compared with what the README
/// prints, times, durations, elapsed seconds and ports aside.
@Suite("README")
struct ReadmeTests {
    static let readme = try! String(contentsOf: BuiltProduct.packageRoot.appending(path: "README.md"), encoding: .utf8)

    /// A fenced block that starts with `$ streamdb ...` (or `$ swift run streamdb demo`), after
    /// optional `NAME=value` assignments: the command and the output the README shows.
    struct Sample: CustomTestStringConvertible {
        let command: String
        let output: String
        var testDescription: String { command }
    }

    static var samples: [Sample] {
        var samples: [Sample] = []
        var block: [Substring]?
        var plain = false
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") {
                if block == nil {
                    // A fence opens; only plain ones (no language) hold sample outputs.
                    block = []
                    plain = line == "```"
                } else {
                    if plain, let first = block!.first, first.hasPrefix("$ "),
                        first.contains("streamdb ") || first.hasSuffix("streamdb demo")
                    {
                        samples.append(Sample(command: String(first.dropFirst(2)), output: block!.dropFirst().joined(separator: "\n")))
                    }
                    block = nil
                }
            } else {
                block?.append(line)
            }
        }
        return samples
    }

    /// What may differ between two runs of the same commands: times, durations, elapsed seconds,
    /// percentages, ports, column widths and the lengths of a chart's runs of shades.
    static func normalised(_ text: String) -> String {
        var text = text
        let rules: [(String, String)] = [
            (#"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?Z?( [+-]\d{4})?"#, "T"),
            (#"\b(\d+d )?(\d+h )?(\d+m )?\d+[smh]\b"#, "D"),
            (#"\b\d+\.\d+ s\b"#, "E"),
            (#"\d+(\.\d+)? %"#, "P"),
            (#""duration":[0-9.]+"#, "\"duration\":D"),
            (#"127\.0\.0\.1:\d+"#, "127.0.0.1:PORT"),
        ]
        for (pattern, replacement) in rules {
            text = text.replacingOccurrences(of: pattern, with: replacement, options: .regularExpression)
        }
        return text.split(separator: "\n").map { line -> String in
            var line = String(line)
            // A chart's bar and a table's rule: the runs' lengths follow the clock and the widths.
            if line.hasPrefix("|") || line.hasPrefix("-") {
                line = line.replacingOccurrences(of: #"(.)\1+"#, with: "$1", options: .regularExpression)
            }
            return line.replacingOccurrences(of: #"[ \t]+"#, with: " ", options: .regularExpression).trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }

    @Test("The README shows at least the demo and the everyday commands")
    func hasSamples() {
        let commands = Self.samples.map(\.command)
        #expect(commands.first == "swift run streamdb demo")
        for name in ["history", "regions", "streams", "diff", "runs", "sql", "config"] {
            #expect(commands.contains { $0.contains("streamdb \(name) ") }, "no sample of \(name)")
        }
    }

    @Test("Every sample output in the README is what the program prints")
    func samplesMatch() async throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "streamdb-readme-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createSymbolicLink(
            at: directory.appending(path: "examples"), withDestinationURL: BuiltProduct.packageRoot.appending(path: "examples"))
        for sample in Self.samples {
            // The command as a shell would run it, with the built binary for `streamdb` (and for
            // `swift run streamdb`), after the README's `NAME=...` assignments (given a value).
            var words = sample.command.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            var assignments: [String] = []
            while let first = words.first, first.contains("="), !first.hasPrefix("-") {
                assignments.append(first.replacingOccurrences(of: "=...", with: "=x"))
                words.removeFirst()
            }
            if words.starts(with: ["swift", "run"]) { words.removeFirst(2) }
            #expect(words.first == "streamdb", "\(sample.command)")
            words[0] = "'\(BuiltProduct.streamdb.path())'"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "cd '\(directory.path())' && " + (assignments + words).joined(separator: " ")]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let printed = String(decoding: data, as: UTF8.self)
            #expect(Self.normalised(printed) == Self.normalised(sample.output), "README: $ \(sample.command)\n--- printed:\n\(printed)")
        }
    }
}
