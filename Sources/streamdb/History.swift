import ArgumentParser
import Foundation
import StreamDBModel
import StreamDBOutput

extension Streamdb {
    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "history",
            abstract: "Show one stream's status timeline, with config versions, region moves and gone/back events.",
            discussion:
                "Each status runs from its change to the next (or now). time_source says whether the change time is the server's updated_at or the time a sync saw it."
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Argument(help: "The stream's job_uid, or a unique start of it.")
        var jobUID: String

        @Option(
            help: ArgumentHelp(
                "Only what overlaps this time or later (as the tables print it, ISO 8601, a date, or 6h, 2d, 1w ago).", valueName: "time"))
        var since: String?

        @Option(
            help: ArgumentHelp(
                "Only what overlaps this time or earlier (as the tables print it, ISO 8601, a date, or 6h, 2d, 1w ago).", valueName: "time")
        )
        var until: String?

        @Option(
            help: ArgumentHelp(
                "The timeline as the mirror knew it at this time (as printed, ISO 8601, a date, or 6h, 2d ago): what syncs had seen by then; the status then current runs to this time.",
                valueName: "time"))
        var asOf: String?

        @Flag(
            help:
                "Draw the timeline as a bar over a time axis, a shade per status (from the first sync that saw the stream, or --since, to now)."
        )
        var chart = false

        @Flag(
            help:
                "Follow the job across the platform's replace-on-update: every job of this camera stream and case type, older and newer, as one timeline."
        )
        var follow = false

        @Option(help: "Chart width in columns.")
        var width = 72

        func run() async throws {
            let config = try database.loadConfig()
            let context = try output.context(config)
            let (sinceTime, untilTime) = try parseWindow(since: since, until: until, zone: context.zone)
            let moment = try asOf.map { try parseTime($0, option: "--as-of", zone: context.zone) }
            if follow, moment != nil { throw ValidationError("--follow shows the chain as it is now; leave out --as-of.") }
            let history = try await database.open(config)
            let timeline =
                follow
                ? try history.followedTimeline(jobUID: jobUID, since: sinceTime, until: untilTime)
                : try history.timeline(jobUID: jobUID, since: sinceTime, until: untilTime, asOf: moment)
            if chart {
                guard context.readable else {
                    throw ValidationError(
                        "--chart draws for a terminal; leave out --format \(context.format.rawValue), or drop --chart for the rows.")
                }
                let from = sinceTime ?? timeline.firstSeenAt ?? Date()
                let to = untilTime ?? moment ?? Date()
                print("history of \(timeline.jobUID) (times \(output.zoneName(config)))")
                print(
                    TimelineChart.render(
                        timeline, from: from, to: to, width: max(10, width), labels: context.labels,
                        colour: isatty(STDOUT_FILENO) == 1, zone: context.zone), terminator: "")
                return
            }
            if context.readable {
                let knownAt = moment.map { ", as the mirror knew it at \(Timestamp.format($0))" } ?? ""
                let jobs = Set(timeline.entries.compactMap(\.jobUID))
                let what =
                    follow ? "the chain of \(timeline.jobUID), \(max(1, jobs.count)) job\(jobs.count == 1 ? "" : "s")" : timeline.jobUID
                print("history of \(what) (times \(output.zoneName(config)))" + knownAt)
            }
            TimelineReport(timeline).write(context)
        }
    }
}
