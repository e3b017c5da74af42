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

/// The built `streamdb` binary, run as a user runs it: exit statuses, messages, crashes, overlap.
@Suite("Command line")
struct CommandLineTests {
    @Test("sync exits 0 and prints a summary; history, regions, runs and sql read the result")
    func syncThenQuery() async throws {
        try await withHarness(streams: 12) { h in
            let sync = try await BuiltProduct.run([
                "sync", "--url", h.server.baseURL, "--db", h.databasePath,
            ])
            #expect(sync.status == 0, "\(sync.stderr)")
            #expect(sync.stdout.contains("sync ok: 12 seen, 12 new"))

            let uid = h.fleet.liveStreams[0].jobUID
            let history = try await BuiltProduct.run(["history", String(uid.prefix(8)), "--db", h.databasePath])
            #expect(history.status == 0, "\(history.stderr)")
            #expect(history.stdout.contains("first_seen"))
            #expect(history.stdout.contains(uid))

            let csv = try await BuiltProduct.run(["history", uid, "--db", h.databasePath, "--format", "csv"])
            #expect(csv.stdout.hasPrefix("from,to,duration,event,status,status_label,time_source,note\r\n"))

            // Status labels from --status-labels or $STREAMDB_STATUS_LABELS; unmapped codes stay raw.
            let status = try #require(
                try h.read { db in
                    try Int.fetchOne(db, sql: "SELECT status FROM streams WHERE job_uid = ?", arguments: [uid])
                })
            let labels = h.directory.appending(path: "labels.txt")
            try "# test labels\n\(status)=LABELLED_\(status)\n".write(to: labels, atomically: true, encoding: .utf8)
            let named = try await BuiltProduct.run(["history", uid, "--db", h.databasePath, "--status-labels", labels.path()])
            #expect(named.stdout.contains("LABELLED_\(status) (\(status))"), "\(named.stdout)")
            let fromEnvironment = try await BuiltProduct.run(
                ["history", uid, "--db", h.databasePath],
                environment: ["STREAMDB_STATUS_LABELS": labels.path()])
            #expect(fromEnvironment.stdout.contains("LABELLED_\(status) (\(status))"), "\(fromEnvironment.stdout)")
            try "\(status + 1000)=OTHER\n".write(to: labels, atomically: true, encoding: .utf8)
            let unmapped = try await BuiltProduct.run(["history", uid, "--db", h.databasePath, "--status-labels", labels.path()])
            #expect(!unmapped.stdout.contains("OTHER") && !unmapped.stdout.contains("LABELLED"))

            let regions = try await BuiltProduct.run(["regions", "--db", h.databasePath, "--format", "json"])
            let parsed = try JSONValue.parse(Data(regions.stdout.utf8))
            let total = parsed.arrayValue?.compactMap { $0["streams"]?.intValue }.reduce(0, +) ?? 0
            #expect(total >= 12)

            let runs = try await BuiltProduct.run(["runs", "--db", h.databasePath])
            #expect(runs.stdout.contains("ok"))

            let sql = try await BuiltProduct.run([
                "sql", "SELECT count(*) AS n FROM current_streams", "--db", h.databasePath, "--format", "csv",
            ])
            #expect(sql.stdout == "n\r\n12\r\n")
        }
    }

    @Test("diff exits 0 when equal and 1 when different; show prints a stored version; streams filters")
    func diffShowStreams() async throws {
        try await withHarness(streams: 6) { h in
            try await h.sync()
            let uid = h.fleet.liveStreams[0].jobUID
            let db = ["--db", h.databasePath]
            // One stored config: nothing to compare, said in a line, status 0.
            let equal = try await BuiltProduct.run(["diff", uid] + db)
            #expect(equal.status == 0, "\(equal.stderr)")
            #expect(equal.stdout.contains("one pipeline config in all 1 stored versions"))
            // A status change alone is a version but no config change: diff still shows none...
            h.fleet.setStatus(uid, h.fleet.liveStreams[0].status == 6 ? 11 : 6)
            try await h.sync()
            #expect(try await BuiltProduct.run(["diff", uid] + db).stdout.contains("in all 2 stored versions"))
            // ... and --payload compares the last two versions whole: the status.
            let payloadDiff = try await BuiltProduct.run(["diff", uid, "--payload"] + db)
            #expect(payloadDiff.status == 1 && payloadDiff.stdout.contains("~ status: "), "\(payloadDiff.stdout)")
            h.fleet.setThreshold(uid, 777)
            try await h.sync()
            // Then a status change after the config change: diff UID still shows the config change.
            h.fleet.setStatus(uid, h.fleet.stream(uid)!.status == 6 ? 11 : 6)
            try await h.sync()
            let different = try await BuiltProduct.run(["diff", String(uid.prefix(8))] + db)
            #expect(different.status == 1)
            #expect(different.stdout.contains("version 2 (") && different.stdout.contains("version 3 ("), "\(different.stdout)")
            #expect(different.stdout.contains("~ Pipeline.Detector.Threshold: "))
            #expect(different.stdout.contains("-> 777"))
            let patch = try await BuiltProduct.run(["diff", uid, "--format", "json"] + db)
            #expect(try JSONValue.parse(Data(patch.stdout.utf8)).arrayValue?.first?["path"] == .string("/Pipeline/Detector/Threshold"))
            let missing = try await BuiltProduct.run(["diff", uid, "--from", "9"] + db)
            #expect(missing.status == 2)
            #expect(missing.stderr.contains("has no version 9"))

            let show = try await BuiltProduct.run(["show", uid, "--version", "1", "--config"] + db)
            #expect(show.status == 0)
            #expect(try JSONValue.parse(Data(show.stdout.utf8))["Pipeline"]?["Detector"]?["Threshold"] != .int(777))
            let payload = try await BuiltProduct.run(["show", uid] + db)
            #expect(try JSONValue.parse(Data(payload.stdout.utf8))["job_uid"] == .string(uid))

            let caseType = h.fleet.liveStreams[0].caseType.rawValue
            let streams = try await BuiltProduct.run(["streams", "--case-type", caseType, "--format", "ndjson"] + db)
            let lines = streams.stdout.split(separator: "\n")
            #expect(lines.count == h.fleet.liveStreams.filter { $0.caseType.rawValue == caseType }.count)
        }
    }

    @Test(
        "Every query command answers in every format: json parses, ndjson is one object a line, csv is RFC 4180 with a header; all three carry the same rows"
    )
    func everyFormat() async throws {
        try await withHarness(streams: 20, seed: 31) { h in
            try await h.sync()
            let live = h.fleet.liveStreams
            for stream in live.prefix(6) { h.fleet.setStatus(stream.jobUID, stream.status == 6 ? 11 : 6) }
            h.fleet.setThreshold(live[0].jobUID, 777)
            h.fleet.delete(live[1].jobUID)
            try await h.sync()
            let uid = live[0].jobUID
            let now = Timestamp.now()
            let commands: [[String]] = [
                ["history", uid], ["history", String(uid.prefix(10)), "--since", "2000-01-01T00:00:00Z"],
                ["regions"], ["regions", "--as-of", now], ["streams"], ["streams", "--gone"],
                ["streams", "--as-of", now], ["runs"], ["sql", "SELECT job_uid, status FROM current_streams ORDER BY job_uid"],
            ]
            for command in commands {
                var results: [String: BuiltProduct.Result] = [:]
                for format in ["table", "json", "ndjson", "csv"] {
                    let result = try await BuiltProduct.run(command + ["--db", h.databasePath, "--format", format])
                    #expect(result.status == 0, "\(command) --format \(format): \(result.stderr)")
                    #expect(!result.stdout.isEmpty, "\(command) --format \(format) printed nothing")
                    results[format] = result
                }
                let outputs = results.mapValues(\.stdout)
                let json = try JSONValue.parse(Data((outputs["json"] ?? "").utf8))
                let rows = try #require(json.arrayValue, "\(command): json is not an array of rows")
                let lines = (outputs["ndjson"] ?? "").split(separator: "\n")
                #expect(lines.count == rows.count, "\(command): ndjson lines")
                // The open interval of a timeline lasts until now (`to` is null): its duration grows
                // between runs.
                func stable(_ row: JSONValue) -> JSONValue {
                    guard case .object(var members) = row, members["to"] == .null else { return row }
                    members["duration"] = nil
                    return .object(members)
                }
                for (line, row) in zip(lines, rows) {
                    #expect(stable(try JSONValue.parse(Data(line.utf8))) == stable(row), "\(command): an ndjson line is not the json row")
                }
                let csv = try #require(Self.parseCSV(outputs["csv"] ?? ""), "\(command): csv does not parse")
                #expect(csv.count == rows.count + 1, "\(command): csv rows")
                #expect(csv.allSatisfy { $0.count == csv[0].count }, "\(command): ragged csv")
                if let first = rows.first?.objectValue {
                    #expect(Set(csv[0]) == Set(first.keys), "\(command): csv header \(csv[0]) is not the json keys")
                }
            }
            // show prints JSON; diff --format json prints a JSON Patch.
            let show = try await BuiltProduct.run(["show", uid, "--db", h.databasePath])
            #expect(try JSONValue.parse(Data(show.stdout.utf8))["job_uid"]?.stringValue == uid)
            let config = try await BuiltProduct.run(["show", uid, "--config", "--version", "1", "--db", h.databasePath])
            #expect(try JSONValue.parse(Data(config.stdout.utf8))["Pipeline"] != nil)
            let patch = try await BuiltProduct.run(["diff", uid, "--format", "json", "--db", h.databasePath])
            #expect(patch.status == 1)
            let operations = try JSONValue.parse(Data(patch.stdout.utf8)).arrayValue ?? []
            #expect(operations.contains { $0["op"]?.stringValue == "replace" && $0["value"]?.intValue == 777 }, "\(patch.stdout)")
        }
    }

    /// RFC 4180: CRLF line ends, fields quoted when they hold a comma, quote or line break, quotes
    /// doubled. Nil when the text breaks those rules.
    static func parseCSV(_ text: String) -> [[String]]? {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var chars = Array(text)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" {
                        field.append("\"")
                        chars.removeFirst()
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(c)
                }
            } else if c == "\"" && field.isEmpty {
                quoted = true
            } else if c == "," {
                row.append(field)
                field = ""
            } else if c == "\r\n" {
                row.append(field)
                field = ""
                rows.append(row)
                row = []
            } else if c == "\n" || c == "\r" || c == "\"" {
                return nil
            } else {
                field.append(c)
            }
        }
        return quoted || !field.isEmpty || !row.isEmpty ? nil : rows
    }

    @Test("sql refuses a statement that writes and leaves the database unchanged")
    func sqlIsReadOnly() async throws {
        try await withHarness(streams: 3) { h in
            try await h.sync()
            for statement in ["DELETE FROM streams", "DROP TABLE versions", "UPDATE streams SET status = 0"] {
                let result = try await BuiltProduct.run(["sql", statement, "--db", h.databasePath])
                #expect(result.status == 2)
                #expect(result.stderr.contains("read"))
            }
            #expect(try h.count("SELECT count(*) FROM streams") == 3)
            let attach = try await BuiltProduct.run(["sql", "ATTACH DATABASE '\(h.databasePath)' AS other", "--db", h.databasePath])
            #expect(attach.status == 2)
            let extensionLoad = try await BuiltProduct.run(["sql", "SELECT load_extension('/tmp/none.so')", "--db", h.databasePath])
            #expect(extensionLoad.status == 2)
            #expect(extensionLoad.stderr.contains("not authorized"))
        }
    }

    @Test("Exit statuses: 2 for a refused token and for bad arguments, 1 for a partial run")
    func exitStatuses() async throws {
        var options = SimulatorOptions()
        options.token = "right"
        try await withHarness(streams: 3, options: options) { h in
            let refused = try await BuiltProduct.run(
                ["sync", "--url", h.server.baseURL, "--db", h.databasePath],
                environment: ["STREAMDB_TOKEN": "wrong"])
            #expect(refused.status == 2)
            #expect(refused.stderr.contains("token was refused"))
            // A run refused on its first page did not complete its listing.
            #expect(
                try h.read { db in try String.fetchOne(db, sql: "SELECT listing FROM sync_runs ORDER BY id DESC LIMIT 1") } == "incomplete")

            let bad = try await BuiltProduct.run(["sync", "--url", h.server.baseURL, "--db", h.databasePath, "--concurrency", "0"])
            #expect(bad.status == 2)

            // A uid that is not one is a bad argument: refused before any request, nothing recorded.
            let badUID = try await BuiltProduct.run(
                [
                    "sync", "--url", h.server.baseURL, "--db", h.databasePath, "--job-uid", "nonsense",
                ], environment: ["STREAMDB_TOKEN": "right"])
            #expect(badUID.status == 2)
            #expect(badUID.stderr.contains("'nonsense' is not a job_uid"))
            let runsBefore = try h.count("SELECT count(*) FROM sync_runs")

            // A bad line in a jobs file is recorded and skipped; the rest is synced: partial.
            let jobsFile = h.directory.appending(path: "jobs.txt").path()
            try "nonsense\n".write(toFile: jobsFile, atomically: true, encoding: .utf8)
            let partial = try await BuiltProduct.run(
                [
                    "sync", "--url", h.server.baseURL, "--db", h.databasePath, "--jobs-file", jobsFile,
                ], environment: ["STREAMDB_TOKEN": "right"])
            #expect(partial.status == 1)
            #expect(partial.stdout.contains("3 new"))
            #expect(try h.count("SELECT count(*) FROM sync_runs") == runsBefore + 1)
        }
    }

    @Test("A second sync on the same database stops at once with status 3; with --wait it queues")
    func overlappingSyncs() async throws {
        var options = SimulatorOptions()
        options.slimList = true
        options.faults.slowRate = 1
        // Every answer 1 s late: the first sync runs for about 9 s, so that under CI's load (the
        // PostgreSQL suites run beside this one) it is still running when the second starts.
        options.faults.slowDelay = 1
        try await withHarness(streams: 8, options: options) { h in
            let arguments = ["sync", "--url", h.server.baseURL, "--db", h.databasePath, "--concurrency", "1"]
            let (first, _, _) = try BuiltProduct.launch(arguments)
            // Wait until the first one holds the lock (its database exists and it has started a run),
            // and no longer: the first must still be running when the second starts. (The loop went
            // on polling after the run had started, an open of the database each time, and under
            // CI's load the first sync finished before the second began.)
            for _ in 0..<400 {
                if (try? h.count("SELECT count(*) FROM sync_runs")) ?? 0 > 0 { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            let second = try await BuiltProduct.run(arguments)
            #expect(second.status == 3)
            #expect(second.stderr.contains("another streamdb sync is running"))
            let waited = try await BuiltProduct.run(arguments + ["--wait"])
            #expect(waited.status == 0, "\(waited.stderr)")
            first.waitUntilExit()
            #expect(first.terminationStatus == 0)
            let outcomes = try h.read { db in try String.fetchAll(db, sql: "SELECT outcome FROM sync_runs ORDER BY id") }
            #expect(outcomes == ["ok", "ok"])
        }
    }

    /// Six kills in the normal suite; `STREAMDB_TORTURE=1 swift test` runs a hundred.
    static let killIterations = ProcessInfo.processInfo.environment["STREAMDB_TORTURE"] == "1" ? 100 : 6

    @Test("A sync killed at any moment leaves a consistent database that the next sync completes", arguments: 0..<killIterations)
    func killedMidway(iteration: Int) async throws {
        var options = SimulatorOptions()
        options.slimList = true
        options.pageSize = 25
        try await withHarness(streams: 150, seed: UInt64(100 + iteration), options: options) { h in
            if iteration % 2 == 1 {
                try await h.sync()  // a history to damage, with changes to record
                for stream in h.fleet.liveStreams.prefix(40) { h.fleet.setStatus(stream.jobUID, stream.status == 6 ? 11 : 6) }
            }
            // Small batches, so that kills land between commits as well as inside one.
            let (process, _, _) = try BuiltProduct.launch([
                "sync", "--url", h.server.baseURL, "--db", h.databasePath, "--quiet",
                "--batch-size", String([7, 25, 1000][iteration % 3]),
            ])
            try await Task.sleep(for: .milliseconds(Int.random(in: 30...600)))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()

            let (integrity, foreignKeys, missingCurrent, brokenPayloads) = try h.read { db in
                (
                    try String.fetchOne(db, sql: "PRAGMA integrity_check"),
                    try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").count,
                    // Every current version exists, and every version's documents do.
                    try Int.fetchOne(db, sql: TestHarness.missingCurrentVersionsSQL),
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM stream_versions WHERE payload IS NULL")
                )
            }
            #expect(integrity == "ok")
            #expect(foreignKeys == 0)
            #expect(missingCurrent == 0)
            #expect(brokenPayloads == 0)
            let report = try await h.sync()
            #expect(report.outcome == .ok)
            #expect(try h.mirrorsFleet())
            let outcomes = try h.read { db in try String.fetchAll(db, sql: "SELECT outcome FROM sync_runs ORDER BY id") }
            #expect(outcomes.allSatisfy { ["ok", "interrupted"].contains($0) })
        }
    }

    @Test("The binary carries its migrations: a copy alone in another folder creates and migrates a database")
    func copiedBinary() async throws {
        try await withHarness(streams: 2) { h in
            let folder = h.directory.appending(path: "bin")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let copy = folder.appending(path: "streamdb")
            // Copied by `cp`, not in this process: a file open for writing here is inherited by
            // the children other tests start meanwhile, and exec of it then fails with "Text file
            // busy" (ETXTBSY; seen once in CI).
            let copied = try await BuiltProduct.run(
                [BuiltProduct.streamdb.path(), copy.path()], executable: URL(fileURLWithPath: "/bin/cp"))
            #expect(copied.status == 0, "\(copied.stderr)")
            let result = try await BuiltProduct.run(["sync", "--url", h.server.baseURL, "--db", h.databasePath], executable: copy)
            #expect(result.status == 0, "\(result.stderr)")
            let applied = try h.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") }
            // Every migrations/*.sql, in name order, and nothing else.
            let shipped = try BuiltProduct.shippedMigrations()
            #expect(shipped.count >= 2)
            #expect(applied == shipped)
            let mode = try FileManager.default.attributesOfItem(atPath: h.databasePath)[.posixPermissions] as? Int
            #expect(mode == 0o600)
        }
    }

    @Test("A database migrated by a newer streamdb is refused and left untouched")
    func newerSchema() async throws {
        try await withHarness(streams: 2) { h in
            try await h.sync()
            try addFutureMigration(h.databasePath)
            let before = try Data(contentsOf: URL(fileURLWithPath: h.databasePath))
            let result = try await BuiltProduct.run(["sync", "--url", h.server.baseURL, "--db", h.databasePath])
            #expect(result.status == 2)
            #expect(result.stderr.contains("newer streamdb"))
            #expect(try Data(contentsOf: URL(fileURLWithPath: h.databasePath)) == before)
        }
    }

    private func addFutureMigration(_ path: String) throws {
        let writer = try DatabaseQueue(path: path)
        try writer.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('9999_future')") }
        try writer.close()
    }

    @Test("A file that is not a database gets one clear sentence and is not changed")
    func notADatabase() async throws {
        try await withHarness(streams: 1) { h in
            let garbage = Data(repeating: 0x41, count: 8192)
            try garbage.write(to: URL(fileURLWithPath: h.databasePath))
            let result = try await BuiltProduct.run(["sync", "--url", h.server.baseURL, "--db", h.databasePath])
            #expect(result.status == 2)
            #expect(result.stderr.contains("is not a streamdb database"))
            #expect(try Data(contentsOf: URL(fileURLWithPath: h.databasePath)) == garbage)
            let query = try await BuiltProduct.run(["history", "abc", "--db", h.directory.appending(path: "missing.sqlite").path()])
            #expect(query.status == 2)
            #expect(query.stderr.contains("no database at"))
        }
    }
}
