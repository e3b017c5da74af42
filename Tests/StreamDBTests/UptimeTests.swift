import Foundation
import GRDB
import Logging
import NIOConcurrencyHelpers
import StreamDBAPI
import StreamDBModel
import StreamDBSync
import StreamSim
import Testing

/// `streamdb uptime` against numbers worked out by hand from a run whose every change is known.
@Suite("Uptime")
struct UptimeTests {
    @Test("Availability, outages and unobserved time, clipped exactly at both window edges, with a stream gone mid-window that comes back")
    func handComputed() async throws {
        try await withClockedFleet(t0: "2026-01-01T00:00:00Z", size: 4, seed: 91) { f in
            let (fleet, db) = (f.fleet, f.databasePath)
            let (a, b, c, d) = (f.uids[0], f.uids[1], f.uids[2], f.uids[3])
            for uid in [a, b, c, d] { fleet.setStatus(uid, 11) }
            func sync(at minutes: Double) async throws { try await f.sync(at: minutes) }
            try await sync(at: 0)
            f.set(60)
            fleet.setStatus(a, 6)  // A down at 1:00 (the server's updated_at dates it)
            try await sync(at: 65)
            f.set(120)
            fleet.delete(b)  // B answers 404 from 2:00; the sync at 2:05 sees it
            try await sync(at: 125)
            f.set(180)
            fleet.setStatus(a, 11)  // A up again at 3:00
            // D replaced at 3:00 (the platform's update): its job answers 404 from then, which the
            // sync at 3:05 sees; the new job is CREATED (1) at 3:00, WORKING at 4:00.
            let d2 = try #require(fleet.replace(d))
            try await sync(at: 185)
            f.set(240)
            fleet.restore(b)  // B back, seen at 4:05
            fleet.setStatus(d2, 11)
            try await sync(at: 245)

            // The window 0:30 to 5:00 (4.5 h).
            let result = try await BuiltProduct.run([
                "uptime", "--db", db, "--up", "11", "--since", "2026-01-01T00:30:00Z", "--until", "2026-01-01T05:00:00Z", "--format",
                "json",
            ])
            #expect(result.status == 0, "\(result.stderr)")
            let rows = try #require(try JSONValue.parse(Data(result.stdout.utf8)).arrayValue)
            let byUID = Dictionary(uniqueKeysWithValues: rows.map { ($0["job_uid"]?.stringValue ?? "", $0) })
            func number(_ uid: String, _ key: String) -> Double? {
                switch byUID[uid]?[key] {
                case .int(let i)?: return Double(i)
                case .double(let d)?: return d
                default: return nil
                }
            }
            func close(_ x: Double?, _ y: Double) -> Bool { x.map { abs($0 - y) < 0.01 } ?? false }
            // A: up 0:30-1:00 and 3:00-5:00, down 1:00-3:00.
            #expect(close(number(a, "observed_seconds"), 4.5 * 3600))
            #expect(close(number(a, "up_seconds"), 2.5 * 3600))
            #expect(close(number(a, "availability"), 2.5 / 4.5))
            #expect(number(a, "outages") == 1)
            #expect(close(number(a, "longest_outage_seconds"), 2 * 3600))
            #expect(close(number(a, "mttr_seconds"), 2 * 3600))
            #expect(byUID[a]?["by_status"]?["6"] == .int(7200))
            // B: gone 2:05-4:05 is not observed; up the rest.
            #expect(close(number(b, "observed_seconds"), 2.5 * 3600))
            #expect(close(number(b, "unobserved_seconds"), 2 * 3600))
            #expect(close(number(b, "availability"), 1))
            #expect(number(b, "outages") == 0)
            // C: up all along.
            #expect(close(number(c, "observed_seconds"), 4.5 * 3600) && close(number(c, "availability"), 1))
            // D, replaced: the old job observed until the sync saw its 404 (3:05), the new one from
            // its first status (3:00), down (CREATED) until 4:00.
            #expect(close(number(d, "observed_seconds"), 9300) && close(number(d, "unobserved_seconds"), 6900))
            #expect(close(number(d, "availability"), 1) && number(d, "outages") == 0)
            #expect(close(number(d2, "unobserved_seconds"), 9000) && close(number(d2, "observed_seconds"), 7200))
            #expect(close(number(d2, "availability"), 0.5) && number(d2, "outages") == 1)
            #expect(close(number(d2, "longest_outage_seconds"), 3600) && close(number(d2, "mttr_seconds"), 3600))
            // Lowest availability first.
            #expect(rows.map { $0["job_uid"]?.stringValue ?? "" }.prefix(2) == [d2, a])

            // --below keeps A alone; without an up status there is one sentence saying how to name one.
            let below = try await BuiltProduct.run([
                "uptime", "--db", db, "--up", "11", "--since", "2026-01-01T00:30:00Z", "--until", "2026-01-01T05:00:00Z", "--below", "0.99",
                "--format", "ndjson",
            ])
            #expect(below.stdout.split(separator: "\n").count == 2 && below.stdout.contains(a))
            let unknown = try await BuiltProduct.run(["uptime", "--db", db, "--up", "11", "--source", "lab"])
            #expect(unknown.status == 0 && unknown.stderr.contains("no source is called 'lab'"), "\(unknown.stderr)")
            let noUp = try await BuiltProduct.run(["uptime", "--db", db])
            #expect(noUp.status == 2 && noUp.stderr.contains("no status counts as up"))
            // Grouped by source: the sums.
            let bySource = try await BuiltProduct.run([
                "uptime", "--db", db, "--up", "11", "--since", "2026-01-01T00:30:00Z", "--until", "2026-01-01T05:00:00Z", "--by", "source",
                "--format", "json",
            ])
            let group = try #require(try JSONValue.parse(Data(bySource.stdout.utf8)).arrayValue?.first)
            #expect(group["source"] == .string("127.0.0.1"))
            let observed: Double? =
                switch group["observed_seconds"] {
                case .int(let i)?: Double(i)
                case .double(let d)?: d
                default: nil
                }
            #expect(close(observed, 11.5 * 3600 + 9300 + 7200), "\(bySource.stdout)")
        }
    }

