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

/// The query layer: config diffs, as-of reconstruction, uid prefixes, reading during a sync.
@Suite("Queries")
struct QueryTests {
    static let config = try! JSONValue.parse(
        """
        {"CaseType": "motion-detect", "Pipeline": {"Detector": {"Threshold": 496},
         "Watcher": {"ObjectMax": [400, 400]},
         "Areas": [{"Id": "a1", "Shape": [[0.1, 0.1], [0.2, 0.2]]}, {"Id": "a2", "Shape": [[0.3, 0.3], [0.4, 0.4]]}]}}
        """)

    func edited(_ change: (inout [String: JSONValue]) -> Void) -> JSONValue {
        guard case .object(var pipeline) = Self.config["Pipeline"]!, case .object(var root) = Self.config else { fatalError() }
        change(&pipeline)
        root["Pipeline"] = .object(pipeline)
        return .object(root)
    }

    @Test("Reordering areas is no change")
    func reorderedAreas() {
        let reordered = edited { p in p["Areas"] = .array(p["Areas"]!.arrayValue!.reversed()) }
        #expect(ConfigDiff(old: Self.config, new: reordered).isEmpty)
    }

    @Test("An area's shape changed is one change, named by the area's Id")
    func shapeChanged() {
        let changed = edited { p in
            var areas = p["Areas"]!.arrayValue!
            areas[1] = try! JSONValue.parse(#"{"Id": "a2", "Shape": [[0.3, 0.3], [0.5, 0.5]]}"#)
            p["Areas"] = .array(areas)
        }
        let diff = ConfigDiff(old: Self.config, new: changed)
        #expect(diff.changes.count == 1)
        #expect(diff.text == "~ Pipeline.Areas[Id=a2].Shape: [[0.3,0.3],[0.4,0.4]] -> [[0.3,0.3],[0.5,0.5]]")
    }

    @Test("Threshold edits, added areas and ignored paths")
    func thresholdAndAdded() throws {
        let changed = edited { p in
            p["Detector"] = .object(["Threshold": .int(512)])
            p["Areas"] = .array(p["Areas"]!.arrayValue! + [try! JSONValue.parse(#"{"Id": "a3", "Shape": []}"#)])
        }
        let diff = ConfigDiff(old: Self.config, new: changed)
        #expect(
            diff.text == """
                + Pipeline.Areas[Id=a3]: {"Id":"a3","Shape":[]}
                ~ Pipeline.Detector.Threshold: 496 -> 512
                """)
        let patch = diff.jsonPatch.arrayValue!
        #expect(patch[0]["op"] == .string("add"))
        #expect(patch[0]["path"] == .string("/Pipeline/Areas/2"))
        #expect(patch[1]["op"] == .string("replace"))
        #expect(patch[1]["path"] == .string("/Pipeline/Detector/Threshold"))
        #expect(patch[1]["value"] == .int(512))
        #expect(ConfigDiff(old: Self.config, new: changed, ignoring: ["Pipeline.Detector", "Pipeline.Areas"]).isEmpty)
    }

    @Test("--as-of rebuilds the fleet exactly as the simulator served it at that moment")
    func asOfMatchesSimulator() async throws {
        try await withHarness(streams: 40, seed: 5) { h in
            try await h.sync()
            h.fleet.tick()
            try await h.sync()
            // What the simulator served at the moment of this sync.
            let served = Dictionary(uniqueKeysWithValues: h.fleet.liveStreams.map { ($0.jobUID, $0.status) })
            let servedCaseTypes = Dictionary(uniqueKeysWithValues: h.fleet.liveStreams.map { ($0.jobUID, $0.caseType.rawValue) })
            try await Task.sleep(for: .milliseconds(20))
            let moment = Date()
            try await Task.sleep(for: .milliseconds(20))
            for _ in 0..<3 {
                h.fleet.tick()
                try await h.sync()
            }
            var filter = StreamList.Filter()
            filter.asOf = moment
            let history = try HistoryReader.open(path: h.databasePath)
            let table = try history.streams(filter).table(RenderContext(format: .json))
            let reconstructed = Dictionary(
                uniqueKeysWithValues: table.rows.map { row -> (String, Int) in
                    (row[0].text, Int(row[1].text)!)
                })
            #expect(reconstructed == served)
            #expect(Dictionary(uniqueKeysWithValues: table.rows.map { ($0[0].text, $0[3].text) }) == servedCaseTypes)
            // And the region counts then add up to the streams then, by status and by case type.
            let regions = try history.regions(asOf: moment).table(RenderContext(format: .json))
            let placed = regions.rows.map { Int($0[1].text)! }.reduce(0, +)
            func total(_ counts: String) -> Int {
                counts.split(separator: ",").map { Int($0.split(separator: ":").last!.trimmingCharacters(in: .whitespaces))! }.reduce(0, +)
            }
            for row in regions.rows {
                #expect(total(row[2].text) == Int(row[1].text)!)
                #expect(total(row[3].text) == Int(row[1].text)!)
                #expect(!row[3].text.contains("(unknown)"))
            }
            let multi = h.fleet.liveStreams.count  // a lower bound: streams in two regions count twice
            #expect(placed >= served.count || placed >= multi - 1)
        }
    }

    @Test("Unknown, ambiguous and malformed uid prefixes are one-sentence errors")
    func uidPrefixes() async throws {
        try await withHarness(streams: 40) { h in
            try await h.sync()
            let history = try HistoryReader.open(path: h.databasePath)
            let uid = h.fleet.liveStreams[0].jobUID
            #expect(try history.resolve(String(uid.prefix(13))) == uid)
            #expect(try history.resolve(uid.uppercased()) == uid)
            // A uid pasted from CSV output carries the line's \r\n.
            #expect(try history.resolve(uid + "\r\n") == uid)
            #expect(throws: QueryError.self) { try history.resolve("ffffffff-ffff") }
            #expect(throws: QueryError.self) { try history.resolve("") }
            #expect(throws: QueryError.self) { try history.resolve("'; DROP TABLE streams; --") }
            // Forty streams share at most a few first hex digits: "0" is ambiguous or unknown, never a match.
            #expect {
                _ = try history.resolve("0")
            } throws: { error in
                let message = (error as? QueryError)?.message ?? ""
                return message.contains("matches several") || message.contains("no stream")
            }
        }
    }

    @Test("Queries read a consistent database while a sync is writing it")
    func queryDuringSync() async throws {
        var options = SimulatorOptions()
        options.slimList = true
        options.faults.slowRate = 0.5
        options.faults.slowDelay = 0.05
        try await withHarness(streams: 60, options: options) { h in
            try await h.sync()
            for stream in h.fleet.liveStreams { h.fleet.setStatus(stream.jobUID, stream.status == 6 ? 11 : 6) }
            let running = Task { try await h.sync() }
            var reads = 0
            while !running.isCancelled, reads < 200 {
                let store = try HistoryStore.openReadOnly(path: h.databasePath)
                let (streams, brokenCurrent) = try store.readNow { db in
                    (
                        try Int.fetchOne(db, sql: "SELECT count(*) FROM current_streams") ?? 0,
                        try Int.fetchOne(db, sql: TestHarness.missingCurrentVersionsSQL) ?? -1
                    )
                }
                #expect(streams == 60)
                #expect(brokenCurrent == 0)
                reads += 1
                if reads > 5 { break }
                try await Task.sleep(for: .milliseconds(30))
            }
            let report = try await running.value
            #expect(report.outcome == .ok)
            #expect(report.counts.changed == 60)
        }
    }

    @Test("history --as-of: the timeline as the mirror knew it then; without it, the same intervals as the status_intervals view")
    func historyAsOf() async throws {
        try await withHarness(streams: 6, seed: 41) { h in
            try await h.sync()
            let uid = h.fleet.liveStreams[0].jobUID
            func flip() {
                let s = h.fleet.stream(uid)!.status
                h.fleet.setStatus(uid, s == 6 ? 11 : 6)
            }
            flip()
            try await h.sync()
            let between = try #require(try h.read { db in try String.fetchOne(db, sql: "SELECT finished_at FROM sync_runs WHERE id = 2") })
            flip()
            try await h.sync()

            let history = try HistoryReader.open(path: h.databasePath)
            let now = try history.timeline(jobUID: uid)
            let then = try history.timeline(jobUID: uid, asOf: Timestamp.parse(between)!)
            let view = try h.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT started_at, ended_at, status FROM status_intervals WHERE job_uid = ? ORDER BY started_at",
                    arguments: [uid])
            }
            let nowIntervals = now.entries.filter(\.isInterval)
            let thenIntervals = then.entries.filter(\.isInterval)
            #expect(nowIntervals.count == 3)
            #expect(nowIntervals.map { Timestamp.format($0.at) } == view.map { $0["started_at"] as String })
            #expect(nowIntervals.map { $0.until.map(Timestamp.format) } == view.map { $0["ended_at"] as String? })
            #expect(nowIntervals.map(\.status) == view.map { ($0["status"] as Int64?).map(StatusValue.int) })
            // At `between` the third status had not been seen: two intervals, the second open.
            #expect(thenIntervals.count == 2)
            #expect(thenIntervals.map(\.at) == nowIntervals.prefix(2).map(\.at))
            #expect(thenIntervals[1].until == nil && nowIntervals[1].until != nil)
            let expected = Timestamp.parse(between)!.timeIntervalSince(thenIntervals[1].at)
            #expect(abs((thenIntervals[1].durationSeconds ?? -1) - expected) < 0.01)
            #expect(throws: QueryError.self) {
                try history.timeline(jobUID: uid, asOf: Timestamp.parse("2000-01-01T00:00:00.000000Z")!)
            }
            // Through the binary: the header says so, and the open status runs to the as-of time.
            let table = try await BuiltProduct.run(["history", uid, "--as-of", between, "--db", h.databasePath])
            #expect(table.status == 0, "\(table.stderr)")
            #expect(table.stdout.contains("as the mirror knew it at"))
            #expect(!table.stdout.contains("now"))
            let early = try await BuiltProduct.run(["history", uid, "--as-of", "2000-01-01", "--db", h.databasePath])
            #expect(early.status == 2 && early.stderr.contains("was not yet seen at"))
        }
    }
}
