import ArgumentParser
import StreamDBOutput

extension Streamdb {
    struct Regions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "regions",
            abstract: "Count the present streams of each region, by status and by case type."
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Option(
            help: ArgumentHelp(
                "Count the fleet as the mirror knew it at this time (as the tables print it, ISO 8601, a date, or 6h, 2d, 1w ago).",
                valueName: "time"))
        var asOf: String?

        @Option(help: "Count only the streams of this source (its name).")
        var source: String?

        func run() async throws {
            let config = try database.loadConfig()
            let context = try output.context(config)
            let moment = try asOf.map { try parseTime($0, option: "--as-of", zone: context.zone) }
            try await database.open(config).regions(asOf: moment, source: source).write(context)
        }
    }
}
