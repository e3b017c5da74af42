import Foundation
import GRDB
import Logging
import StreamDBAPI
import StreamDBModel
import StreamDBOutput
import StreamDBQuery
import StreamDBStore
import StreamDBSync
import StreamSim
import Testing

/// What the disk and the database file can do to a sync: fill up, be read-only, not be a
/// database, be corrupted. Each gets one sentence and status 2; nothing is half written, and a
/// damaged file is not written to.
@Suite("Disk and file problems")
struct DiskAndFileTests {
    /// Six areas of fifty points each: a config edit large enough to need many new pages.
    static let bigAreas: [SimArea] = (1...6).map { (n: Int) -> SimArea in
        let shape: [[Double]] = (0..<50).map { (i: Int) -> [Double] in
            let x = Double(i % 10) / 10
            let y = Double((i * 7 + n) % 10) / 10
            return [x, y]
        }
        return SimArea(id: "area_big_\(n)", shape: shape)
    }

    /// The outcomes of the runs, oldest first.
    static func outcomes(_ h: TestHarness) throws -> [String] {
        try h.read { db in try String.fetchAll(db, sql: "SELECT outcome FROM sync_runs ORDER BY id") }
    }

    /// Checks that the database is consistent and that run 1's versions are as `before`.
    static func expectWhole(_ h: TestHarness, run1 before: [Row]) throws {
        let (integrity, foreignKeys, missingCurrent, brokenPayloads, run1) = try h.read { db in
            (
                try String.fetchOne(db, sql: "PRAGMA integrity_check"),
                try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").count,
                try Int.fetchOne(db, sql: TestHarness.missingCurrentVersionsSQL),
                try Int.fetchOne(db, sql: "SELECT count(*) FROM stream_versions WHERE payload IS NULL"),
                try Row.fetchAll(db, sql: Self.run1VersionsSQL)
            )
        }
        #expect(integrity == "ok")
        #expect(foreignKeys == 0)
        #expect(missingCurrent == 0)
        #expect(brokenPayloads == 0)
        #expect(run1 == before, "versions stored before the disk filled up changed")
    }

    /// The versions the first run stored, all but `valid_to` (which a later version sets).
    static let run1VersionsSQL = """
        SELECT job_uid, version, observed_at, status, payload, platform_config, content_hash FROM stream_versions
        WHERE sync_run_id = 1 ORDER BY job_uid, version
        """

    static func run1Versions(_ h: TestHarness) throws -> [Row] {
        try h.read { db in try Row.fetchAll(db, sql: run1VersionsSQL) }
    }

    /// One line on standard error, `streamdb: ...`, that says `what`.
    static func expectOneSentence(_ result: BuiltProduct.Result, saying what: [String]) {
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(
            lines.count == 1 && lines.first?.hasPrefix("streamdb: ") == true && lines.first?.hasSuffix(".") == true,
            "not one sentence: \(result.stderr)")
        #expect(what.contains { result.stderr.contains($0) }, "\(result.stderr) says none of \(what)")
    }

    // MARK: - A full disk

