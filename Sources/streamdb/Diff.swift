import ArgumentParser
import Foundation
import StreamDB

extension Streamdb {
    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "diff",
            abstract: "Show what changed between two stored pipeline configs, path by path.",
            discussion: """
                streamdb diff UID                  the last two versions of a stream
                streamdb diff UID --from 3 --to 7  two versions of a stream
                streamdb diff UID_A UID_B          two streams' current configs (or --as-of T)

                Arrays of objects with an Id are matched by it (a reordered area is no change). \
                Exit status: 0 equal, 1 different (like diff(1)), 2 error.
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "One stream (compare its versions) or two (compare their configs).")
        var jobUIDs: [String]

        @Option(help: "The older version (default: the one before --to).")
        var from: Int64?

        @Option(help: "The newer version (default: the current one).")
        var to: Int64?

        @Option(help: ArgumentHelp("Compare the versions held at this time (two streams), or the version then with the current one (one stream).", valueName: "time"))
        var asOf: String?

        @Flag(help: "Diff the whole payload (regions, status, ...) instead of the pipeline config.")
        var payload = false

        @Option(help: ArgumentHelp("Leave out changes at or below this path (repeatable), e.g. Pipeline.Detector.", valueName: "path"))
        var ignore: [String] = []

        @Option(help: "text, or json for RFC 6902 JSON Patch operations.")
        var format: DiffFormat = .text

        enum DiffFormat: String, ExpressibleByArgument { case text, json }

        func validate() throws {
            guard (1...2).contains(jobUIDs.count) else { throw ValidationError("give one job_uid (its versions) or two (their configs).") }
            if jobUIDs.count == 2 && (from != nil || to != nil) {
                throw ValidationError("--from and --to compare versions of one stream; with two streams use --as-of.")
            }
        }

        func run() async throws {
            let moment = try asOf.map { try parseTime($0, option: "--as-of") }
            let store = try openForQuery(database)
            let (old, new) = try query(store) { db -> (StoredVersion, StoredVersion) in
                let a = try StreamLookup.resolve(jobUIDs[0], in: db)
                if jobUIDs.count == 2 {
                    let b = try StreamLookup.resolve(jobUIDs[1], in: db)
                    return (try StoredVersion.load(jobUID: a, asOf: moment, in: db), try StoredVersion.load(jobUID: b, asOf: moment, in: db))
                }
                let newer = try StoredVersion.load(jobUID: a, number: to, in: db)
                if let moment, from == nil {
                    return (try StoredVersion.load(jobUID: a, asOf: moment, in: db), newer)
                }
                let olderNumber = from ?? max(1, newer.version - 1)
                return (try StoredVersion.load(jobUID: a, number: olderNumber, in: db), newer)
            }
            let diff = try query(store) { _ in
                payload
                    ? ConfigDiff(old: try old.expandedPayload(), new: try new.expandedPayload(), ignoring: ignore)
                    : ConfigDiff(old: try old.config(), new: try new.config(), ignoring: ignore)
            }
            switch format {
            case .json:
                print(diff.jsonPatch.prettyText)
            case .text:
                print("--- \(old.jobUID) version \(old.version) (\(DurationText.readable(old.observedAt)))")
                print("+++ \(new.jobUID) version \(new.version) (\(DurationText.readable(new.observedAt)))")
                print(diff.isEmpty ? "(no differences)" : diff.text)
            }
            if !diff.isEmpty { throw ExitCode(1) }
        }
    }
}
