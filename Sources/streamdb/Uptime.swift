import ArgumentParser
import Foundation
import StreamDBOutput
import StreamDBQuery

extension Streamdb {
    struct Uptime: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "uptime",
            abstract: "Availability over a window, per stream or per region, case type or source.",
            discussion: """
                Availability is the time in an up status over the time observed, each interval clipped \
                at the window's edges; time before a stream was first seen and while it was gone is not \
                observed (its own column). Up statuses: --up (repeatable), else up_statuses in the config \
                file, else the status labelled WORKING. Lowest availability first. A stream flaps when its \
                status changed at least --min-changes times within some --window in the window, as \
                `streamdb flapping` says.
                """
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup(title: "Flapping (the flapping column)") var flapRule: FlapRuleOptions

        @Option(
            help: ArgumentHelp("The window's start (default: 24 hours ago; as printed, ISO 8601, a date, or 7d ago).", valueName: "time"))
        var since: String?

        @Option(help: ArgumentHelp("The window's end (default: now).", valueName: "time"))
        var until: String?

        @Option(help: "A status that counts as up (repeatable): a code, or a name from the labels.")
        var up: [String] = []

        @Option(help: "Sum per region, case-type or source instead of per stream.")
        var by: StreamDBQuery.Uptime.Grouping?

        @Option(help: "Only the streams of this source (its name).")
        var source: String?

        @Option(help: ArgumentHelp("Only rows whose availability is below this (0..1, e.g. 0.99).", valueName: "share"))
        var below: Double?

        func run() async throws {
            let config = try database.loadConfig()
            let context = try output.context(config)
            let (since, until) = try parseWindow(since: self.since, until: self.until, zone: context.zone, defaultLength: 86_400)
            let raw = try upStatuses(up, config: config, labels: context.labels)
            var uptime = try await database.open(config).uptime(
                since: since, until: until, up: raw, by: by, source: source, flapRule: try flapRule.rule(config))
            if let below { uptime = uptime.filtered { ($0.availability ?? 1) < below } }
            let key: String
            switch by {
            case nil: key = "job_uid"
            case .region?: key = "region"
            case .caseType?: key = "case_type"
            case .source?: key = "source"
            }
            if context.readable {
                print(
                    "availability \(DurationText.readable(since, zone: context.zone)) to \(DurationText.readable(until, zone: context.zone)), up: \(raw.sorted().map { context.labels.label($0) }.joined(separator: ", "))"
                )
            }
            UptimeReport(uptime, keyName: key).write(context)
            if let why = uptime.emptyBecause { printError(why) }
        }
    }
}

extension StreamDBQuery.Uptime.Grouping: ExpressibleByArgument {}
