import ArgumentParser
import StreamDBModel
import StreamDBOutput

extension Streamdb {
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Print one stored version of a stream: the payload, or its pipeline config as served.",
            discussion: """
                The config strings (platform_json, binary_json) are kept as the server served them, byte \
                for byte (secrets masked), since migration 0006; --config prints platform_json so, \
                indented, keys in their order and numbers as spelled. --canonical prints the canonical \
                form instead (sorted keys, canonical numbers: what change detection compares).
                """
        )

        @OptionGroup var database: DatabaseOnlyOptions

        @Argument(help: "The stream's job_uid, or a unique start of it.")
        var jobUID: String

        @Option(help: "The version to show (default: the current one).")
        var version: Int64?

        @Option(
            help: ArgumentHelp(
                "The version the mirror held at this time (as the tables print it, ISO 8601, a date, or 6h, 2d, 1w ago).", valueName: "time"
            ))
        var asOf: String?

        @Flag(help: "Print the pipeline config (platform_json) as served instead of the payload.")
        var config = false

        @Flag(help: "Print the canonical form (sorted keys, canonical numbers) instead of the text as served.")
        var canonical = false

        func validate() throws {
            if version != nil && asOf != nil { throw ValidationError("give --version or --as-of, not both.") }
        }

        func run() async throws {
            let moment = try asOf.map { try parseTime($0, option: "--as-of") }
            let stored = try await database.open().version(of: jobUID, number: version, asOf: moment)
            if config {
                print(canonical ? try stored.config().prettyText : JSONTextPretty.format(try stored.servedConfigText()))
            } else if canonical, case .object(var members) = try stored.payloadDocument() {
                // The configs' canonical text in place of the served strings.
                for key in ["platform_json", "binary_json"] {
                    if let text = members[key]?.stringValue, let parsed = try? JSONValue.parse(text) {
                        members[key] = .string(parsed.canonicalText)
                    }
                }
                print(JSONValue.object(members).prettyText)
            } else {
                print(try stored.payloadDocument().prettyText)
            }
        }
    }
}
