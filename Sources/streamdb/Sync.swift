import ArgumentParser
import Foundation
import Logging
import StreamDBAPI
import StreamDBModel
import StreamDBOutput
import StreamDBStore
import StreamDBSync

extension Streamdb {
    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sync",
            abstract: "Fetch the streams and store what changed.",
            discussion: """
                Streams come from the list route (every page), the uids named with --job-uid or \
                --jobs-file, and every stream already in the database that is not gone. A new version \
                is stored only when a stream's content changed; `updated_at` moving alone is not a change.

                Before writing, a sync reads the whole file for damage (PRAGMA quick_check) when \
                something other than a clean sync changed it since (its size or modification time \
                differ from <db>.checked), when the last sync did not close it, and at least once a day; \
                --check-integrity checks every time.

                Exit status: 0 ok; 1 partial (some streams failed, see `streamdb runs`); 2 failed \
                (unreachable, credentials refused, bad arguments); 3 another sync holds the database \
                (use --wait to queue).
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Option(help: ArgumentHelp("The analytics server, e.g. https://analytics.example. Default: $STREAMDB_URL.", valueName: "url"))
        var url: String?

        @Option(
            help: ArgumentHelp(
                "API token. Prefer $STREAMDB_TOKEN or --token-file: a command line is visible to other users.", valueName: "token"))
        var token: String?

        @Option(help: ArgumentHelp("Read the API token from this file.", valueName: "file"))
        var tokenFile: String?

        @Option(help: "How the token is sent: token (Authorization: Token ...) or bearer.")
        var authScheme: APIConfiguration.AuthScheme = .token

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

        @Option(help: "Detail requests in flight at once.")
        var concurrency = 8

        @Option(help: "Streams written per transaction. A killed run loses at most one batch, which the next run fetches again.")
        var batchSize = 1000

        @Option(help: "Seconds one request may take, body included.")
        var timeout: Double = 30

        @Option(help: "Retries for server errors, throttling, timeouts and dropped connections.")
        var retries = 3

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

        @Flag(help: "Print only errors (for cron).")
        var quiet = false

        @Flag(help: "Log each retry and request problem.")
        var verbose = false

        func validate() throws {
            guard concurrency >= 1 && concurrency <= 256 else { throw ValidationError("--concurrency must be between 1 and 256.") }
            guard batchSize >= 1 && batchSize <= 100_000 else { throw ValidationError("--batch-size must be between 1 and 100000.") }
            guard timeout > 0 else { throw ValidationError("--timeout must be positive.") }
            guard retries >= 0 && retries <= 20 else { throw ValidationError("--retries must be between 0 and 20.") }
            for uid in jobUIDs where JobUID.normalized(uid.trimmingCharacters(in: .whitespacesAndNewlines)) == nil {
                throw ValidationError(
                    "--job-uid: '\(uid.prefix(80))' is not a job_uid (a UUID such as 00617614-b938-11ee-bfd6-5622fced16a0).")
            }
        }

        func run() async throws {
            let logger = bootstrapLogging(level: quiet ? .error : (verbose ? .info : .warning))
            var session = SyncSession(databasePath: database.path, api: try apiConfiguration())
            session.options = try syncOptions()
            session.wait = wait
            session.integrityCheck = checkIntegrity ? .always : .whenDue
            if token != nil && !quiet {
                printError("the token was given on the command line, where other users can see it; prefer $STREAMDB_TOKEN or --token-file.")
            }
            if insecure && !quiet {
                printError("TLS certificate verification is off (--insecure): the server's identity is not checked.")
            }
            let progress = ProgressBar(enabled: !quiet && isatty(STDERR_FILENO) == 1)
            let report = try await session.run(logger: logger) { p in
                progress.update(done: p.done, total: p.total, label: p.phase.rawValue)
            }
            progress.finish()
            if let note = report.sourceNote { printError(note) }
            if report.outcome != .ok || !quiet { print(report.summary) }
            if let failure = report.failure(databasePath: database.path) { throw failure }
        }

        /// The server, credentials and transport settings from the options and the environment.
        private func apiConfiguration() throws -> APIConfiguration {
            let environment = ProcessInfo.processInfo.environment
            guard let urlText = url ?? environment["STREAMDB_URL"], !urlText.isEmpty else {
                throw InputError("no server given: pass --url or set $STREAMDB_URL.")
            }
            var configuration = APIConfiguration(baseURL: try APIConfiguration.parseBaseURL(urlText))
            if let tokenFile {
                guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                    throw InputError("cannot read the token file '\(tokenFile)'.")
                }
                configuration.token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            } else {
                configuration.token = token ?? environment["STREAMDB_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            }
            configuration.authScheme = authScheme
            configuration.insecure = insecure
            configuration.caFile = caFile
            configuration.timeout = timeout
            configuration.maxAttempts = retries + 1
            return configuration
        }

        /// What to sync: the listing, the named uids (options and jobs file), concurrency, batches.
        private func syncOptions() throws -> SyncOptions {
            var options = SyncOptions()
            options.useList = !noList
            options.concurrency = concurrency
            options.batchSize = batchSize
            options.keepURLCredentials = keepURLCredentials
            options.maskQueryParameters = maskQueryParameters
            options.jobUIDs = jobUIDs.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            if let jobsFile {
                guard let text = try? String(contentsOfFile: jobsFile, encoding: .utf8) else {
                    throw InputError("cannot read the jobs file '\(jobsFile)'.")
                }
                options.jobUIDs += text.split(whereSeparator: \.isNewline)
                    .map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            }
            return options
        }
    }
}

extension APIConfiguration.AuthScheme: ExpressibleByArgument {}
