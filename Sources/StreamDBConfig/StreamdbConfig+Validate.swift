import Foundation
import StreamDBAPI
import StreamDBModel

extension StreamdbConfig {
    /// Checks what the file says against what streamdb can use.
    static func validate(
        _ file: ConfigFile, path: String, lines: ConfigLines, environment: [String: String]
    ) throws -> StreamdbConfig {
        var config = StreamdbConfig(path: path)
        config.db = file.db
        switch file.statusLabels {
        case .file(let labels)?: config.statusLabelsFile = labels
        case .names(let names)?: config.statusLabels = names
        case nil: break
        }
        config.upStatuses = file.upStatuses
        if let format = file.output?.format {
            guard ["table", "json", "ndjson", "csv"].contains(format) else {
                throw ConfigError(
                    path, line: lines.line(of: "format", section: "output"), key: "output.format",
                    "'\(format)' is not a format (table, json, ndjson or csv).")
            }
            config.format = format
        }
        if let tz = file.output?.tz {
            guard TimeZone(identifier: tz) != nil else {
                throw ConfigError(
                    path, line: lines.line(of: "tz", section: "output"), key: "output.tz",
                    "'\(tz)' is not an IANA time zone name (e.g. Europe/Minsk, UTC).")
            }
            config.tz = tz
        }
        if let window = file.flapping?.window {
            guard let seconds = DurationInput.seconds(window), seconds > 0 else {
                throw ConfigError(
                    path, line: lines.line(of: "window", section: "flapping"), key: "flapping.window",
                    "'\(window)' is not a length of time (e.g. 30m, 1h, 1d).")
            }
            config.flappingWindow = seconds
        }
        if let minChanges = file.flapping?.minChanges {
            guard minChanges >= 2 else {
                throw ConfigError(
                    path, line: lines.line(of: "min_changes", section: "flapping"), key: "flapping.min_changes",
                    "must be at least 2.")
            }
            config.flappingMinChanges = minChanges
        }
        if let metrics = file.metricsFile {
            if let problem = metricsFileProblem(metrics) {
                throw ConfigError(path, line: lines.line(of: "metrics_file", section: ""), key: "metrics_file", problem)
            }
            config.metricsFile = metrics
        }
        if let mirror = file.publishTo {
            // Only the form here; the password and TLS files are the publish's to find.
            guard let url = URLComponents(string: mirror), url.scheme == "postgresql" || url.scheme == "postgres", url.host != nil else {
                throw ConfigError(
                    path, line: lines.line(of: "publish_to", section: ""), key: "publish_to",
                    "must be a PostgreSQL URL such as postgresql://streamdb@db.example:5432/streamdb.")
            }
            guard url.password == nil else {
                throw ConfigError(
                    path, line: lines.line(of: "publish_to", section: ""), key: "publish_to",
                    "holds a password; put it in $PGPASSWORD, ~/.pgpass or --pg-password-file instead.")
            }
            config.publishTo = mirror
        }
        if let ping = file.pingURL {
            guard let url = pingURL(ping) else {
                throw ConfigError(path, line: lines.line(of: "ping_url", section: ""), key: "ping_url", pingURLProblem(ping))
            }
            config.pingURL = url
        }
        var names = Set<String>()
        for (index, source) in (file.source ?? []).enumerated() {
            let validated = try validate(source, index: index, path: path, lines: lines, environment: environment)
            guard names.insert(validated.name).inserted else {
                throw ConfigError(
                    path, line: lines.line(of: "name", section: "source", index: index), key: "source[\(index + 1)].name",
                    "two sources are named '\(validated.name)'; a source's name must be unique.")
            }
            config.sources.append(validated)
        }
        return config
    }

