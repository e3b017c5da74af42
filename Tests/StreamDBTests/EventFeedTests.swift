import Foundation
import GRDB
import StreamDBModel
import StreamDBStore
import StreamSim
import Testing

/// `streamdb events`: exactly the changes the server made, each once, with its kind.
@Suite("Events")
struct EventFeedTests {
    @Test("events --last-run lists exactly the run's changes: a status, a config edit, a region move, a deletion, a return, a replacement")
    func lastRun() async throws {
        try await withHarness(streams: 10, seed: 81) { h in
            try await h.sync()
            let s = h.fleet.liveStreams
            h.fleet.delete(s[4].jobUID)
            try await h.sync()
            h.fleet.setStatus(s[0].jobUID, s[0].status == 6 ? 11 : 6)
            h.fleet.setThreshold(s[1].jobUID, 901)
            h.fleet.setRegions(s[2].jobUID, [SimRegion.all[0], SimRegion.all[1]].filter { !s[2].regions.contains($0) })
            h.fleet.touch(s[3].jobUID)  // updated_at alone: no event
            h.fleet.restore(s[4].jobUID)
            let replacement = try #require(h.fleet.replace(s[5].jobUID))
            let report = try await h.sync()
            #expect(report.counts.replaced == 1, "\(report.summary)")

            let feed = try await BuiltProduct.run(["events", "--last-run", "--format", "ndjson", "--db", h.databasePath])
            #expect(feed.status == 0, "\(feed.stderr)")
            let events = try feed.stdout.split(separator: "\n").map { try JSONValue.parse(Data($0.utf8)) }
            let got = Set(
                events.compactMap { e -> String? in
                    guard let uid = e["job_uid"]?.stringValue, let kind = e["kind"]?.stringValue else { return nil }
                    return "\(uid) \(kind)"
                })
            #expect(
                got == [
                    "\(s[0].jobUID) status", "\(s[1].jobUID) config", "\(s[2].jobUID) regions", "\(s[4].jobUID) back",
                    "\(s[5].jobUID) gone", "\(s[5].jobUID) replaced", "\(replacement) first_seen",
                ], "\(feed.stdout)")
            #expect(events.count == got.count)
            let config = try #require(events.first { $0["kind"] == .string("config") })
            #expect(config["to"]?.arrayValue == [.string("Pipeline.Detector.Threshold")])
            let status = try #require(events.first { $0["kind"] == .string("status") })
            #expect(status["from"] == .int(Int64(s[0].status)) && status["to"] == .int(Int64(h.fleet.stream(s[0].jobUID)!.status)))
            let replaced = try #require(events.first { $0["kind"] == .string("replaced") })
            #expect(replaced["to"] == .string(replacement))

            // Filters: one kind, a status to go into, a window before everything.
            let kinds = try await BuiltProduct.run([
                "events", "--kind", "gone", "--kind", "back", "--format", "csv", "--db", h.databasePath,
            ])
            #expect(kinds.stdout.split(separator: "\r\n").count == 1 + 3)  // s[4] gone and back, s[5] gone
            let into = try await BuiltProduct.run([
                "events", "--last-run", "--status", String(h.fleet.stream(s[0].jobUID)!.status), "--kind", "status", "--format", "ndjson",
                "--db", h.databasePath,
            ])
            #expect(into.stdout.split(separator: "\n").count == 1)
            let early = try await BuiltProduct.run(["events", "--until", "2020-01-01", "--db", h.databasePath])
            #expect(early.stdout == "(no rows)\n")

            // What the feed reads (migration 0008) is what it is derived from: each status change's
            // span carries the status of the version before, each gone the status served before it,
            // and document_changes holds exactly the versions whose config or payload changed.
            #expect(try h.read { db in try Self.expectDerivedRowsMatch(db) } >= 2)
        }
    }

    /// The feed's materialised rows against their definitions over versions and presence events.
    /// Returns how many document changes there are.
    @discardableResult
    static func expectDerivedRowsMatch(_ db: Database) throws -> Int {
        let wrongPrevious = try Int.fetchOne(
            db,
            sql: """
                SELECT count(*) FROM status_spans AS s
                LEFT JOIN versions AS p ON p.stream_id = s.stream_id AND p.version = s.version - 1
                LEFT JOIN presence_events AS e ON e.stream_id = s.stream_id AND e.sync_run_id = s.sync_run_id AND e.event = s.started_by
                WHERE s.previous_status IS NOT CASE s.started_by WHEN 'changed' THEN p.status WHEN 'gone' THEN e.previous_status END
                """)
        #expect(wrongPrevious == 0)
        let changes = try Row.fetchAll(
            db, sql: "SELECT * FROM document_changes ORDER BY stream_id, version")
        let expected = try Row.fetchAll(
            db,
            sql: """
                SELECT v.stream_id, v.version, v.observed_at, v.sync_run_id, v.platform_config_id,
                       p.platform_config_id AS previous_config_id, v.rest_id, p.rest_id AS previous_rest_id
                FROM versions AS v JOIN versions AS p ON p.stream_id = v.stream_id AND p.version = v.version - 1
                WHERE v.platform_config_id IS NOT p.platform_config_id OR v.rest_id IS NOT p.rest_id
                ORDER BY v.stream_id, v.version
                """)
        #expect(changes == expected)
        return changes.count
    }

    @Test(
        "events lists oldest first and ties by job_uid byte by byte, for a few streams (uids sorted in memory) and for many (read in the uid index's order)",
        arguments: [20, 600])
    func orderOfTies(streams: Int) async throws {
        // A server clock stuck a year back: updated_at cannot date the changes, the sync dates
        // them by its own time, and a batch's changes tie.
        let stuck = Date().addingTimeInterval(-365 * 86400)
        let clock: @Sendable () -> Date = { stuck }
        try await withHarness(streams: streams, seed: 44, clock: clock) { h in
            try await h.sync()
            for stream in h.fleet.liveStreams { h.fleet.setStatus(stream.jobUID, stream.status == 6 ? 11 : 6) }
            try await h.sync()
            let feed = try await BuiltProduct.run(["events", "--kind", "status", "--format", "ndjson", "--db", h.databasePath])
            #expect(feed.status == 0, "\(feed.stderr)")
            let keys = try feed.stdout.split(separator: "\n").map { line -> (String, String) in
                let event = try JSONValue.parse(Data(line.utf8))
                return (event["at"]?.stringValue ?? "", event["job_uid"]?.stringValue ?? "")
            }
            #expect(keys.count == h.fleet.liveStreams.count)
            #expect(Set(keys.map(\.1)) == Set(h.fleet.liveStreams.map(\.jobUID)))
            // ISO times of one form sort as text; uids as SQLite orders text.
            let sorted = keys.sorted { a, b in a.0 != b.0 ? a.0 < b.0 : Array(a.1.utf8).lexicographicallyPrecedes(Array(b.1.utf8)) }
            #expect(keys.map { $0.0 + " " + $0.1 } == sorted.map { $0.0 + " " + $0.1 })
            // Ties there are: a sync dates the changes it cannot date better by its own time.
            #expect(Set(keys.map(\.0)).count < keys.count)
        }
    }

    @Test("events --since T lists the changes a run saw after T even when that run started before T and the next one soon after")
    func runStartedBeforeTheWindow() async throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "streamdb-events-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "h.sqlite").path()
        let fleet = Fleet(size: 3, seed: 5)
        let store = try HistoryStore.openForWriting(path: path)
        let source = try await store.resolveSource(name: "cron", url: "http://cron.invalid")
        let t = Timestamp.parse("2026-11-30T12:00:00.000000Z")!
        // Runs every five minutes, each observing 20 s after it started; the one of 11:59:50 sees
        // its changes at 12:00:10, inside a window that starts at 12:00.
        for (round, start) in [-20.0, -10.0, 290, 590].enumerated() {
            if round > 0 {
                for stream in fleet.liveStreams { fleet.setStatus(stream.jobUID, stream.status == 6 ? 11 : 6) }
            }
            let run = try await store.beginRun(source: source, startedAt: Timestamp.format(t.addingTimeInterval(start)))
            let observations = try fleet.liveStreams.map {
                StreamObservation.served(.success(try StreamSnapshot(item: try JSONValue.parse($0.json))), url: "cron")
            }
            let observed = Timestamp.format(t.addingTimeInterval(start + 20))
            _ = try await store.writeBatch(observations, observedAt: observed, runID: run, sourceID: source.id)
            _ = try await store.finishRun(run, finishedAt: observed, outcome: .ok, listing: .complete, counts: SyncCounts(), message: nil)
        }
        let feed = try await BuiltProduct.run([
            "events", "--since", "2026-11-30T12:00:00Z", "--kind", "status", "--format", "csv", "--db", path,
        ])
        #expect(feed.status == 0, "\(feed.stderr)")
        // Runs 2, 3 and 4 changed every stream's status; the server's updated_at (the real clock)
        // is later than these syncs, so each change is dated at its observation: 12:00:10, 12:05:10
        // and 12:10:10, three streams each.
        let rows = feed.stdout.split(separator: "\r\n").dropFirst()
        #expect(rows.count == 9, "\(feed.stdout)")
        #expect(rows.filter { $0.contains("12:00:10") }.count == 3, "\(feed.stdout)")
    }
}
