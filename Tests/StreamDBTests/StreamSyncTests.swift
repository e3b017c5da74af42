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

/// `streamdb sync` against the simulator over real HTTP, into a real SQLite file.
@Suite("Sync")
struct StreamSyncTests {
    @Test("A first sync stores every stream as version 1 with its regions, areas and first status")
    func firstSync() async throws {
        try await withHarness(streams: 30) { h in
            let report = try await h.sync()
            #expect(report.outcome == .ok)
            #expect(report.listing == .complete)
            #expect(report.counts.seen == 30)
            #expect(report.counts.new == 30)
            #expect(try h.count("SELECT count(*) FROM streams") == 30)
            #expect(try h.count("SELECT count(*) FROM stream_versions WHERE version = 1 AND valid_to IS NULL") == 30)
            #expect(try h.count("SELECT count(*) FROM status_history WHERE event = 'first_seen'") == 30)
            #expect(try h.mirrorsFleet())

            // Areas and regions per version, as served.
            let stream = h.fleet.liveStreams[0]
            let areas = try h.count("SELECT count(*) FROM areas WHERE job_uid = ? AND version = 1", [stream.jobUID])
            #expect(areas == stream.config.areas.count)
            let regions = try h.read { db in
                try String.fetchAll(
                    db, sql: "SELECT region_title FROM stream_regions WHERE job_uid = ? ORDER BY region_title", arguments: [stream.jobUID])
            }
            #expect(regions == stream.regions.map(\.title).sorted())

            // The payload view gives back the object as served (config strings included).
            let payload = try h.read { db in
                try String.fetchOne(db, sql: "SELECT payload FROM stream_versions WHERE job_uid = ?", arguments: [stream.jobUID])
            }
            let served = try JSONValue.parse(stream.json)
            let stored = try JSONValue.parse(try #require(payload))
            #expect(stored["status"] == served["status"])
            #expect(stored["updated_at"] == served["updated_at"])
            #expect(
                try JSONValue.parse(try #require(stored["platform_json"]?.stringValue))
                    == JSONValue.parse(try #require(served["platform_json"]?.stringValue)))
            #expect(stored["regions"] == served["regions"])

            // The ledger.
            let run = try h.read { db in try Row.fetchOne(db, sql: "SELECT * FROM sync_runs")! }
            #expect(run["outcome"] as String == "ok")
            #expect(run["streams_new"] as Int == 30)
            #expect(run["source_url"] as String == h.server.baseURL)
            #expect((run["finished_at"] as String?) != nil)
        }
    }

    @Test("A resync with nothing changed writes no version and no status row")
    func unchangedResync() async throws {
        try await withHarness { h in
            try await h.sync()
            let before = try h.historyCounts()
            let report = try await h.sync()
            #expect(report.outcome == .ok)
            #expect(report.counts.unchanged == 20)
            #expect(report.counts.changed == 0 && report.counts.new == 0)
            #expect(try h.historyCounts() == before)
            #expect(try h.count("SELECT count(*) FROM sync_runs") == 2)
        }
    }

    @Test(
        "Listing pages fetched ahead while the stored digests are read are each stored once, in order, also when a later page fails"
    )
    func pagesFetchedAhead() async throws {
        // Many short pages against thousands of stored digests: pages that arrive before the
        // digests are read wait for them (up to 16 MiB of items) instead of the fetching.
        var options = SimulatorOptions()
        options.pageSize = 10
        try await withHarness(streams: 3_000, seed: 5, options: options) { h in
            try await h.sync()
            let live = h.fleet.liveStreams
            for stream in live.enumerated().filter({ $0.offset % 7 == 0 }).map(\.element) {
                h.fleet.setStatus(stream.jobUID, stream.status == 6 ? 11 : 6)
            }
            let report = try await h.sync()
            #expect(report.outcome == .ok && report.listing == .complete)
            #expect(report.counts.seen == 3_000)
            #expect(report.counts.changed == (3_000 + 6) / 7 && report.counts.unchanged == 3_000 - (3_000 + 6) / 7)
            #expect(try h.count("SELECT count(*) FROM streams WHERE last_seen_run_id = ?", [report.runID]) == 3_000)
            #expect(try h.count("SELECT count(*) FROM versions WHERE sync_run_id = ?", [report.runID]) == report.counts.changed)

            // A page that fails ends the listing; every page before it was stored by the listing,
            // also any still waiting for the digests then. Whether one was waiting depends on how
            // the reading and the fetching interleave (with 3,000 digests in a debug build the
            // reading is usually done first; with 10,000 in a release build pages do wait); what
            // is checked here holds either way.
            h.server.setOptions { $0.failingListPages = [3] }
            let requestsBefore = h.server.requestCount
            let failing = try await h.sync { $0.maxAttempts = 1 }
            let requests = h.server.requestCount - requestsBefore
            h.server.setOptions { $0.failingListPages = [] }
            #expect(failing.outcome == .partial && failing.listing == .incomplete)
            let page = 3
            #expect(
                try h.count(
                    "SELECT count(*) FROM sync_errors WHERE sync_run_id = ? AND message LIKE 'listing page 3: %'", [failing.runID])
                    == 1)
            let listed = live.prefix((page - 1) * 10).map(\.jobUID)
            let unseen = try h.read { db in
                try String.fetchAll(
                    db, sql: "SELECT job_uid FROM streams WHERE last_seen_run_id IS NOT ?", arguments: [failing.runID])
            }
            #expect(Set(listed).isDisjoint(with: unseen))
            // Seen by the listing, not fetched again: one request per page read and the failing
            // one, one detail request for each stream after them.
            #expect(requests == page + (3_000 - listed.count))
        }
    }

    @Test("A stream served as last time is known by its served digest; a stale or missing digest only costs the full comparison")
    func servedDigestShortcut() async throws {
        try await withHarness { h in
            func storedDigests() throws -> [String: String?] {
                try h.read { db in
                    try Dictionary(
                        uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT job_uid, served_digest FROM streams")
                            .map { ($0[0] as String, $0[1] as String?) })
                }
            }
            try await h.sync()
            // Every stream carries the digest of the object it was served as.
            #expect(try h.count("SELECT count(*) FROM streams WHERE served_digest IS NULL") == 0)
            let digests = try storedDigests()
            #expect(Set(digests.values).count == 20)

            // A digest that no longer matches (another streamdb's rules, a damaged cache) and a
            // missing one (a database from before migration 0002): the streams are compared in full,
            // found unchanged, and get their digest back.
            let stale = h.fleet.liveStreams[0].jobUID
            let missing = h.fleet.liveStreams[1].jobUID
            let writer = try DatabaseQueue(path: h.databasePath)
            try await writer.write { db in
                try db.execute(sql: "UPDATE streams SET served_digest = 'stale' WHERE job_uid = ?", arguments: [stale])
                try db.execute(sql: "UPDATE streams SET served_digest = NULL WHERE job_uid = ?", arguments: [missing])
            }
            try writer.close()
            let before = try h.historyCounts()
            let report = try await h.sync()
            #expect(report.counts.unchanged == 20 && report.counts.changed == 0)
            #expect(try h.historyCounts() == before)
            let after = try storedDigests()
            #expect(after == digests)

            // Through the shortcut a run still records that it saw each stream.
            #expect(try h.count("SELECT count(*) FROM streams WHERE last_seen_run_id = 2") == 20)

            // Changing the masking setting is no shortcut: the digest covers it, so every stream
            // is normalised again under the new setting.
            var keep = SyncOptions()
            keep.keepURLCredentials = true
            let report3 = try await h.sync(keep)
            #expect(report3.counts.seen == 20)
            let unmasked = try storedDigests()
            #expect(digests.allSatisfy { unmasked[$0.key]! != $0.value })
        }
    }

    @Test("The served digest is of the bytes as served but updated_at's string, and sees every other change")
    func servedDigestValue() throws {
        let uid = "00617614-b938-11ee-bfd6-5622fced16a0"
        func digest(_ text: String, mask: Bool = true) throws -> String {
            ServedDigest.of(try JSONOutline(Data(text.utf8), depth: 1).root, masking: mask ? .standard : nil)
        }
        let a = #"{"job_uid":"\#(uid)","status":11,"updated_at":"2024-01-01T00:00:00Z","platform_json":"{\"A\": 1}"}"#
        // Only updated_at moved (to a longer string, spelt with an escape): the same digest.
        let later = #"{"job_uid":"\#(uid)","status":11,"updated_at":"2025-06-01T00:00:00.123456\u002B03:00","platform_json":"{\"A\": 1}"}"#
        #expect(try digest(a) == digest(later))
        // The same key spelt with an escape is the same member, cut alike.
        let escapedKey = #"{"job_uid":"\#(uid)","status":11,"updated\u005fat":"x","platform_json":"{\"A\": 1}"}"#
        #expect(try digest(escapedKey) == digest(#"{"job_uid":"\#(uid)","status":11,"updated\u005fat":"y","platform_json":"{\"A\": 1}"}"#))
        // Another spelling of the same object is other bytes: it proves nothing, and the full
        // comparison finds it equal.
        let respaced = #"{ "platform_json" : "{\"A\": 1}", "status" : 11.0, "updated_at":"2024-01-01T00:00:00Z", "job_uid":"\#(uid)" }"#
        #expect(try digest(a) != digest(respaced))
        #expect(try StreamSnapshot(item: JSONValue.parse(a)).contentHash == StreamSnapshot(item: JSONValue.parse(respaced)).contentHash)
        // A re-spelt config string, a status, a config: each another digest.
        for other in [
            #"{"job_uid":"\#(uid)","status":11,"updated_at":"2024-01-01T00:00:00Z","platform_json":"{\"A\":1}"}"#,
            #"{"job_uid":"\#(uid)","status":6,"updated_at":"2024-01-01T00:00:00Z","platform_json":"{\"A\": 1}"}"#,
            #"{"job_uid":"\#(uid)","status":11,"updated_at":"2024-01-01T00:00:00Z","platform_json":"{\"A\": 2}"}"#,
            // updated_at of another type is content, as normalisation keeps it.
            #"{"job_uid":"\#(uid)","status":11,"updated_at":17,"platform_json":"{\"A\": 1}"}"#,
            #"{"job_uid":"\#(uid)","status":11,"updated_at":null,"platform_json":"{\"A\": 1}"}"#,
            // No updated_at at all is not a cut one.
            #"{"job_uid":"\#(uid)","status":11,"platform_json":"{\"A\": 1}"}"#,
        ] {
            #expect(try digest(a) != digest(other))
        }
        // Of a duplicate key the last counts: when it is not a string, nothing is cut, and the
        // string before it is hashed with the rest.
        let duplicate = { (first: String) in #"{"job_uid":"\#(uid)","status":11,"updated_at":"\#(first)","updated_at":5}"# }
        #expect(try digest(duplicate("x")) != digest(duplicate("y")))
        #expect(try digest(a) != digest(a, mask: false))
        // A tree (a test's or the bench's, not served) is digested as its canonical text.
        let tree = try JSONValue.parse(a)
        #expect(try StreamSnapshot(item: tree).servedDigest == digest(tree.canonicalText))
        #expect(ServedDigest.of(tree.objectValue!, masking: .standard) == (try digest(tree.canonicalText)))
    }

    @Test("A status change makes a new version and one status row dated by the server's updated_at")
    func statusChange() async throws {
        try await withHarness { h in
            try await h.sync()
            let uid = h.fleet.liveStreams[3].jobUID
            let old = h.fleet.liveStreams[3].status
            let new = old == 6 ? 11 : 6
            try await Task.sleep(for: .milliseconds(20))
            h.fleet.setStatus(uid, new)
            let report = try await h.sync()
            #expect(report.counts.changed == 1)
            #expect(report.counts.unchanged == 19)
            let rows = try h.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT * FROM status_history WHERE job_uid = ? ORDER BY changed_at, observed_at", arguments: [uid])
            }
            #expect(rows.count == 2)
            #expect(rows[1]["event"] as String == "changed")
            #expect(rows[1]["status"] as Int == new)
            #expect(rows[1]["previous_status"] as Int == old)
            #expect(rows[1]["version"] as Int == 2)
            #expect(rows[1]["changed_at_source"] as String == "server")
            // The old version is closed when the new one was observed; documents are shared.
            let versions = try h.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM stream_versions WHERE job_uid = ? ORDER BY version", arguments: [uid])
            }
            #expect(versions.count == 2)
            #expect(versions[0]["valid_to"] as String == versions[1]["observed_at"] as String)
            #expect((versions[1]["valid_to"] as String?) == nil)
            #expect(versions[0]["platform_config_id"] as Int == versions[1]["platform_config_id"] as Int)
            #expect(versions[0]["rest_id"] as Int == versions[1]["rest_id"] as Int)
            // The interval view: the first status ended when the second began.
            let intervals = try h.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM status_intervals WHERE job_uid = ? ORDER BY started_at", arguments: [uid])
            }
            #expect(intervals.count == 2)
            #expect(intervals[0]["ended_at"] as String == intervals[1]["started_at"] as String)
            #expect((intervals[1]["ended_at"] as String?) == nil)
        }
    }

