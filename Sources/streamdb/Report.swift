import ArgumentParser
import Foundation
import StreamDBOutput
import StreamDBQuery

extension Streamdb {
    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract: "Write the fleet's week as one self-contained HTML page, with status timelines.",
            discussion: """
                The page needs nothing but itself (no network, script, font or image): it opens from \
                disk or an e-mail, and prints. It shows the window, the sources and their last successful \
                sync; per region the streams by status now and the availability over the window (as \
                `streamdb uptime --by region`); the flapping and least available streams first, each as \
                a status timeline (hover for status, from, to and duration; markers for config changes, \
                region moves, replacements, gone and back); and the config changes of the window. Up \
                statuses as for `streamdb uptime`.
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Option(help: ArgumentHelp("The file to write.", valueName: "file"))
        var html: String

        @Option(help: ArgumentHelp("The window's start (default: 7d, a week ago).", valueName: "time"))
        var since: String?

        @Option(help: ArgumentHelp("The window's end (default: now).", valueName: "time"))
        var until: String?

        @Option(help: "Only streams now in this region (its title).")
        var region: String?

        @Option(help: "Only streams of this source (its name).")
        var source: String?

        @Option(help: "Only streams of this case type.")
        var caseType: String?

        @Option(help: ArgumentHelp("Timelines drawn at most (default: 40); the page says how many were left out.", valueName: "n"))
        var streams = 40

        @Option(help: "A status that counts as up (repeatable): a code, or a name from the labels.")
        var up: [String] = []

        @OptionGroup(title: "Flapping") var flapRule: FlapRuleOptions

        @Option(
            help: ArgumentHelp(
                "A file of CODE=NAME lines (11=WORKING) naming status codes. Default: $STREAMDB_STATUS_LABELS.", valueName: "file"))
        var statusLabels: String?

        @Option(help: ArgumentHelp("The page's time zone (default: the config's, else UTC).", valueName: "zone"))
        var tz: String?

        func validate() throws {
            if !(1...1000).contains(streams) { throw ValidationError("--streams must be between 1 and 1000.") }
        }

        func run() async throws {
            let config = try database.loadConfig()
            let output = try OutputOptions.parse(
                (statusLabels.map { ["--status-labels", $0] } ?? []) + (tz.map { ["--tz", $0] } ?? []))
            let context = try output.context(config)
            let (since, until) = try parseWindow(since: self.since, until: self.until, zone: context.zone, defaultLength: 7 * 86_400)
            var filter = FleetReport.Filter(since: since, until: until, up: try upStatuses(up, config: config, labels: context.labels))
            filter.region = region
            filter.source = source
            filter.caseType = caseType
            filter.timelines = streams
            filter.flapRule = try flapRule.rule(config)
            let report = try await database.open(config).fleetReport(filter)
            let page = try HTMLReport(report, labels: context.labels, zone: context.zone).rendered()
            try AtomicFile.write(page, to: html)
            print("wrote \(html): \(report.streams.count) timelines of \(report.streamsInWindow) streams, \(page.utf8.count / 1024) KiB")
        }
    }
}