    private static func validate(
        _ source: ConfigFile.Source, index: Int, path: String, lines: ConfigLines, environment: [String: String]
    ) throws -> Source {
        func fail(_ key: String, _ problem: String) -> ConfigError {
            ConfigError(path, line: lines.line(of: key, section: "source", index: index), key: "source[\(index + 1)].\(key)", problem)
        }
        guard let urlText = source.url else {
            throw ConfigError(
                path, line: lines.sectionLine("source", index: index), key: "source[\(index + 1)]", "the source has no url.")
        }
        let url: URL
        do {
            url = try APIConfiguration.parseBaseURL(urlText)
        } catch let error as APIError {
            throw fail("url", error.message)
        }
        let name = source.name ?? url.host ?? urlText
        guard !name.isEmpty, !name.contains(where: { $0.isWhitespace }) else {
            throw fail("name", "'\(name)' is not a usable name (short, without spaces).")
        }
        var validated = Source(name: name, url: url)
        try readToken(source, into: &validated, path: path, fail: fail, environment: environment)
        if let scheme = source.authScheme {
            guard let parsed = APIConfiguration.AuthScheme(rawValue: scheme) else {
                throw fail("auth_scheme", "'\(scheme)' is not token or bearer.")
            }
            validated.authScheme = parsed
        }
        if let caFile = source.caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw fail("ca_file", "cannot read the CA file '\(caFile)'.")
        }
        validated.caFile = source.caFile
        validated.insecure = source.insecure
        if let concurrency = source.concurrency, !(1...256).contains(concurrency) {
            throw fail("concurrency", "must be between 1 and 256.")
        }
        validated.concurrency = source.concurrency
        if let timeout = source.timeout, timeout <= 0 { throw fail("timeout", "must be positive.") }
        validated.timeout = source.timeout
        if let retries = source.retries, !(0...20).contains(retries) { throw fail("retries", "must be between 0 and 20.") }
        validated.retries = source.retries
        if let batch = source.batchSize, !(1...100_000).contains(batch) { throw fail("batch_size", "must be between 1 and 100000.") }
        validated.batchSize = source.batchSize
        for uid in source.jobUIDs ?? [] where JobUID.normalized(uid) == nil {
            throw fail("job_uids", "'\(uid.prefix(80))' is not a job_uid (a UUID).")
        }
        validated.jobUIDs = source.jobUIDs ?? []
        if let jobs = source.jobsFile, !FileManager.default.isReadableFile(atPath: jobs) {
            throw fail("jobs_file", "cannot read the jobs file '\(jobs)'.")
        }
        validated.jobsFile = source.jobsFile
        validated.list = source.list
        validated.keepURLCredentials = source.keepURLCredentials
        validated.maskQueryParams = source.maskQueryParams ?? []
        if let metrics = source.metricsFile {
            if let problem = metricsFileProblem(metrics) { throw fail("metrics_file", problem) }
            validated.metricsFile = metrics
        }
        if let ping = source.pingURL {
            guard let url = pingURL(ping) else { throw fail("ping_url", pingURLProblem(ping)) }
            validated.pingURL = url
        }
        return validated
    }

    /// `token_file`, `token_env` or `token` (only in a file that no one else can read).
    private static func readToken(
        _ source: ConfigFile.Source, into validated: inout Source, path: String, fail: (String, String) -> ConfigError,
        environment: [String: String]
    ) throws {
        let given = [source.token != nil, source.tokenFile != nil, source.tokenEnv != nil].filter { $0 }.count
        guard given <= 1 else { throw fail("token", "give one of token, token_file and token_env.") }
        if let file = source.tokenFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw fail("token_file", "cannot read the token file '\(file)'.")
            }
            validated.token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            validated.tokenOrigin = "token_file \(file)"
        } else if let variable = source.tokenEnv {
            guard let value = environment[variable], !value.isEmpty else {
                throw fail("token_env", "the environment variable $\(variable) is not set.")
            }
            validated.token = value
            validated.tokenOrigin = "token_env $\(variable)"
        } else if let token = source.token {
            // As ssh does with keys: a secret in a file others can read is refused.
            var info = stat()
            guard stat(path, &info) == 0, info.st_mode & 0o077 == 0 else {
                throw fail(
                    "token", "the file holds a token and others can read it: chmod 600 \(path), or use token_file or token_env.")
            }
            validated.token = token
            validated.tokenOrigin = "token in \(path)"
        }
    }
}

/// The lines of a config file, to say where a key is.
struct ConfigLines {
    let lines: [Substring]

    init(_ text: String) { lines = text.split(separator: "\n", omittingEmptySubsequences: false) }

    /// The line (from 1) of `key = ...` in `section` (the `index`-th `[[section]]`, or
    /// `[section]`; "" for the top of the file); nil when it is not found there.
    func line(of key: String, section: String, index: Int? = nil) -> Int? {
        var start = 0
        var end = lines.count
        if !section.isEmpty {
            guard let header = sectionLine(section, index: index) else { return nil }
            start = header
            end = lines[start...].firstIndex { $0.trimmingCharacters(in: .whitespaces).hasPrefix("[") } ?? lines.count
        } else {
            end = lines.firstIndex { $0.trimmingCharacters(in: .whitespaces).hasPrefix("[") } ?? lines.count
        }
        for number in start..<end {
            let line = lines[number].trimmingCharacters(in: .whitespaces)
            if line.hasPrefix(key), line.dropFirst(key.count).trimmingCharacters(in: .whitespaces).hasPrefix("=") {
                return number + 1
            }
        }
        return nil
    }

    /// The line (from 1) of the `index`-th `[[section]]`, or of `[section]`.
    func sectionLine(_ section: String, index: Int? = nil) -> Int? {
        var seen = 0
        for (number, line) in lines.enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed == "[[\(section)]]" {
                if seen == (index ?? 0) { return number + 1 }
                seen += 1
            } else if trimmed == "[\(section)]", index == nil {
                return number + 1
            }
        }
        return nil
    }
}

extension StreamdbConfig {
    /// Why a metrics file cannot be written where `path` says (its folder must exist); nil when it can.
    public static func metricsFileProblem(_ path: String) -> String? {
        let folder = (path as NSString).deletingLastPathComponent
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.isEmpty ? "." : folder, isDirectory: &isFolder), isFolder.boolValue else {
            return "the folder of '\(path)' does not exist."
        }
        return nil
    }

    /// A healthchecks ping URL: http or https with a host.
    public static func pingURL(_ text: String) -> URL? {
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host?.isEmpty == false
        else { return nil }
        return url
    }

    static func pingURLProblem(_ text: String) -> String {
        "'\(text.prefix(80))' is not an http(s) URL (e.g. https://hc-ping.com/<uuid>)."
    }
}
