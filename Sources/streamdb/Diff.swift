import ArgumentParser
import Foundation
import StreamDBModel
import StreamDBOutput
import StreamDBQuery

extension Streamdb {
    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "diff",
            abstract: "Show what changed between two stored pipeline configs, path by path.",
            discussion: """
                streamdb diff UID                  its last config change (or, when it has none
                                                   and it replaced a job, across that replacement)
                streamdb diff UID --follow         across the platform's replacement of its job
                streamdb diff UID --payload        its last two versions, whole
                streamdb diff UID --from 3 --to 7  two of its versions
                streamdb diff UID_A UID_B          two streams' configs now (or --as-of T)

                Arrays of objects with an Id are matched by it (a reordered area is no change). \
                Exit status: 0 equal, 1 different (like diff(1)), 2 error.
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Argument(help: ArgumentHelp("One stream (compare its versions) or two (compare their configs).", valueName: "job-uid"))
        var jobUIDs: [String]

        @Option(help: "The older version (default: the one before --to).")
        var from: Int64?

        @Option(help: "The newer version (default: the current one).")
        var to: Int64?

        @Option(
            help: ArgumentHelp(
                "Compare the versions held at this time (two streams), or the version then with the current one (one stream).",
                valueName: "time"))
        var asOf: String?

        @Flag(help: "Compare the config of the job this one replaced (its last version) with this job's first.")
        var follow = false

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
            let history = try await database.open(try database.loadConfig())
            let old: StoredVersion
            let new: StoredVersion
            if follow {
                guard jobUIDs.count == 1, from == nil, to == nil, moment == nil else {
                    throw ValidationError(
                        "--follow compares one job with the job it replaced: give one job_uid and no --from, --to or --as-of.")
                }
                guard let change = try history.lastReplacement(of: jobUIDs[0]) else {
                    throw InputError("\(try history.resolve(jobUIDs[0])) did not replace another job (see streamdb history --follow).")
                }
                (old, new) = change
            } else if jobUIDs.count == 1, from == nil, to == nil, moment == nil, !payload {
                if let change = try history.lastConfigChange(of: jobUIDs[0]) {
                    (old, new) = change
                } else if let change = try history.lastReplacement(of: jobUIDs[0]) {
                    // No change of its own: the change is the platform's replacement.
                    (old, new) = change
                } else {
                    let current = try history.version(of: jobUIDs[0])
                    print("\(current.jobUID): one pipeline config in all \(current.version) stored versions (no config change to show).")
                    return
                }
            } else {
                (old, new) = try versions(history, moment: moment)
            }
            let diff =
                payload
                ? ConfigDiff(old: try old.expandedPayload(), new: try new.expandedPayload(), ignoring: ignore)
                : ConfigDiff(old: try old.config(), new: try new.config(), ignoring: ignore)
            switch format {
            case .json:
                print(diff.jsonPatch.prettyText)
            case .text:
                print("--- \(old.jobUID) version \(old.version) (\(old.observedAt.map { DurationText.readable($0) } ?? "?"))")
                print("+++ \(new.jobUID) version \(new.version) (\(new.observedAt.map { DurationText.readable($0) } ?? "?"))")
                print(diff.isEmpty ? "(no differences)" : diff.text)
            }
            if !diff.isEmpty { throw ExitCode(1) }
        }

        /// The two versions the arguments name.
        private func versions(_ history: HistoryReader, moment: Date?) throws -> (StoredVersion, StoredVersion) {
            if jobUIDs.count == 2 {
                return (try history.version(of: jobUIDs[0], asOf: moment), try history.version(of: jobUIDs[1], asOf: moment))
            }
            let newer = try history.version(of: jobUIDs[0], number: to)
            if let moment, from == nil {
                return (try history.version(of: jobUIDs[0], asOf: moment), newer)
            }
            return (try history.version(of: jobUIDs[0], number: from ?? max(1, newer.version - 1)), newer)
        }
    }
}