    @Test(
        "A full disk stops a sync with one sentence and status 2; what was written is whole; the next sync completes",
        .enabled(if: Tmpfs.available, "mounting a tmpfs is not permitted here: the max_page_count test below covers SQLITE_FULL"))
    func diskFull() async throws {
        var options = SimulatorOptions()
        options.pageSize = 5  // with --batch-size 5, a transaction per five streams: the disk fills up part way
        try await withHarness(streams: 60, seed: 21, options: options) { h in
            try Tmpfs.mount(at: h.directory, size: "8m")
            defer { Tmpfs.unmount(h.directory) }
            let sync = ["sync", "--url", h.server.baseURL, "--db", h.databasePath, "--quiet", "--batch-size", "5"]
            let first = try await BuiltProduct.run(sync, killAfter: .seconds(120))
            #expect(first.status == 0, "\(first.stderr)")
            let before = try Self.run1Versions(h)
            for stream in h.fleet.liveStreams { h.fleet.setAreas(stream.jobUID, Self.bigAreas) }
            let filler = h.directory.appending(path: "filler")
            // Room for a few batches of big configs (each kept canonical and as served), not for all.
            try Tmpfs.fill(h.directory, file: filler, leaving: 400 * 1024)

            let full = try await BuiltProduct.run(sync, killAfter: .seconds(120))
            #expect(full.status == 2)
            #expect(!full.signalled)
            Self.expectOneSentence(full, saying: ["the disk holding \(h.databasePath) is full"])
            try Self.expectWhole(h, run1: before)
            // As documented: the run stays 'running' until the next sync marks it interrupted.
            #expect(try Self.outcomes(h) == ["ok", "running"])
            let landed = try h.count("SELECT count(*) FROM snapshots WHERE sync_run_id = 2")
            #expect(landed > 0 && landed < 60, "the disk did not fill up part way: \(landed) versions landed")

            try FileManager.default.removeItem(at: filler)
            let next = try await BuiltProduct.run(sync, killAfter: .seconds(120))
            #expect(next.status == 0, "\(next.stderr)")
            #expect(try Self.outcomes(h) == ["ok", "interrupted", "ok"])
            try Self.expectWhole(h, run1: before)
            #expect(try h.mirrorsFleet())
        }
    }

    @Test("SQLITE_FULL part way through a sync (the writer's max_page_count) throws StoreError.full; what was written is whole")
    func pageLimit() async throws {
        var options = SimulatorOptions()
        options.pageSize = 5
        try await withHarness(streams: 60, seed: 22, options: options) { h in
            try await h.sync()
            let before = try Self.run1Versions(h)
            for stream in h.fleet.liveStreams { h.fleet.setAreas(stream.jobUID, Self.bigAreas) }
            let store = try HistoryStore.openForWriting(path: h.databasePath)
            // The database may grow by 40 pages (160 KiB): room for the run's start and a few list pages.
            try await store.write { db in
                let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
                try db.execute(sql: "PRAGMA max_page_count = \(pages + 40)")
            }
            let api = try StreamsAPI(configuration: h.configuration(), logger: TestHarness.quietLogger)
            do {
                var syncOptions = SyncOptions()
                syncOptions.batchSize = 5
                let report = try await StreamSync(api: api, store: store, logger: TestHarness.quietLogger).run(syncOptions)
                Issue.record("the sync did not stop: \(report.summary)")
            } catch let error as StoreError {
                #expect(error.reason == .full)
                #expect(error.message == "the disk holding \(h.databasePath) is full; nothing of the current step was written.")
            }
            await api.shutdown()
            try Self.expectWhole(h, run1: before)
            #expect(try Self.outcomes(h) == ["ok", "running"])
            let landed = try h.count("SELECT count(*) FROM snapshots WHERE sync_run_id = 2")
            #expect(landed > 0 && landed < 60, "the limit was not reached part way: \(landed) versions landed")
            #expect(try await h.sync().outcome == .ok)
            #expect(try Self.outcomes(h) == ["ok", "interrupted", "ok"])
            #expect(try h.mirrorsFleet())
        }
    }

    // MARK: - Permissions (as an unprivileged user: root is not stopped by them)

