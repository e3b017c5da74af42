import Foundation
import GRDB
import StreamDBModel
import StreamDBOutput
import StreamSim
import Testing

/// What a new user meets at the command line: times as the tables print them, typed JSON for
/// scripts, and one clear sentence for each mistake.
@Suite("Command line input and typed output")
struct CommandLineInputTests {
    @Test("Times: what the tables print, with or without seconds, T or space, a date, relative; no offset means --tz")
    func timeInput() throws {
        let utc = try #require(Timestamp.parse("2026-12-01T21:09:29Z"))
        #expect(TimeInput.parse("2026-12-01 21:09:29") == utc)
        #expect(TimeInput.parse("2026-12-01T21:09:29") == utc)
        #expect(TimeInput.parse("2026-12-01T21:09:29Z") == utc)
        #expect(TimeInput.parse("2026-12-01 21:09") == utc.addingTimeInterval(-29))
        #expect(TimeInput.parse("2026-12-01T21:09") == utc.addingTimeInterval(-29))
        #expect(TimeInput.parse("2026-12-01") == Timestamp.parse("2026-12-01T00:00:00Z"))
        #expect(TimeInput.parse("2026-12-01 21:09:29.5") == utc.addingTimeInterval(0.5))
        // As a table prints it with --tz, and pasted back with the same --tz.
        let minsk = TimeZone(identifier: "Europe/Minsk")!
        #expect(TimeInput.parse("2026-12-02 00:09:29 +0300") == utc)
        #expect(TimeInput.parse("2026-12-02 00:09:29+03:00") == utc)
        #expect(TimeInput.parse("2026-12-02 00:09:29", zone: minsk) == utc)
        #expect(TimeInput.parse("2026-12-02", zone: minsk) == Timestamp.parse("2026-12-01T21:00:00Z"))
        #expect(TimeInput.parse("2026-12-01T21:09:29Z", zone: minsk) == utc)
        let now = Date()
        #expect(TimeInput.parse("30m", now: now) == now.addingTimeInterval(-1800))
        #expect(TimeInput.parse("6h", now: now) == now.addingTimeInterval(-6 * 3600))
        #expect(TimeInput.parse("2d", now: now) == now.addingTimeInterval(-2 * 86_400))
        #expect(TimeInput.parse("1w", now: now) == now.addingTimeInterval(-7 * 86_400))
        #expect(TimeInput.parse("now", now: now) == now)
        for bad in ["", "yesterday", "2026-13-01", "2026-02-30", "2026-12-01 25:00", "12/01/2026", "5y", "-3h", "2026-12-01T21:09:29Zjunk"]
        {
            #expect(TimeInput.parse(bad) == nil, "'\(bad)'")
        }
    }

    @Test("Through the binary: a time pasted from a table is accepted, in --tz; --since after --until is one sentence, status 2")
    func timesThroughTheBinary() async throws {
        try await withHarness(streams: 4) { h in
            try await h.sync()
            let uid = h.fleet.liveStreams[0].jobUID
            let table = try await BuiltProduct.run(["history", uid, "--db", h.databasePath, "--tz", "Europe/Minsk"])
            #expect(table.status == 0, "\(table.stderr)")
            // The first row's `from`, exactly as printed ("2026-12-01 23:59:00 +0300"), fed back.
            let row = try #require(table.stdout.split(separator: "\n").dropFirst(3).first)
            let printed = String(row.prefix(25))
            let pasted = try await BuiltProduct.run(["history", uid, "--db", h.databasePath, "--since", printed])
            #expect(pasted.status == 0, "\(pasted.stderr)")
            let withoutOffset = String(printed.prefix(16))  // "2026-12-01 23:59", read in --tz
            let minute = try await BuiltProduct.run([
                "history", uid, "--db", h.databasePath, "--tz", "Europe/Minsk", "--since", withoutOffset, "--format", "json",
            ])
            #expect(minute.status == 0, "\(minute.stderr)")
            #expect(try JSONValue.parse(Data(minute.stdout.utf8)).arrayValue?.isEmpty == false)
            let relative = try await BuiltProduct.run(["streams", "--db", h.databasePath, "--as-of", "1w"])
            #expect(relative.status == 0 && relative.stdout.contains("(no rows)"), "\(relative.stdout)")

            let backwards = try await BuiltProduct.run(["history", uid, "--db", h.databasePath, "--since", "2d", "--until", "3d"])
            #expect(backwards.status == 2)
            #expect(backwards.stderr.contains("--since (2d) is later than --until (3d)"))
            #expect(backwards.stderr.contains("Usage: streamdb history"))
        }
    }

