import Foundation
import GRDB
import StreamDBConfig
import StreamDBModel
import StreamSim
import Testing

/// streamdb.toml: sources for cron, every mistake in one sentence with file, line and key.
@Suite("Config file")
struct ConfigTests {
    /// Writes `text` as a config file beside the harness database (mode 0600 unless told).
    static func write(_ text: String, in h: TestHarness, name: String = "streamdb.toml", mode: Int = 0o600) throws -> String {
        let path = h.directory.appending(path: name).path()
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    @Test(
        "One config file drives two servers (one with a token) for rounds of deletions, creations and returns; each source's gone streams are its own; a port change in the file keeps the history"
    )
    func twoSourcesFromTheFile() async throws {
        try await withHarness(streams: 15, seed: 31) { h in
            var guarded = SimulatorOptions()
            guarded.token = "s3cret-token"
            var second = try await SimulatorServer.start(fleet: Fleet(size: 10, seed: 32), options: guarded)
            let tokenFile = h.directory.appending(path: "minsk.token").path()
            try "s3cret-token\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
            func config(secondURL: String) throws -> String {
                try Self.write(
                    """
                    db = "\(h.databasePath)"

                    [output]
                    format = "json"

                    [[source]]
                    name = "gomel"
                    url = "\(h.server.baseURL)"

                    [[source]]
                    name = "minsk"
                    url = "\(secondURL)"
                    token_file = "\(tokenFile)"
                    """, in: h)
            }
            var path = try config(secondURL: second.baseURL)
            var deletedOn: [String: Set<String>] = ["gomel": [], "minsk": []]
            for round in 1...20 {
                if round > 1 {
                    for (name, fleet) in [("gomel", h.fleet), ("minsk", second.fleet)] {
                        let before = Set(fleet.liveStreams.map(\.jobUID))
                        fleet.tick()
                        let after = Set(fleet.liveStreams.map(\.jobUID))
                        deletedOn[name]!.formUnion(before.subtracting(after))
                        deletedOn[name]!.subtract(after)  // a deleted stream that came back
                    }
                }
                if round == 10 {
                    // The second server moves to another port; the file is edited.
                    let fleet = second.fleet
                    await second.stop()
                    second = try await SimulatorServer.start(fleet: fleet, options: guarded)
                    path = try config(secondURL: second.baseURL)
                }
                let sync = try await BuiltProduct.run(["sync", "--config", path, "--quiet"])
                #expect(sync.status == 0, "round \(round): \(sync.stderr)")
            }
            // Each source's gone streams are exactly its deletions, and nothing changed source.
            for name in ["gomel", "minsk"] {
                let gone = Set(
                    try h.read { db in
                        try String.fetchAll(
                            db,
                            sql:
                                "SELECT st.job_uid FROM streams st JOIN sources s ON s.id = st.source_id WHERE s.name = ? AND st.gone_at IS NOT NULL",
                            arguments: [name])
                    })
                #expect(gone == deletedOn[name]!, "\(name)")
            }
            let live = Set(h.fleet.liveStreams.map(\.jobUID))
            let otherLive = Set(second.fleet.liveStreams.map(\.jobUID))
            let bySource = try h.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT st.job_uid, s.name FROM streams st JOIN sources s ON s.id = st.source_id WHERE st.gone_at IS NULL")
            }
            #expect(bySource.allSatisfy { ($0["name"] as String == "gomel") == live.contains($0["job_uid"] as String) })
            #expect(bySource.count == live.count + otherLive.count)
            #expect(try h.count("SELECT count(*) FROM sources") == 2)
            #expect(
                try h.read { db in try String.fetchOne(db, sql: "SELECT base_url FROM sources WHERE name = 'minsk'") } == second.baseURL)
            // The file's output format applies to the query commands.
            let streams = try await BuiltProduct.run(["streams", "--config", path, "--source", "minsk"])
            #expect(try JSONValue.parse(Data(streams.stdout.utf8)).arrayValue?.count == otherLive.count)

            // A plain --url sync of a third server adds a source and leaves the others alone.
            let third = try await SimulatorServer.start(fleet: Fleet(size: 4, seed: 33), options: SimulatorOptions())
            let added = try await BuiltProduct.run(["sync", "--url", third.baseURL, "--db", h.databasePath])
            #expect(added.status == 0 && added.stderr.contains("a new source"), "\(added.stderr)")
            #expect(try h.count("SELECT count(*) FROM streams WHERE gone_at IS NOT NULL") == deletedOn.values.map(\.count).reduce(0, +))

            // streamdb config shows both sources, the token hidden.
            let shown = try await BuiltProduct.run(["config", "--config", path])
            #expect(shown.status == 0, "\(shown.stderr)")
            #expect(shown.stdout.contains("source gomel.url") && shown.stdout.contains("source minsk.url"))
            #expect(shown.stdout.contains("***") && shown.stdout.contains("token_file \(tokenFile)"))
            #expect(!shown.stdout.contains("s3cret-token"))
            let checked = try await BuiltProduct.run(["config", "--check", "--config", path])
            #expect(checked.status == 0 && checked.stdout.contains("valid, 2 sources"))
            await second.stop()
            await third.stop()
        }
    }

    @Test(
        "Every bad config is one sentence naming the file, the line and the key, status 2, and the database untouched",
        arguments: [
            ("db = \n", "line 1", "not TOML"),
            ("dbx = \"a\"\n", "line 1, key 'dbx'", "unknown key"),
            ("[[source]]\nurl = \"http://127.0.0.1:9\"\ntimeot = 3\n", "line 3, key 'source[1].timeot'", "unknown key"),
            ("[[source]]\nurl = \"http://127.0.0.1:9\"\ntimeout = \"soon\"\n", "line 3, key 'source[1].timeout'", "must be a number"),
            ("[[source]]\nname = \"a\"\n", "line 1, key 'source[1]'", "the source has no url"),
            (
                "[[source]]\nname = \"a\"\nurl = \"http://127.0.0.1:9\"\n[[source]]\nname = \"a\"\nurl = \"http://127.0.0.1:8\"\n",
                "line 5, key 'source[2].name'", "two sources are named 'a'"
            ),
            (
                "[[source]]\nurl = \"http://127.0.0.1:9\"\ntoken_file = \"/nonexistent/token\"\n", "line 3, key 'source[1].token_file'",
                "cannot read the token file"
            ),
            ("[output]\ntz = \"Mars/Olympus\"\n", "line 2, key 'output.tz'", "not an IANA time zone"),
            ("[[source]]\nurl = \"ftp://x\"\n", "line 2, key 'source[1].url'", "not an http or https URL"),
        ] as [(String, String, String)])
    func badConfig(text: String, place: String, problem: String) async throws {
        try await withHarness(streams: 2) { h in
            let path = try Self.write(text, in: h)
            let result = try await BuiltProduct.run(["sync", "--config", path, "--db", h.databasePath])
            #expect(result.status == 2)
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(result.stderr)")
            #expect(result.stderr.hasPrefix("streamdb: \(path), \(place)"), "\(result.stderr)")
            #expect(result.stderr.contains(problem), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: h.databasePath))
            let check = try await BuiltProduct.run(["config", "--check", "--config", path])
            #expect(check.status == 2 && check.stderr == result.stderr)
        }
    }

    @Test("A token written in the file is refused unless only its owner can read the file")
    func tokenInTheFile() async throws {
        try await withHarness(streams: 2) { h in
            let text = "[[source]]\nurl = \"\(h.server.baseURL)\"\ntoken = \"abc\"\n"
            let open = try Self.write(text, in: h, name: "open.toml", mode: 0o644)
            let refused = try await BuiltProduct.run(["sync", "--config", open, "--db", h.databasePath])
            #expect(refused.status == 2 && refused.stderr.contains("others can read it: chmod 600"), "\(refused.stderr)")
            let closed = try Self.write(text, in: h, name: "closed.toml", mode: 0o600)
            let synced = try await BuiltProduct.run(["sync", "--config", closed, "--db", h.databasePath])
            #expect(synced.status == 0, "\(synced.stderr)")
        }
    }
}
