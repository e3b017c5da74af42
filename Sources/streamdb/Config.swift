import ArgumentParser
import Foundation
import StreamDBConfig
import StreamDBModel

extension Streamdb {
    struct Config: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "config",
            abstract: "Print the effective settings and where each came from (secrets as ***), or only check the config file.",
            discussion: """
                The config file is --config FILE, else $STREAMDB_CONFIG, else ./streamdb.toml when present. \
                Settings come from flags, then the environment, then the file, then the defaults.
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Flag(help: "Only validate the config file: print nothing but an error, exit 0 when it is good.")
        var check = false

        func run() async throws {
            let located = StreamdbConfig.locate(flag: database.config, environment: ProcessInfo.processInfo.environment)
            let config = try database.loadConfig()
            if check {
                guard let config else {
                    throw InputError("no config file: give --config FILE, set $STREAMDB_CONFIG, or create ./streamdb.toml.")
                }
                print("\(config.path): valid, \(config.sources.count) source\(config.sources.count == 1 ? "" : "s").")
                return
            }
            var rows: [(String, String, String)] = []
            rows.append(("config", located?.path ?? "(none)", located?.origin ?? "no --config, $STREAMDB_CONFIG or ./streamdb.toml"))
            let db: (String, String) =
                database.db.map { ($0, "--db") } ?? environment("STREAMDB_DB").map { ($0, "$STREAMDB_DB") }
                ?? config?.db.map { ($0, "config file") } ?? ("streamdb.sqlite", "default")
            rows.append(("db", db.0, db.1))
            let labels: (String, String) =
                environment("STREAMDB_STATUS_LABELS").map { ($0, "$STREAMDB_STATUS_LABELS") }
                ?? config?.statusLabelsFile.map { ($0, "config file") }
                ?? config?.statusLabels.map { names in
                    (names.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "), "config file")
                } ?? ("(raw codes)", "default")
            rows.append(("status_labels", labels.0, labels.1))
            rows.append(
                (
                    "up_statuses", config?.upStatuses?.joined(separator: ", ") ?? "(the status labelled WORKING)",
                    config?.upStatuses == nil ? "default" : "config file"
                ))
            rows.append(("output.format", config?.format ?? "table", config?.format == nil ? "default" : "config file"))
            rows.append(("output.tz", config?.tz ?? "UTC", config?.tz == nil ? "default" : "config file"))
            if let url = environment("STREAMDB_URL") {
                rows.append(("source", url, "$STREAMDB_URL (the config file's sources are not synced)"))
            }
            for source in config?.sources ?? [] {
                let prefix = "source \(source.name)"
                rows.append(("\(prefix).url", source.url.absoluteString, "config file"))
                let token =
                    environment("STREAMDB_TOKEN") != nil
                    ? ("***", "$STREAMDB_TOKEN")
                    : source.token.map { _ in ("***", source.tokenOrigin ?? "config file") } ?? ("(none)", "default")
                rows.append(("\(prefix).token", token.0, token.1))
                rows.append(
                    ("\(prefix).auth_scheme", (source.authScheme ?? .token).rawValue, source.authScheme == nil ? "default" : "config file"))
                if let ca = source.caFile { rows.append(("\(prefix).ca_file", ca, "config file")) }
                rows.append(("\(prefix).insecure", String(source.insecure ?? false), source.insecure == nil ? "default" : "config file"))
                rows.append(
                    ("\(prefix).concurrency", String(source.concurrency ?? 8), source.concurrency == nil ? "default" : "config file"))
                rows.append(("\(prefix).timeout", String(source.timeout ?? 30), source.timeout == nil ? "default" : "config file"))
                rows.append(("\(prefix).retries", String(source.retries ?? 3), source.retries == nil ? "default" : "config file"))
                rows.append(("\(prefix).list", String(source.list ?? true), source.list == nil ? "default" : "config file"))
                if !source.jobUIDs.isEmpty { rows.append(("\(prefix).job_uids", source.jobUIDs.joined(separator: ", "), "config file")) }
                if let jobs = source.jobsFile { rows.append(("\(prefix).jobs_file", jobs, "config file")) }
                if !source.maskQueryParams.isEmpty {
                    rows.append(("\(prefix).mask_query_params", source.maskQueryParams.joined(separator: ", "), "config file"))
                }
            }
            let widths = (rows.map(\.0.count).max() ?? 0, rows.map(\.1.count).max() ?? 0)
            print(
                "setting".padding(toLength: widths.0, withPad: " ", startingAt: 0) + "  "
                    + "value".padding(toLength: widths.1, withPad: " ", startingAt: 0) + "  from")
            for (key, value, origin) in rows {
                print(
                    key.padding(toLength: widths.0, withPad: " ", startingAt: 0) + "  "
                        + value.padding(toLength: widths.1, withPad: " ", startingAt: 0) + "  " + origin)
            }
        }
    }
}
