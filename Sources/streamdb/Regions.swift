import ArgumentParser
import StreamDB

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
            let store = try openForQuery(database)
            let labels = try output.labels()
            let table = try query(store) { db in try RegionReport.load(labels: labels, asOf: moment, in: db) }
            print(table.rendered(as: output.format), terminator: "")
        }
    }
}
