import ArgumentParser
import StreamDBOutput
import StreamDBQuery

extension Streamdb {
    struct Streams: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "streams",
            abstract: "List the streams, one row each, now or as the mirror knew them at a moment."
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Option(help: "Only streams in this region (title or id).")
        var region: String?

        @Option(help: "Only streams with this status (raw value, or a name from --status-labels).")
        var status: String?

        @Option(help: "Only streams of this case type (motion-detect, face-recognition, ...).")
        var caseType: String?

        @Option(help: "Only the streams of this source (its name; see `streamdb runs`).")
        var source: String?

        @Option(
            help: ArgumentHelp(
                "Every job of this camera stream (stream_uid), present or gone: the jobs the platform's updates made.", valueName: "uuid"))
        var streamUID: String?

        @Flag(help: "List the streams that are gone instead.")
        var gone = false

        @Option(
            help: ArgumentHelp(
                "The fleet as the mirror knew it at this time (as the tables print it, ISO 8601, a date, or 6h, 2d, 1w ago).",
                valueName: "time"))
        var asOf: String?

        @Option(help: "Order: job_uid, status, case_type, version (highest first), first_seen, last_seen or gone (newest first).")
        var sort: StreamList.Sort = .jobUID

        @Option(help: "At most this many streams (after sorting).")
        var limit: Int?

        func validate() throws {
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1.") }
        }

        func run() async throws {
            let config = try database.loadConfig()
            let context = try output.context(config)
            var filter = StreamList.Filter()
            filter.region = region
            filter.status = status.map(context.labels.raw)
            filter.caseType = caseType
            filter.gone = gone
            filter.source = source
            filter.streamUID = streamUID
            filter.sort = sort
            filter.limit = limit
            filter.asOf = try asOf.map { try parseTime($0, option: "--as-of", zone: context.zone) }
            let streams = try await database.open(config).streams(filter)
            streams.write(context)
            if let why = streams.emptyBecause { printError(why) }
        }
    }
}

extension StreamList.Sort: ExpressibleByArgument {}
