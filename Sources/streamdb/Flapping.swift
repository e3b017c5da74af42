import ArgumentParser
import Foundation
import StreamDBConfig
import StreamDBModel
import StreamDBOutput
import StreamDBQuery

extension Streamdb {
    struct Flapping: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "flapping",
            abstract: "Streams whose status keeps changing: at least --min-changes changes within some --window.",
            discussion: """
                A change is a change of status (not a first sighting, a 404 or a return). Each row is a \
                stream with its densest stretch: how many changes, the first and the last of them, and \
                all its changes in the window. Defaults: [flapping] in the config file, else --window 1h \
                --min-changes 4, over the last 24 hours. Most changes first.
                """
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var rule: FlapRuleOptions

        @Option(help: ArgumentHelp("Changes at this time or later (default: 24 hours ago).", valueName: "time"))
        var since: String?

        @Option(help: ArgumentHelp("Changes before this time (default: now).", valueName: "time"))
        var until: String?

        @Option(help: "Only streams now in this region (its title).")
        var region: String?

        @Option(help: "Only streams of this case type.")
        var caseType: String?

        @Option(help: "Only streams of this source (its name).")
        var source: String?

        func run() async throws {
            let config = try database.loadConfig()
            let context = try output.context(config)
            let (since, until) = try parseWindow(since: self.since, until: self.until, zone: context.zone, defaultLength: 86_400)
            let rule = try rule.rule(config)
            let result = try await database.open(config).flapping(
                since: since, until: until, rule: rule, source: source, region: region, caseType: caseType)
            if context.readable {
                print(
                    "\(result.rows.count) flapping (\(rule.minChanges)+ changes within \(DurationText.format(seconds: rule.window))), \(DurationText.readable(since, zone: context.zone)) to \(DurationText.readable(until, zone: context.zone))"
                )
            }
            result.write(context)
            if let why = result.emptyBecause { printError(why) }
        }
    }
}

/// `--window` and `--min-changes`, for `flapping` and `uptime`: the flags, else the config file's
/// `[flapping]`, else 1 hour and 4 changes.
struct FlapRuleOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp("The stretch of time the changes must fall within (30m, 1h, 1d; default: 1h).", valueName: "length"))
    var window: String?

    @Option(help: ArgumentHelp("Changes within that stretch that make a stream flapping (default: 4).", valueName: "n"))
    var minChanges: Int?

    func validate() throws {
        if let window, (DurationInput.seconds(window) ?? 0) <= 0 {
            throw ValidationError("--window: '\(window)' is not a length of time; use e.g. 30m, 1h, 1d.")
        }
        if let minChanges, minChanges < 2 { throw ValidationError("--min-changes must be at least 2.") }
    }

    func rule(_ config: StreamdbConfig?) throws -> StreamDBQuery.Flapping.Rule {
        StreamDBQuery.Flapping.Rule(
            window: window.flatMap(DurationInput.seconds) ?? config?.flappingWindow ?? 3600,
            minChanges: minChanges ?? config?.flappingMinChanges ?? 4)
    }
}
