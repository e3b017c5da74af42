import Foundation
import GRDB
import StreamDBModel
import StreamSim
import Testing

/// The platform updates a job by deleting it and creating another: streamdb links the two.
@Suite("Replacements")
struct ReplacementTests {
    /// A simulator whose every config edit replaces the job, synced once and then after each of
    /// `rounds` ticks into a harness's database.
    static func replacingFleet(size: Int, seed: UInt64, rounds: Int) async throws -> (Fleet, SimulatorServer, TestHarness) {
        let fleet = Fleet(size: size, seed: seed, replaceOnUpdate: 1)
        let server = try await SimulatorServer.start(fleet: fleet, options: SimulatorOptions())
        let h = try await TestHarness(streams: 1)
        let url = URL(string: server.baseURL)!
        try await h.sync(configure: { $0.baseURL = url })
        for _ in 0..<rounds {
            fleet.tick()
            try await h.sync(configure: { $0.baseURL = url })
        }
        return (fleet, server, h)
    }

    @Test(
        "Every replacement the server made is recorded once and no other is; history --follow spans the chain both ways; streams --stream-uid lists every job; diff compares across it"
    )
    func replacementsFollowed() async throws {
        let (fleet, server, h) = try await Self.replacingFleet(size: 30, seed: 61, rounds: 8)
        defer {
            Task {
                await server.stop()
                await h.stop()
            }
        }
        func sync() async throws { _ = try await h.sync(configure: { $0.baseURL = URL(string: server.baseURL)! }) }
        // One more edit made by hand, so that a chain has three jobs.
        let chained = try #require(fleet.replacements.last)
        let third = try #require(fleet.replace(chained.new))
        try await sync()

        let made = Set(fleet.replacements.map { "\($0.old) \($0.new)" })
        #expect(made.count >= 3)
        let recorded = try h.read { db in
            try String.fetchAll(db, sql: "SELECT old_job_uid || ' ' || new_job_uid FROM replacements")
        }
        #expect(Set(recorded) == made)
        #expect(recorded.count == made.count)
        #expect(try h.count("SELECT count(*) FROM stream_replacements WHERE verdict = 'ambiguous'") == 0)

        // The chain of three, from either end.
        for start in [chained.old, third] {
            let followed = try await BuiltProduct.run(["history", start, "--follow", "--format", "json", "--db", h.databasePath])
            #expect(followed.status == 0, "\(followed.stderr)")
            let rows = try #require(try JSONValue.parse(Data(followed.stdout.utf8)).arrayValue)
            #expect(Set(rows.compactMap { $0["job_uid"]?.stringValue }) == [chained.old, chained.new, third])
            #expect(rows.filter { $0["event"] == .string("replaced") }.count == 2)
        }
        let chain = try h.read { db in
            try String.fetchAll(
                db,
                sql: "SELECT job_uid FROM stream_chains WHERE chain_job_uid = ? ORDER BY position", arguments: [chained.old])
        }
        #expect(chain == [chained.old, chained.new, third])

        // Every job of the camera stream, present or gone.
        let streamUID = try #require(fleet.stream(third)?.streamUID)
        let jobs = try await BuiltProduct.run(["streams", "--stream-uid", streamUID, "--format", "json", "--db", h.databasePath])
        #expect(
            Set(try JSONValue.parse(Data(jobs.stdout.utf8)).arrayValue?.compactMap { $0["job_uid"]?.stringValue } ?? []) == [
                chained.old, chained.new, third,
            ])

        // diff of the newest job: it has one config of its own, so the change is across the replacement.
        let diff = try await BuiltProduct.run(["diff", third, "--db", h.databasePath])
        #expect(diff.status == 1, "\(diff.stdout)\(diff.stderr)")
        #expect(diff.stdout.contains("--- \(chained.new) version") && diff.stdout.contains("+++ \(third) version 1"), "\(diff.stdout)")
        let follow = try await BuiltProduct.run(["diff", third, "--follow", "--db", h.databasePath])
        #expect(follow.stdout == diff.stdout)
    }

    @Test("Migration 0005 finds the replacements of a history written before it, by the same rule")
    func backfill() async throws {
        let (_, server, h) = try await Self.replacingFleet(size: 20, seed: 62, rounds: 6)
        defer {
            Task {
                await server.stop()
                await h.stop()
            }
        }
        func sync() async throws { _ = try await h.sync(configure: { $0.baseURL = URL(string: server.baseURL)! }) }
        let before = try h.read { db in try String.fetchAll(db, sql: "SELECT old_job_uid || new_job_uid FROM replacements ORDER BY 1") }
        #expect(!before.isEmpty)
        // As if 0005 had never run: its rows gone and the migration unrecorded; the next open applies it again.
        var configuration = Configuration()
        configuration.readonly = false
        let queue = try DatabaseQueue(path: h.databasePath, configuration: configuration)
        try await queue.write { db in
            try db.execute(
                sql: """
                    DROP VIEW chain_versions; DROP VIEW stream_chains; DROP VIEW replacements; DROP TABLE stream_replacements;
                    DROP VIEW replacement_candidates; DELETE FROM grdb_migrations WHERE identifier = '0005_replacements';
                    """)
        }
        try queue.close()
        try await sync()
        let after = try h.read { db in try String.fetchAll(db, sql: "SELECT old_job_uid || new_job_uid FROM replacements ORDER BY 1") }
        #expect(after == before)
    }
}
