import ArgumentParser
import Foundation
import StreamDBOutput
import StreamDBQuery

extension Streamdb {
    struct Events: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "events",
            abstract: "The fleet's change feed: first sightings, status changes, config and region changes, gone, back, replaced.",
            discussion: """
                One row per event, oldest first. After each cron run, an alerting script reads: \
                streamdb events --last-run --kind status --format ndjson
                """
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Option(help: ArgumentHelp("Events at this time or later (as printed, ISO 8601, a date, or 6h, 2d, 1w ago).", valueName: "time"))
        var since: String?

        @Option(help: ArgumentHelp("Events at this time or earlier.", valueName: "time"))
        var until: String?

        @Flag(help: "Only the events the last run of each source recorded.")
        var lastRun = false

        @Option(help: ArgumentHelp("Only the events of the runs after this one.", valueName: "run"))
        var sinceRun: Int64?

        @Option(help: "Only events of this kind (repeatable): first_seen, status, config, regions, gone, back, replaced.")
        var kind: [EventFeed.Kind] = []

        @Option(help: "Only streams now in this region (title or id).")
        var region: String?

        @Option(help: "Only streams of this case type.")
        var caseType: String?

        @Option(help: "Only streams of this source (its name).")
        var source: String?

        @Option(help: "Only changes into this status (a code, or a name from the labels).")
        var status: String?

        func run() async throws {
            let config = try database.loadConfig()
            let context = try output.context(config)
            var filter = EventFeed.Filter()
            (filter.since, filter.until) = try parseWindow(since: since, until: until, zone: context.zone)
            filter.lastRun = lastRun
            filter.afterRun = sinceRun
            filter.kinds = Set(kind)
            filter.region = region
            filter.caseType = caseType
            filter.source = source
            filter.status = status.map(context.labels.raw)
            try await database.open(config).events(filter).write(context)
        }
    }
}

extension EventFeed.Kind: ExpressibleByArgument {}
