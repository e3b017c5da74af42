import Foundation
import GRDB
import StreamDBModel
import StreamDBSync
import StreamSim
import Testing

/// No secret the server served reaches the database file, its write-ahead log, or any output.
@Suite("Secrets")
struct SecretsTests {
    /// The passwords and tokens in the URLs the simulator serves now.
    static func secrets(in fleet: Fleet) -> Set<String> {
        var found = Set<String>()
        for stream in fleet.liveStreams {
            let url = stream.config.url
            if let token = url.range(of: "?token=") { found.insert(String(url[token.upperBound...])) }
            if let at = url.firstIndex(of: "@"), let colon = url[url.index(url.startIndex, offsetBy: 7)...].firstIndex(of: ":"), colon < at
            {
                found.insert(String(url[url.index(after: colon)..<at]))
            }
        }
        return found
    }

    @Test("Passwords and query-string tokens never reach the file, the WAL, show, history, diff or sql; a rotated token is no version")
    func noSecretStored() async throws {
        try await withHarness(streams: 40, seed: 5) { h in
            var served = Self.secrets(in: h.fleet)
            #expect(served.contains { $0.hasSuffix("~~") }, "the simulator serves no token")
            #expect(served.contains { $0.hasSuffix("pw") }, "the simulator serves no password")
            try await h.sync()
            // Tokens rotate on touches: each round serves new ones.
            for _ in 0..<4 {
                h.fleet.tick()
                served.formUnion(Self.secrets(in: h.fleet))
                try await h.sync()
            }
            // Leave the log as a killed sync would: read it before anything checkpoints it away.
            var files = [h.databasePath]
            if FileManager.default.fileExists(atPath: h.databasePath + "-wal") { files.append(h.databasePath + "-wal") }
            for file in files {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
                for secret in served {
                    #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(secret) is in \(file)")
                }
            }
            // Nothing but masked values anywhere a user looks.
            let uids = h.fleet.liveStreams.filter { $0.config.url.contains("?token=") }.prefix(3).map(\.jobUID)
            var outputs: [String] = []
            for uid in uids {
                for command in [["show", uid], ["show", uid, "--config"], ["history", uid], ["diff", uid, "--payload"]] {
                    outputs.append(try await BuiltProduct.run(command + ["--db", h.databasePath]).stdout)
                }
            }
            outputs.append(try await BuiltProduct.run(["sql", "SELECT json FROM documents", "--db", h.databasePath]).stdout)
            #expect(outputs.joined().contains("?token=***"))
            for secret in served {
                #expect(!outputs.joined().contains(secret), "\(secret) is printed")
            }
            // A stream whose only change is a new token has no new version.
            let uid = try #require(uids.first)
            let before = try h.count("SELECT current_version FROM streams WHERE job_uid = ?", [uid])
            let oldToken = Self.secrets(in: h.fleet)
            h.fleet.rotateToken(uid)
            #expect(Self.secrets(in: h.fleet) != oldToken)
            let report = try await h.sync()
            #expect(report.counts.changed == 0 && report.counts.unchanged == h.fleet.liveStreams.count)
            #expect(try h.count("SELECT current_version FROM streams WHERE job_uid = ?", [uid]) == before)
        }
    }

    @Test("scrub-secrets removes stored tokens and passwords from the file; versions, numbers and times stay; the next sync sees no change")
    func scrubStoredSecrets() async throws {
        try await withHarness(streams: 40, seed: 9) { h in
            var keep = SyncOptions()
            keep.keepURLCredentials = true
            var served = Self.secrets(in: h.fleet)
            try await h.sync(keep)
            h.fleet.tick()
            served.formUnion(Self.secrets(in: h.fleet))
            try await h.sync(keep)
            let file = URL(fileURLWithPath: h.databasePath)
            let storedBefore = try Data(contentsOf: file)
            #expect(served.contains { storedBefore.range(of: Data($0.utf8)) != nil }, "the kept secrets are not in the file")
            let versionsSQL = "SELECT stream_id, version, observed_at, status, sync_run_id FROM versions ORDER BY stream_id, version"
            let before = try h.read { db in try Row.fetchAll(db, sql: versionsSQL) }

            let scrub = try await BuiltProduct.run(["scrub-secrets", "--db", h.databasePath])
            #expect(scrub.status == 0, "\(scrub.stderr)")
            #expect(scrub.stdout.contains("documents masked"))

            var files = [h.databasePath]
            if FileManager.default.fileExists(atPath: h.databasePath + "-wal") { files.append(h.databasePath + "-wal") }
            for path in files {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
                for secret in served {
                    #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(secret) is still in \(path)")
                }
            }
            #expect(try h.read { db in try Row.fetchAll(db, sql: versionsSQL) } == before)
            #expect(try h.count(TestHarness.missingCurrentVersionsSQL) == 0)
            #expect(try h.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") } == "ok")
            #expect(try h.read { db in try Row.fetchAll(db, sql: "PRAGMA foreign_key_check") }.isEmpty)

            // The next sync masks as usual and finds nothing changed.
            let next = try await h.sync()
            #expect(next.counts.changed == 0 && next.counts.new == 0, "\(next.summary)")
            #expect(try h.mirrorsFleet())
        }
    }
}