    @Test("JSON and NDJSON are typed: the raw status and its label, arrays, ISO 8601 UTC times, null for open ends")
    func typedJSON() async throws {
        try await withHarness(streams: 6) { h in
            try await h.sync()
            let uid = h.fleet.liveStreams[0].jobUID
            let status = h.fleet.liveStreams[0].status
            let labels = h.directory.appending(path: "labels.txt")
            try "\(status)=NAMED\n".write(to: labels, atomically: true, encoding: .utf8)
            let history = try await BuiltProduct.run([
                "history", uid, "--db", h.databasePath, "--format", "json", "--status-labels", labels.path(),
            ])
            let rows = try #require(try JSONValue.parse(Data(history.stdout.utf8)).arrayValue)
            let first = try #require(rows.first)
            #expect(first["status"] == .int(Int64(status)))
            #expect(first["status_label"] == .string("NAMED"))
            #expect(first["to"] == .null)
            #expect(first["from"]?.stringValue.flatMap(Timestamp.parse) != nil)
            #expect(first["from"]?.stringValue?.hasSuffix("Z") == true)
            #expect(first["duration"].map { if case .double = $0 { return true } else { return false } } == true)

            let streams = try await BuiltProduct.run(["streams", "--db", h.databasePath, "--format", "ndjson"])
            let line = try JSONValue.parse(Data(try #require(streams.stdout.split(separator: "\n").first).utf8))
            #expect(line["regions"]?.arrayValue != nil)
            #expect(line["gone_at"] == .null)
            #expect(line["status_label"] == .null)  // no labels given: null, the raw value stays in status
            if case .int? = line["status"] {
            } else {
                Issue.record("status is \(String(describing: line["status"])), not the integer served")
            }

            let regions = try await BuiltProduct.run(["regions", "--db", h.databasePath, "--format", "json"])
            let region = try #require(try JSONValue.parse(Data(regions.stdout.utf8)).arrayValue?.first)
            let byStatus = try #require(region["by_status"]?.objectValue)
            #expect(byStatus.values.compactMap(\.intValue).reduce(0, +) == region["streams"]?.intValue)

            // CSV stays flat: the same columns, arrays joined.
            let csv = try await BuiltProduct.run(["streams", "--db", h.databasePath, "--format", "csv"])
            #expect(csv.stdout.hasPrefix("job_uid,status,status_label,case_type,regions,version,first_seen_at,last_seen_at,gone_at\r\n"))
        }
    }

    @Test("A mistyped subcommand gets the nearest one; a bad value gets its subcommand's usage; both exit 2")
    func mistakes() async throws {
        let typo = try await BuiltProduct.run(["histroy", "65356c3c"])
        #expect(typo.status == 2)
        #expect(typo.stderr.contains("did you mean 'history'?"))
        let unknown = try await BuiltProduct.run(["frobnicate"])
        #expect(unknown.status == 2 && unknown.stderr.contains("'frobnicate' is not a streamdb command"))
        let negative = try await BuiltProduct.run(["runs", "--last", "-1", "--db", "/nonexistent.sqlite"])
        #expect(negative.status == 2)
        #expect(negative.stderr.contains("--last must be at least 1"), "\(negative.stderr)")
        let zone = try await BuiltProduct.run(["regions", "--tz", "Mars/Olympus", "--db", "/nonexistent.sqlite"])
        #expect(zone.status == 2)
        #expect(zone.stderr.contains("Usage: streamdb regions"), "\(zone.stderr)")
    }

    @Test("Every subcommand's help prints, with no clash between its options")
    func everyHelp() async throws {
        for command in [
            "sync", "demo", "history", "regions", "streams", "show", "diff", "sql", "runs", "scrub-secrets", "config", "events", "uptime",
        ] {
            let help = try await BuiltProduct.run([command, "--help"])
            #expect(help.status == 0, "\(command): \(help.stderr)")
            #expect(help.stdout.contains("USAGE: streamdb \(command)"), "\(command)")
        }
    }

    @Test("Nothing listening, a name that does not resolve: one correct sentence, printed once, status 2, no retries spent")
    func failFast() async throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "streamdb-fast-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let db = directory.appending(path: "h.sqlite").path()
        let refused = try await BuiltProduct.run(["sync", "--url", "http://127.0.0.1:9", "--db", db])
        #expect(refused.status == 2)
        #expect(
            refused.stderr
                == "streamdb: cannot reach http://127.0.0.1:9: the connection to 127.0.0.1:9 was refused (nothing is listening there).\n")
        let other = directory.appending(path: "other.sqlite").path()
        let unresolved = try await BuiltProduct.run(["sync", "--url", "http://streamdb-test.invalid", "--db", other])
        #expect(unresolved.status == 2)
        #expect(
            unresolved.stderr.contains("does not resolve") && unresolved.stderr.split(separator: "\n").count == 1, "\(unresolved.stderr)")
        // Each run made one request, recorded once: nothing was retried.
        for path in [db, other] {
            let errors = try await BuiltProduct.run([
                "sql", "SELECT count(*) AS n, sum(attempts) AS attempts FROM sync_errors", "--db", path, "--format", "csv",
            ])
            #expect(errors.stdout == "n,attempts\r\n1,1\r\n", "\(errors.stdout)")
        }
    }

    @Test("sql says in its own words that it runs one statement and cannot attach another file")
    func sqlMessages() async throws {
        try await withHarness(streams: 2) { h in
            try await h.sync()
            let several = try await BuiltProduct.run(["sql", "SELECT 1; SELECT 2", "--db", h.databasePath])
            #expect(several.status == 2 && several.stderr.contains("runs one statement at a time"), "\(several.stderr)")
            let attach = try await BuiltProduct.run(["sql", "ATTACH 'other.db' AS other", "--db", h.databasePath])
            #expect(attach.status == 2 && attach.stderr.contains("ATTACH of another database is not allowed"), "\(attach.stderr)")
            #expect(!several.stderr.contains("Database.execute") && !attach.stderr.contains("max 0"))
        }
    }
}
