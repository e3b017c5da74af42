import ArgumentParser
import Foundation
import Logging
import NIOConcurrencyHelpers
import StreamDBAPI
import StreamDBModel
import StreamDBOutput
import StreamDBQuery
import StreamDBStore
import StreamDBSync
import StreamSim

extension Streamdb {
    struct Demo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "demo",
            abstract: "Run streamdb against the bundled API simulator and leave the database to explore.",
            discussion: """
                Starts the simulator on a free loopback port, syncs it several times while its fleet \
                changes (statuses, configs, regions, deletions), prints what was recorded, and leaves \
                the database (default ./streamdb-demo.sqlite, replaced on each run) for the other commands.
                """
        )

        @Option(help: ArgumentHelp("The database to write; an existing file there is replaced.", valueName: "path"))
        var db = "streamdb-demo.sqlite"

        @Option(help: "Streams in the simulated fleet.")
        var streams = 200

        @Option(help: "Sync rounds; the fleet changes between rounds.")
        var rounds = 5

        @Option(help: "Seed of the simulated fleet and its changes.")
        var seed: UInt64 = 42

        static let interval: TimeInterval = 15 * 60

        func validate() throws {
            guard streams >= 1 && streams <= 100_000 else { throw ValidationError("--streams must be between 1 and 100000.") }
            guard rounds >= 1 && rounds <= 100 else { throw ValidationError("--rounds must be between 1 and 100.") }
        }

        func run() async throws {
            let logger = bootstrapLogging(level: .error)
            HistoryStore.removeFiles(at: db)
            // The demo plays a day of cron runs in seconds: a clock that the fleet and the sync
            // share jumps 15 minutes between rounds, ending now.
            let clock = DemoClock(offset: -Double(rounds - 1) * Self.interval)
            // Half the config edits are made the platform's way (a new job_uid), half in place.
            let fleet = Fleet(size: streams, seed: seed, replaceOnUpdate: 0.5, clock: { clock.now })
            let server = try await SimulatorServer.start(fleet: fleet, options: SimulatorOptions())
            print("simulator: \(streams) streams (seed \(seed)) at \(server.baseURL)")
            print("database:  \(db)\n")

            var session = SyncSession(
                databasePath: db, api: APIConfiguration(baseURL: try APIConfiguration.parseBaseURL(server.baseURL)))
            session.clock = { clock.now }
            let started = clock.now
            for round in 1...rounds {
                if round > 1 {
                    clock.advance(by: Self.interval / 2)
                    let t = fleet.tick()
                    clock.advance(by: Self.interval / 2)
                    print(
                        "  fleet changed: \(t.statusChanges) statuses, \(t.configEdits) configs, \(t.regionMoves) region moves, "
                            + "\(t.touches) touched, \(t.created) created, \(t.deleted) deleted, \(t.restored) restored, \(t.replaced) replaced"
                    )
                }
                let report = try await session.run(logger: logger)
                print("round \(round): \(report.summary)")
            }
            await server.stop()
            try explore(since: started)
        }

        /// Prints what was recorded, and the commands to explore it.
        private func explore(since: Date) throws {
            let history = try HistoryReader.open(path: db)
            let labels = StatusLabels(names: Dictionary(uniqueKeysWithValues: Fleet.statusNames.map { (String($0.key), $0.value) }))
            let context = RenderContext(format: .table, labels: labels)
            print("\nstreams per region (status names from the simulator's mapping):")
            print(try history.regions().rendered(context))
            if let busiest = try history.busiestStream() {
                print("the stream that changed most: streamdb history \(busiest.prefix(8)) --db \(db)")
                print(TimelineReport(try history.timeline(jobUID: busiest)).rendered(context))
            }
            if let replacement = try history.replacements().first {
                print("a job the platform replaced (an update deletes the job and creates a new job_uid):")
                print("streamdb history \(replacement.old.prefix(8)) --follow --db \(db)")
                print(TimelineReport(try history.followedTimeline(jobUID: replacement.old)).rendered(context))
            }
            print(
                """
                \(try history.versionCount()) versions stored. Explore:
                  streamdb runs --db \(db)
                  streamdb regions --db \(db)
                  streamdb sql --db \(db) "SELECT status, count(*) FROM current_streams GROUP BY status"
                  sqlite3 \(db) "SELECT * FROM status_intervals LIMIT 10"
                """)
            // The page of the demo's hour: the same path as `streamdb report --html`.
            let page = (db.hasSuffix(".sqlite") ? String(db.dropLast(7)) : db) + ".html"
            var filter = FleetReport.Filter(since: since, until: Date(), up: ["11"])
            filter.timelines = 20
            let report = try history.fleetReport(filter)
            try AtomicFile.write(try HTMLReport(report, labels: labels, zone: nil).rendered(), to: page)
            print(
                """

                the demo's hour as one HTML page: \(page) (open it in a browser)
                  streamdb report --html \(page) --db \(db) --status-labels examples/status-labels.sim.txt --since 2h
                """)
        }
    }
}

/// The demo's clock: real time shifted by an offset that jumps when told to.
final class DemoClock: Sendable {
    private let offset: NIOLockedValueBox<TimeInterval>

    init(offset: TimeInterval) { self.offset = NIOLockedValueBox(offset) }

    var now: Date { Date().addingTimeInterval(offset.withLockedValue { $0 }) }

    func advance(by seconds: TimeInterval) { offset.withLockedValue { $0 += seconds } }
}
