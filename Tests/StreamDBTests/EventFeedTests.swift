import Foundation
import StreamDBModel
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
        }
    }
}
