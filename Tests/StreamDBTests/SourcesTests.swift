import Foundation
import GRDB
import StreamDBModel
import StreamDBSync
import StreamSim
import Testing

/// Several analytics servers in one history: each source's streams are its own.
@Suite("Sources")
struct SourcesTests {
    @Test("A second server on the same database adds a source and leaves the first one's streams alone; each source's 404s are its own")
    func twoServers() async throws {
        try await withHarness(streams: 12, seed: 21) { first in
            let second = try await SimulatorServer.start(fleet: Fleet(size: 8, seed: 22), options: SimulatorOptions())
            defer { Task { await second.stop() } }
            let db = ["--db", first.databasePath]
            let a = try await BuiltProduct.run(["sync", "--url", first.server.baseURL] + db)
            #expect(a.status == 0, "\(a.stderr)")
            let b = try await BuiltProduct.run(["sync", "--url", second.baseURL] + db)
            #expect(b.status == 0, "\(b.stderr)")
            #expect(b.stderr.contains("a new source '127.0.0.1-2'"), "\(b.stderr)")
            #expect(b.stdout.contains("8 seen, 8 new") && b.stdout.contains("0 gone"), "\(b.stdout)")
            // The first source again: nothing of it went, nothing came back.
            let again = try await BuiltProduct.run(["sync", "--url", first.server.baseURL] + db)
            #expect(again.stdout.contains("12 seen, 0 new") && again.stdout.contains("0 gone, 0 back"), "\(again.stdout)")
            #expect(try first.count("SELECT count(*) FROM streams WHERE gone_at IS NOT NULL") == 0)

            // A deletion on the second server is the second source's alone.
            let deleted = second.fleet.liveStreams[0].jobUID
            second.fleet.delete(deleted)
            let afterDelete = try await BuiltProduct.run(["sync", "--url", second.baseURL] + db)
            #expect(afterDelete.stdout.contains("1 gone"), "\(afterDelete.stdout)")
            #expect(try first.count("SELECT count(*) FROM streams WHERE gone_at IS NOT NULL") == 1)
            #expect(
                try first.read { db in
                    try String.fetchOne(
                        db, sql: "SELECT src.name FROM streams st JOIN sources src ON src.id = st.source_id WHERE st.job_uid = ?",
                        arguments: [deleted])
                } == "127.0.0.1-2")

            // Queries name the source once there are two, and filter by it.
            let streams = try await BuiltProduct.run(["streams", "--source", "127.0.0.1-2", "--format", "json"] + db)
            let rows = try #require(try JSONValue.parse(Data(streams.stdout.utf8)).arrayValue)
            #expect(rows.count == 7 && rows.allSatisfy { $0["source"] == .string("127.0.0.1-2") })
            let runs = try await BuiltProduct.run(["runs", "--source", "127.0.0.1"] + db)
            #expect(runs.stdout.contains("source") && !runs.stdout.contains("127.0.0.1-2"), "\(runs.stdout)")
            let unknown = try await BuiltProduct.run(["streams", "--source", "127.0.0.2"] + db)
            #expect(unknown.stderr.contains("no source is called '127.0.0.2'"))
        }
    }

    @Test("A job_uid served by two sources is an error naming both, and stays with the first")
    func sameUIDOnTwoServers() async throws {
        try await withHarness(streams: 3, seed: 4) { first in
            // The same seed: the same job_uids.
            let twin = try await SimulatorServer.start(fleet: Fleet(size: 3, seed: 4), options: SimulatorOptions())
            defer { Task { await twin.stop() } }
            try await first.sync()
            let report = try await first.sync(configure: { $0.baseURL = URL(string: twin.baseURL)! })
            #expect(report.outcome == .failed, "\(report.summary)")
            let errors = try first.read { db in
                try String.fetchAll(db, sql: "SELECT message FROM sync_errors WHERE kind = 'source_conflict'")
            }
            #expect(errors.count == 3)
            #expect(errors.allSatisfy { $0.contains("'127.0.0.1'") })
            #expect(try first.count("SELECT count(DISTINCT source_id) FROM streams") == 1)
        }
    }

    @Test("A source's URL can change: synced by name, its history goes on under the new URL")
    func sourceMoves() async throws {
        try await withHarness(streams: 5, seed: 8) { h in
            try await h.sync(source: "minsk")
            let moved = try await SimulatorServer.start(fleet: h.fleet, options: SimulatorOptions())
            defer { Task { await moved.stop() } }
            let report = try await h.sync(source: "minsk", configure: { $0.baseURL = URL(string: moved.baseURL)! })
            #expect(report.sourceNote?.contains("moved from \(h.server.baseURL) to \(moved.baseURL)") == true)
            #expect(report.counts.new == 0 && report.counts.unchanged == 5 && report.counts.gone == 0)
            #expect(try h.count("SELECT count(*) FROM sources") == 1)
            #expect(try h.read { db in try String.fetchOne(db, sql: "SELECT base_url FROM sources") } == moved.baseURL)
        }
    }
}