    /// Gives the folder and every file in it to `nobody`, with `mode` for the database itself.
    static func giveToNobody(_ h: TestHarness, databaseMode: Int) throws {
        // The history in the main file alone, without a WAL or shared-memory file beside it.
        let writer = try DatabaseQueue(path: h.databasePath)
        try writer.inDatabase { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        try writer.close()
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: h.databasePath + suffix) }
        let nobody: [FileAttributeKey: Any] = [.ownerAccountID: 65534, .groupOwnerAccountID: 65534]
        try FileManager.default.setAttributes(nobody, ofItemAtPath: h.directory.path())
        for name in try FileManager.default.contentsOfDirectory(atPath: h.directory.path()) {
            try FileManager.default.setAttributes(nobody, ofItemAtPath: h.directory.appending(path: name).path())
        }
        try FileManager.default.setAttributes([.posixPermissions: databaseMode], ofItemAtPath: h.databasePath)
    }

    @Test(
        "A read-only database file: sync stops with one sentence and status 2 and the file is unchanged; queries still read it",
        .enabled(if: BuiltProduct.canRunUnprivileged, "cannot run the binary as an unprivileged user (needs root and setpriv)"))
    func readOnlyFile() async throws {
        try await withHarness(streams: 4) { h in
            try await h.sync()
            try Self.giveToNobody(h, databaseMode: 0o400)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: h.databasePath))
            h.fleet.setStatus(h.fleet.liveStreams[0].jobUID, 1)
            let result = try await BuiltProduct.runUnprivileged(["sync", "--url", h.server.baseURL, "--db", h.databasePath])
            #expect(result.status == 2)
            Self.expectOneSentence(result, saying: ["cannot write \(h.databasePath)"])
            #expect(try Data(contentsOf: URL(fileURLWithPath: h.databasePath)) == bytes)
            let runs = try await BuiltProduct.runUnprivileged(["runs", "--db", h.databasePath, "--format", "csv"])
            #expect(runs.status == 0, "\(runs.stderr)")
            #expect(runs.stdout.split(separator: "\r\n").count == 2)
        }
    }

    @Test(
        "A read-only folder: sync stops with one sentence and status 2, with or without a lock file, and the file is unchanged",
        .enabled(if: BuiltProduct.canRunUnprivileged, "cannot run the binary as an unprivileged user (needs root and setpriv)"))
    func readOnlyDirectory() async throws {
        try await withHarness(streams: 4) { h in
            try await h.sync()
            #expect(FileManager.default.createFile(atPath: h.databasePath + ".lock", contents: nil))
            try Self.giveToNobody(h, databaseMode: 0o600)
            // The folder stays root's: nobody can write the file, but create nothing beside it.
            try FileManager.default.setAttributes(
                [.ownerAccountID: 0, .groupOwnerAccountID: 0, .posixPermissions: 0o755],
                ofItemAtPath: h.directory.path())
            let bytes = try Data(contentsOf: URL(fileURLWithPath: h.databasePath))
            let sync = ["sync", "--url", h.server.baseURL, "--db", h.databasePath]
            // A lock file of an earlier sync is there (nobody's), but SQLite cannot create its WAL.
            let withLock = try await BuiltProduct.runUnprivileged(sync)
            #expect(withLock.status == 2)
            Self.expectOneSentence(withLock, saying: ["cannot write \(h.databasePath)"])
            // Without it, the lock file cannot be created.
            try FileManager.default.removeItem(atPath: h.databasePath + ".lock")
            let withoutLock = try await BuiltProduct.runUnprivileged(sync)
            #expect(withoutLock.status == 2)
            Self.expectOneSentence(withoutLock, saying: ["cannot create the lock file \(h.databasePath).lock"])
            #expect(try Data(contentsOf: URL(fileURLWithPath: h.databasePath)) == bytes)
            #expect(try h.count("SELECT count(*) FROM sync_runs") == 1)
        }
    }

    // MARK: - Damaged files

    @Test("A database whose tables are gone: sync exits 2 with one sentence (not 1, which means a partial run)")
    func tablesGone() async throws {
        try await withHarness(streams: 2) { h in
            try await h.sync()
            let writer = try DatabaseQueue(path: h.databasePath)
            try writer.inDatabase { db in
                try db.execute(sql: "PRAGMA foreign_keys = OFF")
                for view in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'view'") {
                    try db.execute(sql: "DROP VIEW \(view.quotedDatabaseIdentifier)")
                }
                try db.execute(sql: "DROP TABLE sync_errors")
                try db.execute(sql: "DROP TABLE sync_runs")
            }
            try writer.close()
            let result = try await BuiltProduct.run(["sync", "--url", h.server.baseURL, "--db", h.databasePath], killAfter: .seconds(120))
            #expect(result.status == 2)
            Self.expectOneSentence(result, saying: ["cannot use the database \(h.databasePath) (SQLite: no such table: sync_runs)"])
        }
    }

    enum Damage: String, CaseIterable, CustomTestStringConvertible, Sendable {
        /// A page in the middle of the file overwritten with other bytes.
        case overwrittenPage
        /// The file cut to half its length.
        case truncated
        /// A file that never was a database.
        case notADatabase
        var testDescription: String { rawValue }
    }

    @Test(
        "A damaged database file: sync and the query commands say so in one sentence with status 2, and do not write it",
        arguments: Damage.allCases)
    func damaged(_ damage: Damage) async throws {
        try await withHarness(streams: 20) { h in
            try await h.sync()
            // The whole history in the main file, as after any finished sync.
            let writer = try DatabaseQueue(path: h.databasePath)
            try writer.inDatabase { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            try writer.close()
            let url = URL(fileURLWithPath: h.databasePath)
            var bytes = try Data(contentsOf: url)
            let page = 4096
            switch damage {
            case .overwrittenPage:
                let start = bytes.count / 2 / page * page
                bytes.replaceSubrange(start..<(start + page), with: (0..<page).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) })
            case .truncated:
                bytes = bytes.prefix(bytes.count / 2 / page * page)
            case .notADatabase:
                bytes = Data(String(repeating: "job_uid,status\n", count: 1000).utf8)
            }
            try bytes.write(to: url)
            let said =
                damage == .notADatabase
                ? ["is not a streamdb database"]
                : ["is corrupted", "is not a streamdb database"]

            let sync = try await BuiltProduct.run(["sync", "--url", h.server.baseURL, "--db", h.databasePath], killAfter: .seconds(120))
            #expect(sync.status == 2)
            Self.expectOneSentence(sync, saying: said)
            #expect(try Data(contentsOf: url) == bytes)

            let uid = h.fleet.liveStreams[0].jobUID
            let queries = [
                ["runs"], ["history", uid], ["regions"], ["streams"], ["show", uid], ["diff", uid],
                ["sql", "SELECT count(*), sum(length(json)) FROM documents"],
            ]
            var refused = 0
            for query in queries {
                let result = try await BuiltProduct.run(query + ["--db", h.databasePath], killAfter: .seconds(120))
                #expect(!result.signalled, "\(query) crashed")
                // A query that reads no damaged page may answer; any other says so in one sentence.
                #expect(result.status == 0 || result.status == 2, "\(query): status \(result.status)")
                if result.status == 0 {
                    #expect(damage != .notADatabase, "\(query) answered from a file that is not a database")
                    #expect(!result.stdout.isEmpty && result.stderr.isEmpty, "\(query): \(result.stderr)")
                } else {
                    refused += 1
                    Self.expectOneSentence(result, saying: said)
                }
                #expect(try Data(contentsOf: url) == bytes, "\(query) wrote to the damaged file")
            }
            // A truncated file or one that is not a database fails every query that reads it; a
            // single overwritten page may lie where no query reads (the sync above found it).
            if damage != .overwrittenPage { #expect(refused > 0) }
        }
    }

    @Test(
        "The whole-file check runs when something other than a clean sync changed the file, or a day has passed; a clean resync skips it, and a page damaged since is still refused"
    )
    func integrityCheckWhenDue() async throws {
        try await withHarness(streams: 20) { h in
            let sync = ["sync", "--url", h.server.baseURL, "--db", h.databasePath, "--verbose"]
            let checked = "checked the whole database file for damage"
            let notDue = "integrity check not due"
            func run(_ extra: [String] = []) async throws -> BuiltProduct.Result {
                try await BuiltProduct.run(sync + extra, killAfter: .seconds(120))
            }

            let first = try await run()
            #expect(first.status == 0 && first.stderr.contains(checked), "\(first.stderr)")
            let marker = IntegrityMarkerFile(databasePath: h.databasePath)
            #expect(try marker.read() != nil)
            let second = try await run()
            #expect(second.status == 0 && second.stderr.contains(notDue), "\(second.stderr)")
            let forced = try await run(["--check-integrity"])
            #expect(forced.status == 0 && forced.stderr.contains(checked), "\(forced.stderr)")

            // Another writer (an analyst's sqlite3 shell): checked again.
            let other = try DatabaseQueue(path: h.databasePath)
            try await other.write { db in try db.execute(sql: "UPDATE sync_runs SET message = 'touched' WHERE id = 1") }
            try other.close()
            let afterOther = try await run()
            #expect(afterOther.status == 0 && afterOther.stderr.contains(checked), "\(afterOther.stderr)")

            let settled = try await run()
            #expect(settled.status == 0 && settled.stderr.contains(notDue), "\(settled.stderr)")
            // The same marker with its check more than a day old: checked.
            let current = try #require(try marker.read()?["checkedAt"] as? String)
            let text = try String(contentsOfFile: marker.path, encoding: .utf8)
            try text.replacingOccurrences(of: current, with: "2020-01-01T00:00:00.000000Z")
                .write(toFile: marker.path, atomically: true, encoding: .utf8)
            #expect(try marker.read()?["checkedAt"] as? String == "2020-01-01T00:00:00.000000Z")
            let stale = try await run()
            #expect(stale.status == 0 && stale.stderr.contains(checked), "\(stale.stderr)")

            // A page overwritten in place, same size: the modification time gives it away.
            let url = URL(fileURLWithPath: h.databasePath)
            var bytes = try Data(contentsOf: url)
            let page = 4096
            let start = bytes.count / 2 / page * page
            bytes.replaceSubrange(start..<(start + page), with: (0..<page).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) })
            try bytes.write(to: url)
            let damaged = try await BuiltProduct.run(Array(sync.dropLast()), killAfter: .seconds(120))
            #expect(damaged.status == 2)
            Self.expectOneSentence(damaged, saying: ["is corrupted", "is not a streamdb database"])
            #expect(try Data(contentsOf: url) == bytes)
        }
    }

    /// `<db>.checked` as JSON, for tests that age or inspect it.
    struct IntegrityMarkerFile {
        let path: String
        init(databasePath: String) { path = databasePath + ".checked" }
        func read() throws -> [String: Any]? {
            guard let data = FileManager.default.contents(atPath: path) else { return nil }
            return try JSONSerialization.jsonObject(with: data) as? [String: Any]
        }
    }
}

