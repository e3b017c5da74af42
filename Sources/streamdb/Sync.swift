import ArgumentParser
import Foundation
import Logging
import StreamDBAPI
import StreamDBConfig
import StreamDBModel
import StreamDBOutput
import StreamDBPostgres
import StreamDBQuery
import StreamDBStore
import StreamDBSync

extension Streamdb {
    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sync",
            abstract: "Fetch the streams and store what changed.",
            discussion: """
                The server is --url (or $STREAMDB_URL); without one, every [[source]] of the config \
                file (--config, $STREAMDB_CONFIG or ./streamdb.toml), or those named with --source, \
                fetched at once into the one database. Settings: flags, then the environment, then \
                the file, then the defaults.

                Streams come from the list route (every page), the uids named with --job-uid or \
                --jobs-file, and every stream of the source already in the database that is not gone. \
                A new version is stored only when a stream's content changed; `updated_at` moving alone \
                is not a change.

                Before writing, a sync reads the whole file for damage (PRAGMA quick_check) when \
                something other than a clean sync changed it since (its size or modification time \
                differ from <db>.checked), when the last sync did not close it, and at least once a day; \
                --check-integrity checks every time.

                Exit status (the worst of the sources): 0 ok; 1 partial (some streams failed, see \
                `streamdb runs`); 2 failed (unreachable, credentials refused, bad arguments or config); \
                3 another sync holds the database (use --wait to queue).
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Option(help: ArgumentHelp("The analytics server, e.g. https://analytics.example. Default: $STREAMDB_URL.", valueName: "url"))
        var url: String?

        @Option(
            name: .customLong("source"),
            help: ArgumentHelp(
                "The source to sync, by name (repeatable): of the config file, or the name --url is recorded under.",
                valueName: "name"))
        var sources: [String] = []

        @Option(
            help: ArgumentHelp(
                "API token. Prefer $STREAMDB_TOKEN or --token-file: a command line is visible to other users.", valueName: "token"))
        var token: String?

        @Option(help: ArgumentHelp("Read the API token from this file.", valueName: "file"))
        var tokenFile: String?

        @Option(help: "How the token is sent: token (Authorization: Token ...) or bearer (default: token).")
        var authScheme: APIConfiguration.AuthScheme?

        @Flag(help: "Skip TLS certificate verification (self-signed deployments). Prefer --ca-file.")
        var insecure = false

        @Option(help: ArgumentHelp("Trust the CA certificates in this PEM file.", valueName: "file"))
        var caFile: String?

        @Option(name: .customLong("job-uid"), help: ArgumentHelp("Sync this stream (repeatable).", valueName: "uuid"))
        var jobUIDs: [String] = []

        @Option(help: ArgumentHelp("Sync the job_uids listed in this file, one a line.", valueName: "file"))
        var jobsFile: String?

        @Flag(help: "Do not use the list route: sync named streams and the ones already in the database.")
        var noList = false

        @Option(help: "Detail requests in flight at once (default: 8).")
        var concurrency: Int?

        @Option(
            help: "Streams written per transaction (default: 1000). A killed run loses at most one batch, which the next run fetches again."
        )
        var batchSize: Int?

        @Option(help: "Seconds one request may take, body included (default: 30).")
        var timeout: Double?

        @Option(help: "Retries for server errors, throttling, timeouts and dropped connections (default: 3).")
        var retries: Int?

        @Flag(help: "Store passwords and tokens in camera and callback URLs as served (masked as *** by default).")
        var keepURLCredentials = false

        @Option(
            name: .customLong("mask-query-param"),
            help: ArgumentHelp(
                "Also mask the value of this URL query parameter (repeatable), beside token, access_token, auth, authorization, password, passwd, pass, pwd, secret, key, apikey, api_key, signature and sig.",
                valueName: "name"))
        var maskQueryParameters: [String] = []

        @Flag(
            help:
                "Read the whole database for damage before writing, even when not due (due: when something other than a clean sync changed the file, and once a day)."
        )
        var checkIntegrity = false

        @Flag(help: "Wait for a running sync on the same database to finish instead of stopping.")
        var wait = false

        @Option(
            help: ArgumentHelp(
                "After the run, write every source's last run as Prometheus metrics here (node_exporter's textfile collector), atomically. Default: metrics_file of the config file.",
                valueName: "file"))
        var metricsFile: String?

        @Option(
            help: ArgumentHelp(
                "Ping this healthchecks URL: URL/start as the run begins, URL when every source ended ok, URL/fail otherwise, with the summary as the body. Default: ping_url of the config file.",
                valueName: "url"))
        var pingURL: String?

        @Option(
            help: ArgumentHelp("Seconds one ping may take (default: 10). A ping never changes the run's outcome.", valueName: "seconds"))
        var pingTimeout: Double?

        @Option(
            help: ArgumentHelp(
                "After the run, publish what is new to this team mirror (see `streamdb publish`); a failed publish is reported and keeps the sync. Default: publish_to of the config file.",
                valueName: "postgresql-url"))
        var publishTo: String?

        @OptionGroup var mirror: MirrorOptions

        @Flag(help: "Print only errors (for cron).")
        var quiet = false

        @Flag(help: "Log each retry and request problem.")
        var verbose = false

        func validate() throws {
            if let concurrency, !(1...256).contains(concurrency) { throw ValidationError("--concurrency must be between 1 and 256.") }
            if let batchSize, !(1...100_000).contains(batchSize) { throw ValidationError("--batch-size must be between 1 and 100000.") }
            if let timeout, timeout <= 0 { throw ValidationError("--timeout must be positive.") }
            if let retries, !(0...20).contains(retries) { throw ValidationError("--retries must be between 0 and 20.") }
            if let pingTimeout, !(pingTimeout > 0 && pingTimeout <= 300) {
                throw ValidationError("--ping-timeout must be more than 0 and at most 300 seconds.")
            }
            if let pingURL, StreamdbConfig.pingURL(pingURL) == nil {
                throw ValidationError("--ping-url: '\(pingURL.prefix(80))' is not an http(s) URL (e.g. https://hc-ping.com/<uuid>).")
            }
            if let publishTo { _ = try mirror.target(publishTo) }
            if let metricsFile, let problem = StreamdbConfig.metricsFileProblem(metricsFile) {
                throw ValidationError("--metrics-file: \(problem)")
            }
            for uid in jobUIDs where JobUID.normalized(uid.trimmingCharacters(in: .whitespacesAndNewlines)) == nil {
                throw ValidationError(
                    "--job-uid: '\(uid.prefix(80))' is not a job_uid (a UUID such as 00617614-b938-11ee-bfd6-5622fced16a0).")
            }
            if (url != nil || environment("STREAMDB_URL") != nil) && sources.count > 1 {
                throw ValidationError("--url syncs one source: give at most one --source with it.")
            }
        }

        func run() async throws {
            let logger = bootstrapLogging(level: quiet ? .error : (verbose ? .info : .warning))
            let config = try database.loadConfig()
            let path = database.path(config)
            if path.hasPrefix("postgresql://") || path.hasPrefix("postgres://") {
                throw InputError(
                    "sync writes a SQLite file, not a team mirror: give --db a file, and the mirror to --publish-to.")
            }
            var session = SyncSession(databasePath: path, targets: try targets(config))
            session.wait = wait
            session.integrityCheck = checkIntegrity ? .always : .whenDue
            session.pingURL = pingURL.flatMap(StreamdbConfig.pingURL) ?? config?.pingURL
            session.pingTimeout = pingTimeout ?? 10
            if token != nil && !quiet {
                printError("the token was given on the command line, where other users can see it; prefer $STREAMDB_TOKEN or --token-file.")
            }
            if session.targets.contains(where: { $0.api.insecure }) && !quiet {
                printError("TLS certificate verification is off (insecure): the server's identity is not checked.")
            }
            let several = session.targets.count > 1
            let progress = ProgressBar(enabled: !quiet && isatty(STDERR_FILENO) == 1)
            let outcomes = try await session.runAll(logger: logger) { source, p in
                progress.update(done: p.done, total: p.total, label: several ? "\(source) \(p.phase.rawValue)" : p.phase.rawValue)
            }
            progress.finish()
            writeMetrics(outcomes, config: config, path: path)
            // After every source that ran (ok or partial: what it stored is the history too).
            let ran = outcomes.contains { if case .report = $0.result { true } else { false } }
            if ran, let url = publishTo ?? config?.publishTo {
                await publish(path: path, url: url, logger: logger)
            }
            try report(outcomes, path: path)
        }

        /// Publishes after the run; a failure is reported in one sentence and changes nothing of the
        /// sync (its data stays, the next publish copies it).
        private func publish(path: String, url: String, logger: Logger) async {
            do {
                let target = try mirror.target(url)
                let summary = try await Publisher.publish(databasePath: path, to: target, logger: logger)
                if !quiet { print(summary.line(path: path, target: target)) }
            } catch {
                let message = (error as? any StreamDBError)?.message ?? "\(error)"
                printError("the publish did not happen, the sync is kept and the next publish copies it: \(message)")
            }
        }

        /// The metrics files: --metrics-file (or the config's metrics_file) with every source of the
        /// database, and each source's own metrics_file with that source. A file that cannot be
        /// written is reported and does not change the run's outcome.
        private func writeMetrics(_ outcomes: [SyncSession.Outcome], config: StreamdbConfig?, path: String) {
            var files: [(path: String, sources: [String]?)] = []
            if let file = metricsFile ?? config?.metricsFile { files.append((file, nil)) }
            let synced = Set(outcomes.map(\.target))
            for source in config?.sources ?? [] where synced.contains(source.name) {
                if let file = source.metricsFile { files.append((file, [source.name])) }
            }
            guard !files.isEmpty else { return }
            do {
                let reader = try HistoryReader.open(path: path)
                for file in files {
                    do {
                        try AtomicFile.write(SyncMetrics.text(try reader.syncHealth(sources: file.sources)), to: file.path)
                    } catch let error as any StreamDBError {
                        printError("the metrics were not written: \(error.message)")
                    }
                }
            } catch {
                printError("the metrics were not written: \((error as? any StreamDBError)?.message ?? "\(error)")")
            }
        }

        /// Prints each source's summary and failure; ends with the worst status of them.
        private func report(_ outcomes: [SyncSession.Outcome], path: String) throws {
            let several = outcomes.count > 1
            var worst = ExitStatus.ok
            var lastFailure: (any StreamDBError)?
            for outcome in outcomes {
                switch outcome.result {
                case .report(let report):
                    if let note = report.sourceNote { printError(note) }
                    if report.outcome != .ok || !quiet { print((several ? "\(report.source.name): " : "") + report.summary) }
                    if let failure = report.failure(databasePath: path) {
                        lastFailure = failure
                        if several { printError("\(report.source.name): \(failure.message)") }
                    }
                case .failed(let error):
                    lastFailure = error
                    if several { printError("\(outcome.target): \(error.message)") }
                }
                if outcome.exitStatus.rawValue > worst.rawValue { worst = outcome.exitStatus }
            }
            guard worst != .ok else { return }
            if !several, let lastFailure { throw lastFailure }
            throw worst.code
        }

        /// The servers to sync: --url (or $STREAMDB_URL) alone, else the config file's sources.
        private func targets(_ config: StreamdbConfig?) throws -> [SyncSession.Target] {
            if let urlText = url ?? environment("STREAMDB_URL") {
                let name = sources.first
                let base = name.flatMap { name in config?.sources.first { $0.name == name } }
                return [try target(name: name, url: try APIConfiguration.parseBaseURL(urlText), base: base)]
            }
            guard let config, !config.sources.isEmpty else {
                throw InputError("no server given: pass --url, set $STREAMDB_URL, or list [[source]] entries in streamdb.toml.")
            }
            let chosen =
                sources.isEmpty
                ? config.sources
                : try sources.map { name in
                    guard let source = config.sources.first(where: { $0.name == name }) else {
                        throw InputError(
                            "\(config.path) has no source '\(name)' (its sources: \(config.sources.map(\.name).joined(separator: ", "))).")
                    }
                    return source
                }
            return try chosen.map { try target(name: $0.name, url: $0.url, base: $0) }
        }

        /// One server's settings: the flags, then the environment, then its `[[source]]`, then the
        /// defaults.
        private func target(name: String?, url: URL, base: StreamdbConfig.Source?) throws -> SyncSession.Target {
            var api = APIConfiguration(baseURL: url)
            if let tokenFile {
                guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                    throw InputError("cannot read the token file '\(tokenFile)'.")
                }
                api.token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            } else {
                api.token = token ?? environment("STREAMDB_TOKEN") ?? base?.token
            }
            api.authScheme = authScheme ?? base?.authScheme ?? .token
            api.insecure = insecure || (base?.insecure ?? false)
            api.caFile = caFile ?? base?.caFile
            api.timeout = timeout ?? base?.timeout ?? 30
            api.maxAttempts = (retries ?? base?.retries ?? 3) + 1
            var options = SyncOptions()
            options.useList = !noList && (base?.list ?? true)
            options.concurrency = concurrency ?? base?.concurrency ?? 8
            options.batchSize = batchSize ?? base?.batchSize ?? 1000
            options.keepURLCredentials = keepURLCredentials || (base?.keepURLCredentials ?? false)
            options.maskQueryParameters = maskQueryParameters + (base?.maskQueryParams ?? [])
            options.jobUIDs = jobUIDs.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } + (base?.jobUIDs ?? [])
            for file in [jobsFile, base?.jobsFile].compactMap({ $0 }) {
                guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                    throw InputError("cannot read the jobs file '\(file)'.")
                }
                options.jobUIDs += text.split(whereSeparator: \.isNewline)
                    .map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            }
            return SyncSession.Target(name: name, api: api, options: options, pingURL: base?.pingURL)
        }
    }
}

extension APIConfiguration.AuthScheme: ExpressibleByArgument {}
