import ArgumentParser
import StreamDB

extension Streamdb {
    struct Regions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Count the present streams of each region, by status and by case type."
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let store = try openForQuery(database)
            let labels = try output.labels()
            let table = try query(store) { db in try RegionReport.load(labels: labels, in: db) }
            print(table.rendered(as: output.format), terminator: "")
        }
    }
}