/// A small tmpfs, for a disk that fills up. Mounting needs root and the permission to mount.
enum Tmpfs {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private static func run(_ tool: String, _ arguments: [String]) -> Bool {
        guard let path = ["/usr/bin/\(tool)", "/bin/\(tool)"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }),
            let process = try? Process.run(URL(fileURLWithPath: path), arguments: arguments)
        else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    static func mount(at folder: URL, size: String) throws {
        guard run("mount", ["-t", "tmpfs", "-o", "size=\(size),mode=0755", "tmpfs", folder.path()]) else {
            throw Failure(description: "cannot mount a tmpfs at \(folder.path())")
        }
    }

    static func unmount(_ folder: URL) {
        _ = run("umount", [folder.path()])
    }

    /// Whether a tmpfs can be mounted here (tried once, on a folder of its own).
    static let available: Bool = {
        let folder = FileManager.default.temporaryDirectory.appending(path: "streamdb-tmpfs-\(UUID().uuidString)")
        guard (try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)) != nil else { return false }
        defer { try? FileManager.default.removeItem(at: folder) }
        guard (try? mount(at: folder, size: "64k")) != nil else { return false }
        unmount(folder)
        return true
    }()

    /// Writes `file` until the file system has only `leaving` bytes free.
    static func fill(_ folder: URL, file: URL, leaving: Int) throws {
        var stats = statvfs()
        guard statvfs(folder.path(), &stats) == 0 else { throw Failure(description: "statvfs failed") }
        let free = Int(stats.f_bavail) * Int(stats.f_frsize)
        guard free > leaving else { return }
        try Data(count: free - leaving).write(to: file)
    }
}
