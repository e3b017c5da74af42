import ArgumentParser
import GRDB
import Foundation
import StreamDB

extension Streamdb {
    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "history",
            abstract: "Show one stream's status timeline, with config versions, region moves and gone/back events.",
            discussion: "Each status runs from its change to the next (or now). time_source says whether the change time is the server's updated_at or the time a sync saw it."
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Argument(help: "The stream's job_uid, or a unique start of it.")
        var jobUID: String

        @Option(help: ArgumentHelp("Only what overlaps this time or later (ISO 8601).", valueName: "time"))
        var since: String?

        @Option(help: ArgumentHelp("Only what overlaps this time or earlier (ISO 8601).", valueName: "time"))
        var until: String?

        @Option(help: ArgumentHelp("The timeline as the mirror knew it at this time (ISO 8601): what syncs had seen by then; the status then current runs to this time.", valueName: "time"))
        var asOf: String?

        @Flag(help: "Draw the timeline as a bar over a time axis, a shade per status (from the first sync that saw the stream, or --since, to now).")
        var chart = false

        @Option(help: "Chart width in columns.")
        var width = 72

        func run() async throws {
            let sinceTime = try since.map { try parseTime($0, option: "--since") }
            let untilTime = try until.map { try parseTime($0, option: "--until") }
            let moment = try asOf.map { try parseTime($0, option: "--as-of") }
            let store = try openForQuery(database)
            let labels = try output.labels()
            let zone = try output.zone()
            let timeline = try query(store) { db in
                try StatusTimeline.load(jobUID: try StreamLookup.resolve(jobUID, in: db), since: sinceTime, until: untilTime, asOf: moment, in: db)
            }
            if chart {
                let firstSeen = try query(store) { db in
                    try String.fetchOne(db, sql: "SELECT first_seen_at FROM streams WHERE job_uid = ?", arguments: [timeline.jobUID])
                }
                let from = (sinceTime ?? firstSeen).flatMap(Timestamp.parse) ?? Date()
                let to = (untilTime ?? moment).flatMap(Timestamp.parse) ?? Date()
                print("history of \(timeline.jobUID) (times \(output.zoneName))")
                print(TimelineChart.render(timeline, from: from, to: to, width: max(10, width), labels: labels,
                                           colour: isatty(STDOUT_FILENO) == 1), terminator: "")
                return
            }
            if output.format == .table {
                print("history of \(timeline.jobUID) (times \(output.zoneName))" + (moment.map { ", as the mirror knew it at \($0)" } ?? ""))
            }
            print(timeline.table(labels: labels, readable: output.format == .table, zone: zone).rendered(as: output.format), terminator: "")
        }
    }
}

/// Reads a user's time (`2024-02-04`, `2024-02-04T12:00:00Z`) into the database's format.
func parseTime(_ text: String, option: String) throws -> String {
    let candidate = text.count == 10 ? text + "T00:00:00Z" : text
    guard let date = Timestamp.parse(candidate) ?? Timestamp.parse(candidate + "Z") else {
        throw ValidationError("\(option): '\(text)' is not a time; use ISO 8601, e.g. 2024-02-04 or 2024-02-04T12:00:00Z.")
    }
    return Timestamp.format(date)
}