    @Test("A config change makes a new version with the new config and no status row")
    func configChange() async throws {
        try await withHarness { h in
            try await h.sync()
            let uid = h.fleet.liveStreams[1].jobUID
            h.fleet.setThreshold(uid, 512)
            let report = try await h.sync()
            #expect(report.counts.changed == 1)
            let threshold = try h.count(
                """
                SELECT json_extract(platform_config, '$.Pipeline.Detector.Threshold') FROM stream_versions
                WHERE job_uid = ? AND version = 2
                """, [uid])
            #expect(threshold == 512)
            #expect(try h.count("SELECT count(*) FROM status_history WHERE job_uid = ?", [uid]) == 1)
            #expect(try h.count("SELECT count(DISTINCT platform_config_id) FROM snapshots WHERE job_uid = ?", [uid]) == 2)
        }
    }

    @Test("An area added shows as one more row in `areas` for the new version")
    func areaAdded() async throws {
        try await withHarness { h in
            try await h.sync()
            let stream = h.fleet.liveStreams[0]
            let added = SimArea(id: "area_part_9", shape: [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]])
            h.fleet.setAreas(stream.jobUID, stream.config.areas + [added])
            try await h.sync()
            let v1 = try h.count("SELECT count(*) FROM areas WHERE job_uid = ? AND version = 1", [stream.jobUID])
            let v2 = try h.count("SELECT count(*) FROM areas WHERE job_uid = ? AND version = 2", [stream.jobUID])
            #expect(v2 == v1 + 1)
            let row = try h.read { db in
                try Row.fetchOne(
                    db, sql: "SELECT * FROM areas WHERE job_uid = ? AND version = 2 AND area_id = 'area_part_9'", arguments: [stream.jobUID]
                )
            }
            #expect(row?["point_count"] as Int? == 3)
            #expect(row?["shape"] as String? == "[[0.1,0.1],[0.5,0.1],[0.5,0.5]]")
        }
    }

    @Test("A region move makes a new version whose regions are the new ones")
    func regionChange() async throws {
        try await withHarness { h in
            try await h.sync()
            let uid = h.fleet.liveStreams[2].jobUID
            let target = SimRegion.all[7]
            h.fleet.setRegions(uid, [target])
            let report = try await h.sync()
            #expect(report.counts.changed == 1)
            let titles = try h.read { db in
                try String.fetchAll(db, sql: "SELECT region_title FROM stream_regions WHERE job_uid = ? AND version = 2", arguments: [uid])
            }
            #expect(titles == [target.title])
            #expect(try h.count("SELECT count(*) FROM status_history WHERE job_uid = ?", [uid]) == 1)
        }
    }

    @Test("updated_at moving alone is not a change, but the streams row takes the new value")
    func touchOnly() async throws {
        try await withHarness { h in
            try await h.sync()
            let uid = h.fleet.liveStreams[4].jobUID
            try await Task.sleep(for: .milliseconds(5))
            h.fleet.touch(uid)
            let before = try h.historyCounts()
            let report = try await h.sync()
            #expect(report.counts.changed == 0)
            #expect(try h.historyCounts() == before)
            let updated = try h.read { db in
                try String.fetchOne(db, sql: "SELECT updated_at FROM streams WHERE job_uid = ?", arguments: [uid])
            }
            #expect(updated == h.fleet.stream(uid)?.updatedAt)
        }
    }

    @Test("A deleted stream is marked gone after a 404, kept, and recorded as back when it returns")
    func goneAndBack() async throws {
        try await withHarness { h in
            try await h.sync()
            let uid = h.fleet.liveStreams[5].jobUID
            h.fleet.delete(uid)
            let gone = try await h.sync()
            #expect(gone.counts.gone == 1)
            #expect(gone.counts.seen == 19)
            #expect(try h.count("SELECT count(*) FROM streams WHERE gone_at IS NOT NULL") == 1)
            #expect(try h.count("SELECT count(*) FROM current_streams") == 19)
            #expect(try h.count("SELECT count(*) FROM stream_versions WHERE job_uid = ?", [uid]) == 1)
            // A second sync does not record it gone again.
            let again = try await h.sync()
            #expect(again.counts.gone == 0)
            h.fleet.restore(uid)
            let back = try await h.sync()
            #expect(back.counts.back == 1)
            #expect(try h.count("SELECT count(*) FROM streams WHERE gone_at IS NOT NULL") == 0)
            let events = try h.read { db in
                try String.fetchAll(
                    db, sql: "SELECT event FROM status_history WHERE job_uid = ? ORDER BY changed_at, observed_at", arguments: [uid])
            }
            #expect(events == ["first_seen", "gone", "back"])
            let presence = try h.read { db in
                try String.fetchAll(
                    db, sql: "SELECT presence FROM status_intervals WHERE job_uid = ? ORDER BY started_at", arguments: [uid])
            }
            #expect(presence == ["present", "gone", "present"])
        }
    }

    @Test(
        "Pagination, a bare array, a slim list and no list route all mirror the fleet",
        arguments: [
            ListShape.paginated, .bareArray, .slim, .noList,
        ])
    func listShapes(shape: ListShape) async throws {
        var options = SimulatorOptions()
        switch shape {
        case .paginated: options.pageSize = 7
        case .bareArray: options.pageSize = 0
        case .slim:
            options.slimList = true
            options.pageSize = 9
        case .noList: options.listRoute = false
        }
        try await withHarness(streams: 25, options: options) { h in
            var sync = SyncOptions()
            if shape == .noList {
                sync.jobUIDs = h.fleet.liveStreams.map(\.jobUID)
            }
            let report = try await h.sync(sync)
            #expect(report.outcome == .ok)
            #expect(report.counts.new == 25)
            #expect(report.listing == (shape == .noList ? .unavailable : .complete))
            #expect(try h.mirrorsFleet())
            // Without a list route, later syncs follow the streams already known.
            h.fleet.setStatus(h.fleet.liveStreams[0].jobUID, 6)
            h.fleet.delete(h.fleet.liveStreams[1].jobUID)
            let second = try await h.sync()
            #expect(second.counts.gone == 1)
            #expect(try h.mirrorsFleet())
        }
    }

    enum ListShape: String, CustomTestStringConvertible, Sendable {
        case paginated, bareArray, slim, noList
        var testDescription: String { rawValue }
    }

    @Test("--no-list syncs the named uids and the known ones, never the list")
    func noListOption() async throws {
        try await withHarness { h in
            var options = SyncOptions()
            options.useList = false
            options.jobUIDs = [h.fleet.liveStreams[0].jobUID.uppercased(), "not-a-uuid"]
            let report = try await h.sync(options)
            #expect(report.listing == .skipped)
            #expect(report.counts.new == 1)
            #expect(report.outcome == .partial)
            let message = try h.read { db in
                try String.fetchOne(db, sql: "SELECT message FROM sync_errors WHERE kind = 'bad_uid'")
            }
            #expect(message?.contains("not-a-uuid") == true)
        }
    }

    @Test("--no-list asks for the known streams in the order of their rows, and records each as served before")
    func noListOrder() async throws {
        var simulator = SimulatorOptions()
        simulator.recordDetailRequests = true
        try await withHarness(streams: 60, options: simulator) { h in
            #expect(try await h.sync().counts.new == 60)
            let rowOrder = try h.read { db in try String.fetchAll(db, sql: "SELECT job_uid FROM streams ORDER BY stream_id") }
            // The fleet's uids are random, so their order is not the rows' order: the test can fail.
            #expect(rowOrder != rowOrder.sorted())
            var options = SyncOptions()
            options.useList = false
            options.concurrency = 1
            let report = try await h.sync(options)
            #expect(report.outcome == .ok)
            #expect(report.counts.unchanged == 60)
            #expect(h.server.detailRequests == rowOrder)
            #expect(try h.count("SELECT count(*) FROM versions") == 60)
            #expect(try h.count("SELECT count(*) FROM streams WHERE last_seen_run_id = ?", [report.runID]) == 60)
        }
    }

    @Test(
        "Detail answers that arrive while a batch is handed to the writer are each stored once, batches smaller than the requests in flight"
    )
    func detailsWhileWriting() async throws {
        try await withHarness(streams: 120) { h in
            var options = SyncOptions()
            options.useList = false
            options.concurrency = 16
            options.batchSize = 3
            options.jobUIDs = h.fleet.liveStreams.map(\.jobUID)
            let report = try await h.sync(options)
            #expect(report.outcome == .ok)
            #expect(report.counts.new == 120 && report.counts.seen == 120)
            #expect(try h.count("SELECT count(*) FROM versions") == 120)
            #expect(try h.count("SELECT count(DISTINCT stream_id) FROM versions") == 120)
            #expect(try h.count("SELECT count(*) FROM sync_errors") == 0)
            // And again, every stream unchanged: the digests' shortcut through the same path.
            let again = try await h.sync(options)
            #expect(again.counts.unchanged == 120)
            #expect(try h.count("SELECT count(*) FROM versions") == 120)
        }
    }

    @Test("Detail requests stop after 2 x concurrency + 10 in a row time out: the rest are not asked for, and the run says how many")
    func detailsGiveUp() async throws {
        // Accepts every connection and never answers.
        let silent = try await PingRecorder(answering: false)
        let base = try #require(URL(string: silent.baseURL))
        try await withHarness { h in
            var options = SyncOptions()
            options.useList = false
            options.concurrency = 2
            options.jobUIDs = (0..<40).map { _ in UUID().uuidString.lowercased() }
            let report = try await h.sync(options) {
                $0.baseURL = base
                $0.timeout = 0.2
                $0.maxAttempts = 1
            }
            #expect(report.outcome == .failed)
            let messages = try h.read { db in
                try String.fetchAll(
                    db, sql: "SELECT message FROM sync_errors WHERE sync_run_id = ? AND job_uid IS NULL", arguments: [report.runID])
            }
            #expect(
                messages.contains(
                    "gave up after 14 detail requests in a row failed to connect or timed out; 26 streams were not requested."),
                "\(messages)")
            #expect(try h.count("SELECT count(*) FROM sync_errors WHERE sync_run_id = ? AND kind = 'timeout'", [report.runID]) == 14)
            // No request was made after it gave up: the 14, and what was still in flight then.
            #expect(silent.pings.count >= 14 && silent.pings.count <= 16, "\(silent.pings.count) requests")
        }
        await silent.stop()
    }

    @Test("Auth: a token is sent; a missing or wrong one fails the run with a sentence about credentials")
    func authentication() async throws {
        var options = SimulatorOptions()
        options.token = "s3cret-token"
        try await withHarness(options: options) { h in
            let missing = try await h.sync()
            #expect(missing.outcome == .failed)
            #expect(missing.message?.contains("no token was given") == true)
            let wrong = try await h.sync(token: "wrong")
            #expect(wrong.outcome == .failed)
            #expect(wrong.message?.contains("token was refused") == true)
            #expect(try h.count("SELECT count(*) FROM streams") == 0)
            let ok = try await h.sync(token: "s3cret-token")
            #expect(ok.outcome == .ok)
            var bearer = SyncOptions()
            bearer.useList = true
            let viaBearer = try await h.sync(bearer, token: "s3cret-token") { $0.authScheme = .bearer }
            #expect(viaBearer.outcome == .ok)
            // The token is nowhere in the database.
            let dump = try h.read { db in
                try String.fetchAll(
                    db,
                    sql:
                        "SELECT coalesce(message, '') || source_url FROM sync_runs UNION ALL SELECT message || coalesce(url, '') FROM sync_errors"
                )
            }
            #expect(!dump.joined().contains("s3cret-token"))
            let raw = try Data(contentsOf: URL(fileURLWithPath: h.databasePath))
            #expect(raw.range(of: Data("s3cret-token".utf8)) == nil)
        }
    }

    @Test("An unreachable server fails the run and keeps the history")
    func unreachable() async throws {
        try await withHarness { h in
            try await h.sync()
            let before = try h.historyCounts()
            await h.server.stop()
            let report = try await h.sync()
            #expect(report.outcome == .failed)
            #expect(report.message?.contains("cannot reach") == true)
            #expect(try h.historyCounts() == before)
            #expect(try h.count("SELECT count(*) FROM streams WHERE gone_at IS NOT NULL") == 0)
        }
    }

    @Test("Camera passwords never reach the database file")
    func passwordsNotStored() async throws {
        try await withHarness(streams: 30) { h in
            let withPasswords = h.fleet.liveStreams.filter { $0.config.url.contains("pw@") }
            #expect(!withPasswords.isEmpty)
            try await h.sync()
            let url = try h.read { db in
                try String.fetchOne(
                    db, sql: "SELECT json_extract(platform_config, '$.Source.Url') FROM stream_versions WHERE job_uid = ?",
                    arguments: [withPasswords[0].jobUID])
            }
            #expect(url?.hasPrefix("rtsp://admin:***@cam-") == true)
            let raw = try Data(contentsOf: URL(fileURLWithPath: h.databasePath))
            #expect(raw.range(of: Data("pw@".utf8)) == nil)
        }
    }
}
