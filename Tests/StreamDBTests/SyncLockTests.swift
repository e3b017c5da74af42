import Foundation
import GRDB
import StreamDBAPI
import StreamDBModel
import StreamDBOutput
import StreamDBQuery
import StreamDBStore
import StreamDBSync
import StreamSim
import Testing

/// One writer per database, with many `streamdb sync` processes started at once.
@Suite("Sync lock")
struct SyncLockTests {
    /// Eight processes of the built binary started together; their results.
    private func eightSyncs(_ arguments: [String]) async throws -> [BuiltProduct.Result] {
        try await withThrowingTaskGroup(of: BuiltProduct.Result.self) { group in
            for _ in 0..<8 { group.addTask { try await BuiltProduct.run(arguments, killAfter: .seconds(120)) } }
            var results: [BuiltProduct.Result] = []
            for try await result in group { results.append(result) }
            return results
        }
    }

    @Test("Eight syncs started at once on one database: one runs, seven stop with status 3 and change nothing")
    func eightAtOnce() async throws {
        var options = SimulatorOptions()
        options.slimList = true
        try await withHarness(streams: 8, options: options) { h in
            try await h.sync()
            let before = try h.historyCounts()
            for stream in h.fleet.liveStreams.prefix(3) { h.fleet.setStatus(stream.jobUID, stream.status == 6 ? 11 : 6) }
            // Every answer takes 0.2 s, so the one sync that runs outlasts the start of the others.
            h.server.setOptions {
                $0.faults.slowRate = 1
                $0.faults.slowDelay = 0.2
            }
            let results = try await eightSyncs(["sync", "--url", h.server.baseURL, "--db", h.databasePath, "--concurrency", "1"])

            #expect(results.map(\.status).sorted() == [0, 3, 3, 3, 3, 3, 3, 3], "\(results.map(\.stderr))")
            for busy in results where busy.status == 3 {
                #expect(busy.stdout.isEmpty)
                #expect(
                    busy.stderr
                        == "streamdb: another streamdb sync is running on \(h.databasePath); this one stops (use --wait to queue behind it).\n"
                )
            }
            let runs = try h.read { db in try Row.fetchAll(db, sql: "SELECT outcome, streams_changed FROM sync_runs ORDER BY id") }
            #expect(runs.count == 2, "exactly one new run")
            #expect(runs.last?["outcome"] as String? == "ok")
            #expect(runs.last?["streams_changed"] as Int? == 3)
            var after = try h.historyCounts()
            #expect(after.removeValue(forKey: "snapshots") == before["snapshots"]! + 3)
            #expect(after.removeValue(forKey: "status_history") == before["status_history"]! + 3)
            #expect(after == before.filter { $0.key != "snapshots" && $0.key != "status_history" })
            #expect(try h.mirrorsFleet())
        }
    }

    @Test("Eight syncs started at once with --wait run one after another, each to the end")
    func eightWaiting() async throws {
        var options = SimulatorOptions()
        options.slimList = true
        options.faults.slowRate = 1
        options.faults.slowDelay = 0.05
        try await withHarness(streams: 4, options: options) { h in
            let results = try await eightSyncs([
                "sync", "--url", h.server.baseURL, "--db", h.databasePath, "--concurrency", "1", "--wait", "--quiet",
            ])
            #expect(results.map(\.status) == Array(repeating: 0, count: 8), "\(results.map(\.stderr))")
            let runs = try h.read { db in
                try Row.fetchAll(db, sql: "SELECT started_at, finished_at, outcome, streams_new FROM sync_runs ORDER BY started_at")
            }
            #expect(runs.count == 8)
            #expect(runs.allSatisfy { $0["outcome"] as String == "ok" })
            #expect(runs.map { $0["streams_new"] as Int } == [4, 0, 0, 0, 0, 0, 0, 0])
            // No two runs overlap: each finished before the next one started.
            for (run, next) in zip(runs, runs.dropFirst()) {
                let finished: String = try #require(run["finished_at"])
                let started: String = next["started_at"]
                #expect(finished <= started, "a run finished at \(finished), after the next started at \(started)")
            }
            #expect(try h.mirrorsFleet())
        }
    }
}
