import Foundation
import StreamDBAPI
import StreamDBModel
import StreamDBSync
import TOMLKit

/// The settings of `streamdb.toml`, validated: every path, URL, name and number checked once,
/// tokens read from where the file says.
public struct StreamdbConfig: Sendable {
    /// The file read.
    public let path: String
    public var db: String?
    /// A labels file, or names given inline (`[status_labels]`).
    public var statusLabelsFile: String?
    public var statusLabels: [String: String]?
    /// The statuses that count as up for availability.
    public var upStatuses: [String]?
    public var format: String?
    public var tz: String?
    public var sources: [Source] = []
    /// `[flapping]`: a window in seconds and a number of changes, when the file sets them.
    public var flappingWindow: Double?
    public var flappingMinChanges: Int?
    /// Where `streamdb sync` writes its Prometheus metrics, and the healthchecks URL it pings, for
    /// the whole database.
    public var metricsFile: String?
    public var pingURL: URL?
    /// The team mirror `streamdb sync` publishes to after each run (`publish_to`).
    public var publishTo: String?

    /// One `[[source]]`.
    public struct Source: Sendable {
        public var name: String
        public var url: URL
        public var token: String?
        /// Where the token came from: `token_file /etc/...`, `token_env MINSK_TOKEN`, `token (in the file)`.
        public var tokenOrigin: String?
        public var authScheme: APIConfiguration.AuthScheme?
        public var caFile: String?
        public var insecure: Bool?
        public var concurrency: Int?
        public var timeout: Double?
        public var retries: Int?
        public var batchSize: Int?
        public var jobUIDs: [String] = []
        public var jobsFile: String?
        public var list: Bool?
        public var keepURLCredentials: Bool?
        public var maskQueryParams: [String] = []
        /// This source's own metrics file and healthchecks URL.
        public var metricsFile: String?
        public var pingURL: URL?
    }

    /// Where the file is: `--config FILE`, else `$STREAMDB_CONFIG`, else `./streamdb.toml` when
    /// present; nil when none is given or found.
    public static func locate(flag: String?, environment: [String: String]) -> (path: String, origin: String)? {
        if let flag { return (flag, "--config") }
        if let env = environment["STREAMDB_CONFIG"], !env.isEmpty { return (env, "$STREAMDB_CONFIG") }
        if FileManager.default.fileExists(atPath: "streamdb.toml") { return ("streamdb.toml", "./streamdb.toml") }
        return nil
    }

    /// Reads and validates the file at `path`.
    /// - Throws: ``ConfigError``, a sentence naming the file, the line where known, and the key.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> StreamdbConfig
    {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigError(path, "cannot read the config file (\(String(cString: strerror(errno)))).")
        }
        let lines = ConfigLines(text)
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigError(path, line: error.source.begin.line, "not TOML: \(error.description).")
        }
        try checkKeys(table, path: path, lines: lines)
        let file: ConfigFile
        do {
            file = try TOMLDecoder().decode(ConfigFile.self, from: table)
        } catch let error as DecodingError {
            throw decodingError(error, path: path, lines: lines)
        }
        return try validate(file, path: path, lines: lines, environment: environment)
    }

    /// Every key of the file is one streamdb reads.
    private static func checkKeys(_ table: TOMLTable, path: String, lines: ConfigLines) throws {
        func check(_ table: TOMLTable, in section: String, index: Int?) throws {
            let allowed = ConfigFile.known[section] ?? []
            for key in table.keys where !allowed.contains(key) {
                let name = section.isEmpty ? key : "\(section)\(index.map { "[\($0 + 1)]" } ?? "").\(key)"
                let choices = allowed.sorted().joined(separator: ", ")
                throw ConfigError(
                    path, line: lines.line(of: key, section: section, index: index), key: name,
                    "unknown key (the keys here are \(choices)).")
            }
        }
        try check(table, in: "", index: nil)
        if let output = table["output"]?.table { try check(output, in: "output", index: nil) }
        if let flapping = table["flapping"]?.table { try check(flapping, in: "flapping", index: nil) }
        if let sources = table["source"]?.array {
            for (index, source) in sources.enumerated() {
                guard let source = source.table else {
                    throw ConfigError(path, key: "source", "each source is a [[source]] table.")
                }
                try check(source, in: "source", index: index)
            }
        }
    }

    /// A decoding failure as one sentence.
    private static func decodingError(_ error: DecodingError, path: String, lines: ConfigLines) -> ConfigError {
        let (context, stated): (DecodingError.Context, String)
        switch error {
        case .typeMismatch(let type, let c): (context, stated) = (c, "must be \(describe(type)).")
        case .valueNotFound(let type, let c): (context, stated) = (c, "must be \(describe(type)).")
        case .keyNotFound(let key, let c): (context, stated) = (c, "'\(key.stringValue)' is missing.")
        case .dataCorrupted(let c): (context, stated) = (c, "cannot be read: \(c.debugDescription)")
        @unknown default: return ConfigError(path, "cannot be read: \(error).")
        }
        var section = ""
        var index: Int?
        var key = ""
        for part in context.codingPath {
            if let i = part.intValue {
                index = i
                key += "[\(i + 1)]"
            } else {
                if key.isEmpty { section = part.stringValue } else if section.isEmpty { section = key }
                key += key.isEmpty ? part.stringValue : ".\(part.stringValue)"
            }
        }
        var problem = stated
        var last = context.codingPath.last { $0.intValue == nil }?.stringValue ?? ""
        if case .keyNotFound(let missing, _) = error {
            // TOMLKit says "not found" for a key whose value has another type: the key is there.
            if last != missing.stringValue {
                last = missing.stringValue
                key += key.isEmpty ? last : ".\(last)"
            }
            problem = "must be \(ConfigFile.expected[last] ?? "of another type")."
        }
        let lineSection = key.contains(".") ? (context.codingPath.first?.stringValue ?? "") : ""
        return ConfigError(path, line: lines.line(of: last, section: lineSection, index: index), key: key, problem)
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type: return "a whole number"
        case is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is [String].Type: return "a list of strings"
        case is [String: String].Type: return "a file name or a table of CODE = \"NAME\""
        default: return "of another type"
        }
    }
}
