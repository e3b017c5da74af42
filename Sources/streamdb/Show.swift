import ArgumentParser
import StreamDBOutput

extension Streamdb {
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Print one stored version of a stream exactly as stored: the payload, or its pipeline config."
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

        @Flag(help: "Print the parsed pipeline config (platform_json) instead of the payload.")
        var config = false

        func validate() throws {
            if version != nil && asOf != nil { throw ValidationError("give --version or --as-of, not both.") }
        }

        func run() async throws {
            let moment = try asOf.map { try parseTime($0, option: "--as-of") }
            let stored = try database.open().version(of: jobUID, number: version, asOf: moment)
            print((config ? try stored.config() : try stored.payloadDocument()).prettyText)
        }
    }
}
