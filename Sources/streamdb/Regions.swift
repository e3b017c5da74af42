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

        @Option(help: ArgumentHelp("Count the fleet as the mirror knew it at this time (ISO 8601).", valueName: "time"))
        var asOf: String?

        func run() async throws {
            let moment = try asOf.map { try parseTime($0, option: "--as-of") }
            let context = try output.context()
            print(try database.open().regions(asOf: moment).rendered(context), terminator: "")
        }
    }
}
