import ArgumentParser
import Foundation
import GRDB
import Logging
import StreamDB

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

        @Option(help: ArgumentHelp("API token. Prefer $STREAMDB_TOKEN or --token-file: a command line is visible to other users.", valueName: "token"))
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

        @Flag(help: "Store passwords in camera and callback URLs as served (masked as *** by default).")
        var keepURLCredentials = false

        @Flag(help: "Read the whole database for damage before writing, even when not due (due: when something other than a clean sync changed the file, and once a day).")
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
        }

        func run() async throws {
            let logger = bootstrapLogging(level: quiet ? .error : (verbose ? .info : .warning))
            let environment = ProcessInfo.processInfo.environment
            guard let urlText = url ?? environment["STREAMDB_URL"], !urlText.isEmpty else {
                throw fail("no server given: pass --url or set $STREAMDB_URL.")
            }
            var configuration: APIConfiguration
            do {
                configuration = APIConfiguration(baseURL: try APIConfiguration.parseBaseURL(urlText))
            } catch let error as APIError {
                throw fail(error.message)
            }
            if token != nil && !quiet {
                logger.warning("the token was given on the command line, where other users can see it; prefer $STREAMDB_TOKEN or --token-file")
            }
            if let tokenFile {
                guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                    throw fail("cannot read the token file '\(tokenFile)'.")
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
            if insecure {
                logger.warning("TLS certificate verification is off (--insecure): the server's identity is not checked")
            }

            var options = SyncOptions()
            options.useList = !noList
            options.concurrency = concurrency
            options.batchSize = batchSize
            options.keepURLCredentials = keepURLCredentials
            options.jobUIDs = jobUIDs
            if let jobsFile {
                guard let text = try? String(contentsOfFile: jobsFile, encoding: .utf8) else {
                    throw fail("cannot read the jobs file '\(jobsFile)'.")
                }
                options.jobUIDs += text.split(whereSeparator: \.isNewline)
                    .map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            }

            let report: SyncReport
            do {
                let lock = try SyncLock(databasePath: database.path, wait: wait)
                let store = try HistoryStore.openForWriting(path: database.path, integrityCheck: checkIntegrity ? .always : .whenDue)
                if store.checkedThisRun {
                    logger.info("checked the whole database file for damage (PRAGMA quick_check): sound")
                } else {
                    logger.info("database integrity check not due: unchanged since the last clean sync, last checked \(store.checkedAt ?? "?")")
                }
                let api = try StreamsAPI(configuration: configuration, logger: logger)
                let progress = ProgressBar(enabled: !quiet && isatty(STDERR_FILENO) == 1)
                let sync = StreamSync(api: api, store: store, logger: logger, onProgress: { p in
                    progress.update(done: p.done, total: p.total, label: p.phase)
                })
                do {
                    report = try await sync.run(options)
                } catch {
                    await api.shutdown()
                    throw error
                }
                progress.finish()
                await api.shutdown()
                // Closed while the lock is held, so that the marker describes the file this sync left.
                try store.closeAfterSync()
                withExtendedLifetime(lock) {}
            } catch let error as StoreError {
                throw fail(error.message, error.reason == .busy ? .busy : .failed)
            } catch let error as APIError {
                throw fail(error.message)
            } catch let error as DatabaseError {
                // What the store does not translate (a damaged schema, say): still one sentence.
                let detail = (error.message ?? "\(error.resultCode)").replacingOccurrences(of: "\n", with: " ")
                throw fail("cannot use the database \(database.path) (SQLite: \(detail)).")
            }
            switch report.outcome {
            case .ok:
                if !quiet { print(report.summary) }
            case .partial:
                print(report.summary)
                FileHandle.standardError.write(Data("streamdb: some streams failed; see `streamdb runs --db \(database.path)`.\n".utf8))
                throw ExitStatus.partial.code
            case .failed:
                print(report.summary)
                throw fail(report.message ?? "the sync failed.")
            }
        }
    }
}

extension APIConfiguration.AuthScheme: ExpressibleByArgument {}
