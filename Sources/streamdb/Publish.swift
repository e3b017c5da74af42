import ArgumentParser
import Foundation
import Logging
import StreamDBConfig
import StreamDBModel
import StreamDBPostgres

/// `--to` and the password file, shared by `publish` and `sync --publish-to`.
struct MirrorOptions: ParsableArguments {
    @Option(
        name: .customLong("pg-password-file"),
        help: ArgumentHelp(
            "Read the PostgreSQL password from this file's first line. Default: $PGPASSWORD, else ~/.pgpass ($PGPASSFILE).",
            valueName: "file"))
    var passwordFile: String?

    func target(_ url: String) throws -> PostgresTarget {
        try PostgresTarget(url: url, passwordFile: passwordFile, environment: ProcessInfo.processInfo.environment)
    }
}

extension Streamdb {
    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "publish",
            abstract: "Copy what is new in the history into the team mirror on PostgreSQL.",
            discussion: """
                Copies everything the mirror lacks of this database (sources, streams, versions, documents, \
                presence events, replacements, runs and errors) in one transaction that also moves this \
                database's high-water marks: a publish stopped at any moment leaves the mirror as it was, \
                and the next one resumes exactly; publishing twice copies nothing the second time. The \
                mirror's schema (migrations/postgres) is applied first.

                --to postgresql://user@host:5432/db[?sslmode=verify-full|require|disable&sslrootcert=file] \
                (default: publish_to of the config file). TLS is verified (verify-full) unless the URL \
                says otherwise. The password comes from --pg-password-file, $PGPASSWORD or ~/.pgpass, \
                never from the URL.

                Exit status: 0 published; 2 failed (nothing of it kept); 3 a sync is writing the \
                database, or another publisher holds it or one of its sources.
                """
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var mirror: MirrorOptions

        @Option(help: ArgumentHelp("The mirror. Default: publish_to of the config file.", valueName: "postgresql-url"))
        var to: String?

        @Flag(help: "Print only errors (for cron).")
        var quiet = false

        func run() async throws {
            let config = try database.loadConfig()
            guard let url = to ?? config?.publishTo else {
                throw InputError("no mirror given: pass --to postgresql://user@host:5432/database or set publish_to in streamdb.toml.")
            }
            let target = try mirror.target(url)
            let logger = bootstrapLogging(level: .error)
            let path = database.path(config)
            let summary = try await Publisher.publish(databasePath: path, to: target, logger: logger)
            if !quiet { print(summary.line(path: path, target: target)) }
        }
    }
}
