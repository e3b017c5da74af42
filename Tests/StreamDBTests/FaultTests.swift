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

/// Each fault the simulator injects: the run ends, healthy streams are stored, every failure is
/// in `sync_errors`, and no stored data changes because of a failed fetch.
@Suite("Faults")
struct FaultTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case serverError, throttle, slow, reset, truncate, malformed, html, trickle
        var testDescription: String { rawValue }

        /// The simulator's name of this fault.
        var fault: FaultPlan.Fault { FaultPlan.Fault(rawValue: rawValue)! }

        func plan() -> FaultPlan {
            var plan = FaultPlan()
            switch self {
            case .serverError: plan.serverErrorRate = 0.4
            case .throttle:
                plan.throttleRate = 0.4
                plan.retryAfterSeconds = 0
            case .slow:
                plan.slowRate = 0.5
                plan.slowDelay = 0.1
            case .reset: plan.resetRate = 0.4
            case .truncate: plan.truncateRate = 0.4
            case .malformed: plan.malformedRate = 0.4
            case .html: plan.htmlRate = 0.4
            case .trickle: plan.trickleRate = 0.2
            }
            return plan
        }
    }

    @Test("A fault-ridden sync keeps good data and records every failure", arguments: Kind.allCases)
    func faults(kind: Kind) async throws {
        var options = SimulatorOptions()
        options.slimList = true  // every stream is a detail request: many requests, many faults
        options.pageSize = 10
        try await withHarness(streams: 24, seed: 11, options: options) { h in
            try await h.sync()
            // Change a third of the fleet, then sync through the faults.
            let live = h.fleet.liveStreams
            var before: [String: Int] = [:]
            for (i, stream) in live.enumerated() {
                before[stream.jobUID] = stream.status
                if i % 3 == 0 { h.fleet.setStatus(stream.jobUID, stream.status == 6 ? 11 : 6) }
            }
            h.fleet.delete(live[1].jobUID)
            h.server.setFaults(kind.plan())
            let report = try await h.sync { configuration in
                configuration.maxAttempts = 2
                configuration.timeout = kind == .trickle ? 1 : 2  // a trickle never ends: the timeout bounds it
            }
            h.server.setFaults(FaultPlan())
            // The fault really happened, and no other did: the run below went through it.
            let injected = h.server.injectedFaults
            #expect((injected[kind.fault] ?? 0) > 0, "no \(kind) fault was injected")
            #expect(injected.keys.allSatisfy { $0 == kind.fault })

            #expect(report.outcome != .failed)
            let errors = try h.count("SELECT count(*) FROM sync_errors WHERE sync_run_id = ?", [report.runID])
            #expect(report.counts.errors == errors)
            if report.outcome == .partial { #expect(errors > 0) }
            if kind == .slow { #expect(report.outcome == .ok) }
            if kind == .trickle {
                // A byte every 200 ms never trips the read timeout: the deadline on the whole
                // answer, body included, is what ends each trickled request.
                let cut = try h.count(
                    "SELECT count(*) FROM sync_errors WHERE sync_run_id = ? AND kind = 'timeout' AND message LIKE '%no complete answer within 1 s%'",
                    [report.runID])
                #expect(cut > 0)
            }
            // Every stored status is either the one before or the one served now: a failed fetch
            // changed nothing, and nothing was marked gone without a 404.
            let stored = try h.read { db in
                try Row.fetchAll(db, sql: "SELECT job_uid, status, gone_at FROM streams")
            }
            for row in stored {
                let uid: String = row["job_uid"]
                let status: Int = row["status"]
                #expect(status == before[uid] || status == h.fleet.stream(uid)?.status)
                if row["gone_at"] as String? != nil { #expect(uid == live[1].jobUID) }
            }
            #expect(try h.count("SELECT count(*) FROM sync_errors WHERE message = '' OR kind = ''") == 0)

            // Once the faults stop, the next run completes the mirror.
            let clean = try await h.sync()
            #expect(clean.outcome == .ok)
            #expect(try h.mirrorsFleet())
        }
    }

    @Test("Hostile bodies are recorded, not stored, and earlier data stays intact")
    func hostileBody() async throws {
        try await withHarness(streams: 5) { h in
            try await h.sync()
            let before = try h.historyCounts()
            // A detail body about another stream than the one asked for.
            let a = h.fleet.liveStreams[0].jobUID
            var options = SyncOptions()
            options.useList = false
            options.jobUIDs = ["00000000-0000-0000-0000-000000000000"]
            let report = try await h.sync(options)
            #expect(report.outcome == .partial)
            #expect(
                try h.count("SELECT count(*) FROM sync_errors WHERE kind = 'http_404' AND job_uid = '00000000-0000-0000-0000-000000000000'")
                    == 1)
            #expect(try h.historyCounts() == before)
            #expect(try h.count("SELECT count(*) FROM streams WHERE job_uid = ?", [a]) == 1)
        }
    }

    /// Each stream's stored rows (streams, snapshots, status_history), to compare before and after.
    private static func storedRows(_ h: TestHarness) throws -> [String: [[Row]]] {
        try h.read { db in
            var rows: [String: [[Row]]] = [:]
            for uid in try String.fetchAll(db, sql: "SELECT job_uid FROM streams") {
                rows[uid] = [
                    try Row.fetchAll(db, sql: "SELECT * FROM streams WHERE job_uid = ?", arguments: [uid]),
                    try Row.fetchAll(db, sql: "SELECT * FROM snapshots WHERE job_uid = ? ORDER BY version", arguments: [uid]),
                    try Row.fetchAll(
                        db, sql: "SELECT * FROM status_history WHERE job_uid = ? ORDER BY changed_at, observed_at", arguments: [uid]),
                ]
            }
            return rows
        }
    }

    /// After a faulty run: every stream either has the state served now, or has a row in
    /// `sync_errors` for the run and its stored rows exactly as `before`.
    private static func expectStoredOrRecorded(_ h: TestHarness, runID: Int64, before: [String: [[Row]]]) throws {
        let failed = Set(
            try h.read { db in
                try String.fetchAll(
                    db, sql: "SELECT job_uid FROM sync_errors WHERE sync_run_id = ? AND job_uid IS NOT NULL", arguments: [runID])
            })
        let after = try storedRows(h)
        for stream in h.fleet.liveStreams {
            if failed.contains(stream.jobUID) {
                #expect(after[stream.jobUID] == before[stream.jobUID], "a failed fetch changed the stored rows of \(stream.jobUID)")
            } else {
                let status = try h.count("SELECT status FROM streams WHERE job_uid = ?", [stream.jobUID])
                #expect(status == stream.status, "\(stream.jobUID) is neither stored nor recorded as failed")
            }
        }
        #expect(try h.count("SELECT count(*) FROM sync_errors WHERE sync_run_id = ? AND (message = '' OR kind = '')", [runID]) == 0)
        #expect(try h.count(TestHarness.missingCurrentVersionsSQL) == 0)
    }

    @Test("A 100 MB body is refused at the client's 64 MiB limit and recorded; the run goes on with the other streams")
    func hugeBody() async throws {
        var options = SimulatorOptions()
        options.slimList = true
        options.faultSeed = 3
        try await withHarness(streams: 10, seed: 13, options: options) { h in
            try await h.sync()
            for stream in h.fleet.liveStreams { h.fleet.setStatus(stream.jobUID, stream.status == 6 ? 11 : 6) }
            let before = try Self.storedRows(h)
            var plan = FaultPlan()
            plan.hugeRate = 0.3
            h.server.setFaults(plan)
            var sync = SyncOptions()
            sync.useList = false  // only detail requests, each one a draw
            let started = ContinuousClock.now
            let report = try await h.sync(sync) { $0.timeout = 30 }
            h.server.setFaults(FaultPlan())
            #expect(ContinuousClock.now - started < .seconds(60))

            let refused = try h.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT * FROM sync_errors WHERE sync_run_id = ? AND kind = 'too_large'", arguments: [report.runID])
            }
            #expect(!refused.isEmpty, "no request drew the huge body")
            for row in refused {
                #expect(row["attempts"] as Int? == 1, "a body over the limit is not worth a retry")
                #expect((row["message"] as String).contains("larger than 64 MiB"))
            }
            #expect(report.counts.errors == refused.count)
            #expect(report.counts.seen == 10 - refused.count)
            #expect(report.outcome == .partial)
            try Self.expectStoredOrRecorded(h, runID: report.runID, before: before)
        }
    }

    @Test("A sync through every fault at once ends within 60 s, stores the healthy streams and records every failure")
    func timeBudget() async throws {
        var options = SimulatorOptions()
        options.faultSeed = 17
        try await withHarness(streams: 24, seed: 17, options: options) { h in
            try await h.sync()
            for (i, stream) in h.fleet.liveStreams.enumerated() where i % 3 == 0 {
                h.fleet.setStatus(stream.jobUID, stream.status == 6 ? 11 : 6)
            }
            let before = try Self.storedRows(h)
            var plan = FaultPlan()
            plan.serverErrorRate = 0.30
            plan.throttleRate = 0.05
            plan.retryAfterSeconds = 1
            plan.resetRate = 0.05
            plan.slowRate = 0.03
            plan.slowDelay = 3  // beyond --timeout: a timeout
            plan.truncateRate = 0.04
            plan.malformedRate = 0.04
            plan.htmlRate = 0.04
            plan.trickleRate = 0.03
            h.server.setFaults(plan)
            let requestsBefore = h.server.requestCount
            // The binary with its default retries and backoff, as cron runs it; every stream is a
            // detail request (the listing is covered above).
            let started = ContinuousClock.now
            let result = try await BuiltProduct.run(
                ["sync", "--url", h.server.baseURL, "--db", h.databasePath, "--no-list", "--timeout", "1"], killAfter: .seconds(120))
            let elapsed = ContinuousClock.now - started
            h.server.setFaults(FaultPlan())

            #expect(elapsed < .seconds(60), "the run took \(elapsed)")
            #expect(!result.signalled)
            #expect(result.status == 0 || result.status == 1, "\(result.stderr)")
            let runID = try #require(try h.read { db in try Int64.fetchOne(db, sql: "SELECT max(id) FROM sync_runs") })
            let errors = try h.count("SELECT count(*) FROM sync_errors WHERE sync_run_id = ?", [runID])
            #expect(try h.count("SELECT errors FROM sync_runs WHERE id = ?", [runID]) == errors)
            #expect((result.status == 1) == (errors > 0))
            try Self.expectStoredOrRecorded(h, runID: runID, before: before)
            #expect(h.server.requestCount - requestsBefore > 24, "no request was retried: the faults were not exercised")
        }
    }
}