    @Test("Flapping: the densest stretch of status changes per stream, by --window and --min-changes, in flapping and in uptime")
    func flapping() async throws {
        try await withClockedFleet(t0: "2026-02-01T00:00:00Z", size: 2, seed: 7, lead: 300) { f in
            let (fleet, db) = (f.fleet, f.databasePath)
            let (a, b) = (f.uids[0], f.uids[1])
            for uid in [a, b] { fleet.setStatus(uid, 11) }
            #expect(try await f.sync(at: -4).outcome == .ok)
            // A changes at 0:10, 0:20, 0:30, 0:40 (four within 30 minutes) and 3:20; B at 1:40 and 3:30.
            // Each change is dated by the server's updated_at, a minute before the sync that sees it.
            let changes: [(Double, String, Int)] = [
                (10, a, 6), (20, a, 11), (30, a, 6), (40, a, 11), (100, b, 6), (200, a, 6), (210, b, 11),
            ]
            for (minutes, uid, status) in changes {
                f.set(minutes)
                fleet.setStatus(uid, status)
                try await f.sync(at: minutes + 1)
            }
            let window = ["--since", "2026-02-01T00:00:00Z", "--until", "2026-02-01T05:00:00Z"]
            func rows(_ arguments: [String]) async throws -> [JSONValue] {
                let result = try await BuiltProduct.run(arguments + ["--db", db, "--format", "json"])
                #expect(result.status == 0, "\(result.stderr)")
                return try #require(try JSONValue.parse(Data(result.stdout.utf8)).arrayValue)
            }
            let hourly = try await rows(["flapping", "--window", "1h", "--min-changes", "4"] + window)
            #expect(hourly.count == 1)
            #expect(hourly.first?["job_uid"] == .string(a))
            #expect(hourly.first?["changes"] == .int(4))
            #expect(hourly.first?["from"] == .string("2026-02-01T00:10:00.000000Z"))
            #expect(hourly.first?["to"] == .string("2026-02-01T00:40:00.000000Z"))
            #expect(hourly.first?["total_changes"] == .int(5))
            #expect(hourly.first?["status"] == .int(6))
            // A wider window takes in A's fifth change; two changes in four hours make B flap too.
            let wide = try await rows(["flapping", "--window", "4h", "--min-changes", "2"] + window)
            #expect(wide.map { $0["job_uid"]?.stringValue ?? "" } == [a, b])
            #expect(wide.first?["changes"] == .int(5) && wide.last?["changes"] == .int(2))
            #expect(
                wide.last?["from"] == .string("2026-02-01T01:40:00.000000Z") && wide.last?["to"] == .string("2026-02-01T03:30:00.000000Z"))
            // The window's edges bound the changes counted: from 0:25 on, A has two within the hour.
            #expect(try await rows(["flapping", "--window", "1h", "--min-changes", "3", "--since", "2026-02-01T00:25:00Z"]).isEmpty)
            // uptime marks the same streams, per stream and per group.
            let uptime = try await rows(["uptime", "--up", "11", "--window", "1h", "--min-changes", "4"] + window)
            let flags = Dictionary(uniqueKeysWithValues: uptime.map { ($0["job_uid"]?.stringValue ?? "", $0["flapping"]) })
            #expect(flags == [a: .bool(true), b: .bool(false)])
            let grouped = try await rows(["uptime", "--up", "11", "--by", "source", "--window", "1h", "--min-changes", "4"] + window)
            #expect(grouped.first?["flapping_streams"] == .int(1))
            // A bad rule is one sentence.
            let misspelt = try await BuiltProduct.run(["flapping", "--db", db, "--source", "127.0.0.2"] + window)
            #expect(misspelt.status == 0 && misspelt.stderr.contains("no source is called '127.0.0.2'"), "\(misspelt.stderr)")
            let bad = try await BuiltProduct.run(["flapping", "--db", db, "--window", "soon"])
            #expect(bad.status == 2 && bad.stderr.contains("--window: 'soon' is not a length of time"))

            // The spans the triggers kept are the intervals the old view computed from status_history.
            let queue = try DatabaseQueue(path: db)
            defer { try? queue.close() }
            try await queue.read { db in
                let spans = try Row.fetchAll(
                    db, sql: "SELECT job_uid, status, started_by, started_at, ended_at FROM status_intervals ORDER BY job_uid, started_at")
                let recomputed = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT job_uid, status, event AS started_by, changed_at AS started_at,
                               lead(changed_at) OVER (PARTITION BY job_uid ORDER BY changed_at, observed_at) AS ended_at
                        FROM status_history ORDER BY job_uid, changed_at
                        """)
                #expect(spans == recomputed)
                #expect(spans.count == 9)
            }
        }
    }
}
