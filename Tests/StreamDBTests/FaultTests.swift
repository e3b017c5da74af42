import Foundation
import GRDB
import StreamDB
import StreamSim
import Testing

/// Each fault the simulator injects: the run ends, healthy streams are stored, every failure is
/// in `sync_errors`, and no stored data changes because of a failed fetch.
@Suite("Faults")
struct FaultTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case serverError, throttle, slow, reset, truncate, malformed, html, trickle
        var testDescription: String { rawValue }

        func plan() -> FaultPlan {
            var plan = FaultPlan()
            switch self {
            case .serverError: plan.serverErrorRate = 0.4
            case .throttle: plan.throttleRate = 0.4; plan.retryAfterSeconds = 0
            case .slow: plan.slowRate = 0.5; plan.slowDelay = 0.1
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
                configuration.timeout = kind == .trickle ? 0.5 : 2
            }
            h.server.setFaults(FaultPlan())

            #expect(report.outcome != .failed)
            let errors = try h.count("SELECT count(*) FROM sync_errors WHERE sync_run_id = ?", [report.runID])
            #expect(report.counts.errors == errors)
            if report.outcome == .partial { #expect(errors > 0) }
            if kind == .slow { #expect(report.outcome == .ok) }
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
            #expect(try h.count("SELECT count(*) FROM sync_errors WHERE kind = 'http_404' AND job_uid = '00000000-0000-0000-0000-000000000000'") == 1)
            #expect(try h.historyCounts() == before)
            #expect(try h.count("SELECT count(*) FROM streams WHERE job_uid = ?", [a]) == 1)
        }
    }
}
