import Foundation
import StreamDBModel
import StreamSim
import Testing

/// The hooks cron monitoring reads: the Prometheus metrics file and the healthchecks pings.
@Suite("Monitoring")
struct MonitoringTests {
    /// One sample of a metrics file as Python's prometheus_client parser read it.
    struct Sample: Equatable {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    /// Parses `path` with prometheus_client's text parser (`.ci/run` installs it): a real
    /// Prometheus parser, not ours. Records an issue saying how to install it when it is missing.
    static func parseMetrics(_ path: String) async throws -> [Sample]? {
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            out = []
            for family in text_string_to_metric_families(open(sys.argv[1]).read()):
                if family.type != "gauge":
                    raise SystemExit("%s is a %s, not a gauge" % (family.name, family.type))
                for s in family.samples:
                    out.append([s.name, s.labels, s.value])
            print(json.dumps(out))
            """
        let result = try await BuiltProduct.run(["python3", "-c", script, path], executable: URL(fileURLWithPath: "/usr/bin/env"))
        guard result.status == 0 else {
            Issue.record("the metrics file did not parse with prometheus_client (pip install prometheus_client): \(result.stderr)")
            return nil
        }
        let rows = try #require(try JSONValue.parse(Data(result.stdout.utf8)).arrayValue)
        return rows.compactMap { row in
            guard let items = row.arrayValue, items.count == 3, let name = items[0].stringValue,
                case .object(let labels) = items[1]
            else { return nil }
            let value: Double
            switch items[2] {
            case .int(let i): value = Double(i)
            case .double(let d): value = d
            default: return nil
            }
            return Sample(name: name, labels: labels.compactMapValues(\.stringValue), value: value)
        }
    }

    static func value(_ samples: [Sample], _ name: String, _ labels: [String: String]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    @Test(
        "sync --metrics-file writes each source's last run for Prometheus, atomically; a failed run shows as failed and keeps the last success",
        .enabled(
            if: Python.prometheusClient,
            "python3's prometheus_client is not installed (.ci/run installs it): nothing here can read the metrics file back as Prometheus does"
        ))
    func metricsFile() async throws {
        var options = SimulatorOptions()
        options.token = "s3cret"
        try await withHarness(streams: 6, seed: 40, options: options) { h in
            let metrics = h.directory.appending(path: "streamdb.prom").path()
            let base = ["sync", "--db", h.databasePath, "--url", h.server.baseURL, "--source", "lab", "--metrics-file", metrics]
            let ok = try await BuiltProduct.run(base, environment: ["STREAMDB_TOKEN": "s3cret"])
            #expect(ok.status == 0, "\(ok.stderr)")
            guard let first = try await Self.parseMetrics(metrics) else { return }
            let lab = ["source": "lab"]
            #expect(Self.value(first, "streamdb_sync_last_run_outcome", ["source": "lab", "outcome": "ok"]) == 1)
            #expect(Self.value(first, "streamdb_sync_last_run_outcome", ["source": "lab", "outcome": "failed"]) == 0)
            #expect(Self.value(first, "streamdb_sync_last_run_streams", ["source": "lab", "state": "seen"]) == 6)
            #expect(Self.value(first, "streamdb_sync_last_run_streams", ["source": "lab", "state": "new"]) == 6)
            #expect(Self.value(first, "streamdb_sync_last_run_errors", lab) == 0)
            let success = try #require(Self.value(first, "streamdb_sync_last_success_timestamp_seconds", lab))
            #expect(abs(success - Date().timeIntervalSince1970) < 600)
            let start = try #require(Self.value(first, "streamdb_sync_last_run_start_timestamp_seconds", lab))
            let finish = try #require(Self.value(first, "streamdb_sync_last_run_finish_timestamp_seconds", lab))
            let duration = try #require(Self.value(first, "streamdb_sync_last_run_duration_seconds", lab))
            #expect(start <= finish && abs((finish - start) - duration) < 0.001)

            // A refused token: the run fails (exit 2, as always), the file says so, with the error's
            // kind, and the last success is still the first run's. No temporary file is left.
            let refused = try await BuiltProduct.run(base, environment: ["STREAMDB_TOKEN": "wrong"])
            #expect(refused.status == 2)
            guard let second = try await Self.parseMetrics(metrics) else { return }
            #expect(Self.value(second, "streamdb_sync_last_run_outcome", ["source": "lab", "outcome": "failed"]) == 1)
            #expect(Self.value(second, "streamdb_sync_last_run_outcome", ["source": "lab", "outcome": "ok"]) == 0)
            #expect(Self.value(second, "streamdb_sync_last_run_errors_by_kind", ["source": "lab", "kind": "http_401"]) == 1)
            #expect(Self.value(second, "streamdb_sync_last_success_timestamp_seconds", lab) == success)
            #expect(try FileManager.default.contentsOfDirectory(atPath: h.directory.path()).filter { $0.hasSuffix(".tmp") }.isEmpty)

            // A folder that does not exist is refused before anything is fetched.
            let nowhere = try await BuiltProduct.run(
                ["sync", "--db", h.databasePath, "--url", h.server.baseURL, "--metrics-file", "/nonexistent/x.prom"])
            #expect(nowhere.status == 2 && nowhere.stderr.contains("the folder of '/nonexistent/x.prom' does not exist"))
        }
    }

    @Test("sync --ping-url pings start, then success or fail with the run's summary; a refused or silent ping server changes nothing")
    func pings() async throws {
        var options = SimulatorOptions()
        options.token = "s3cret"
        try await withHarness(streams: 4, seed: 41, options: options) { h in
            let recorder = try await PingRecorder()
            defer { Task { await recorder.stop() } }
            let check = recorder.baseURL + "/ping/0b8e6a1c"
            let base = ["sync", "--db", h.databasePath, "--url", h.server.baseURL, "--ping-url", check]
            let ok = try await BuiltProduct.run(base, environment: ["STREAMDB_TOKEN": "s3cret"])
            #expect(ok.status == 0, "\(ok.stderr)")
            #expect(recorder.pings.map(\.path) == ["/ping/0b8e6a1c/start", "/ping/0b8e6a1c"])
            #expect(recorder.pings.allSatisfy { $0.method == "POST" })
            #expect(recorder.pings.last?.body.contains("sync ok: 4 seen, 4 new") == true, "\(recorder.pings)")

            let refused = try await BuiltProduct.run(base, environment: ["STREAMDB_TOKEN": "wrong"])
            #expect(refused.status == 2)
            #expect(recorder.pings.suffix(2).map(\.path) == ["/ping/0b8e6a1c/start", "/ping/0b8e6a1c/fail"])
            #expect(recorder.pings.last?.body.contains("failed") == true, "\(recorder.pings)")

            // Nothing listening: one warning per ping; the run's outcome and exit status are its own.
            let dead = try await BuiltProduct.run(
                ["sync", "--db", h.databasePath, "--url", h.server.baseURL, "--ping-url", "http://127.0.0.1:9/x"],
                environment: ["STREAMDB_TOKEN": "s3cret"])
            #expect(dead.status == 0, "\(dead.stderr)")
            #expect(dead.stdout.contains("sync ok"))
            #expect(dead.stderr.contains("the start ping to http://127.0.0.1:9/... failed: the connection to 127.0.0.1:9 was refused"))
            #expect(dead.stderr.contains("the success ping"))
            #expect(!dead.stderr.contains("/x"), "the ping URL's path is its secret: \(dead.stderr)")

            // A server that accepts and never answers: each ping gives up after --ping-timeout.
            let silent = try await PingRecorder(answering: false)
            defer { Task { await silent.stop() } }
            let stuck = try await BuiltProduct.run(
                ["sync", "--db", h.databasePath, "--url", h.server.baseURL, "--ping-url", silent.baseURL + "/hc", "--ping-timeout", "0.5"],
                environment: ["STREAMDB_TOKEN": "s3cret"])
            #expect(stuck.status == 0, "\(stuck.stderr)")
            #expect(stuck.stderr.contains("the start ping") && stuck.stderr.contains("no complete answer within 0.5 s"), "\(stuck.stderr)")
            #expect(silent.pings.map(\.path) == ["/hc/start", "/hc"])
        }
    }

    @Test(
        "The config file sets metrics_file and ping_url for the database and for each source",
        .enabled(
            if: Python.prometheusClient,
            "python3's prometheus_client is not installed (.ci/run installs it): nothing here can read the metrics file back as Prometheus does"
        ))
    func fromTheConfigFile() async throws {
        try await withHarness(streams: 3, seed: 42) { h in
            let other = try await SimulatorServer.start(fleet: Fleet(size: 2, seed: 43), options: SimulatorOptions())
            defer { Task { await other.stop() } }
            let recorder = try await PingRecorder()
            defer { Task { await recorder.stop() } }
            let all = h.directory.appending(path: "all.prom").path()
            let east = h.directory.appending(path: "east.prom").path()
            let config = try ConfigTests.write(
                """
                db = "\(h.databasePath)"
                metrics_file = "\(all)"
                ping_url = "\(recorder.baseURL)/db"

                [[source]]
                name = "west"
                url = "\(h.server.baseURL)"

                [[source]]
                name = "east"
                url = "\(other.baseURL)"
                metrics_file = "\(east)"
                ping_url = "\(recorder.baseURL)/east"
                """, in: h)
            let run = try await BuiltProduct.run(["sync", "--config", config])
            #expect(run.status == 0, "\(run.stderr)")
            let paths = recorder.pings.map(\.path)
            #expect(Set(paths) == ["/db/start", "/db", "/east/start", "/east"])
            #expect(paths.first == "/db/start" && paths.last == "/db")
            #expect(
                recorder.pings.last?.body.contains("west: sync ok") == true && recorder.pings.last?.body.contains("east: sync ok") == true)
            guard let everything = try await Self.parseMetrics(all), let eastOnly = try await Self.parseMetrics(east) else { return }
            #expect(Set(everything.compactMap { $0.labels["source"] }) == ["west", "east"])
            #expect(Set(eastOnly.compactMap { $0.labels["source"] }) == ["east"])
            #expect(Self.value(eastOnly, "streamdb_sync_last_run_streams", ["source": "east", "state": "seen"]) == 2)

            let bad = try ConfigTests.write("ping_url = \"ftp://example.com/x\"\n", in: h, name: "bad.toml")
            let refused = try await BuiltProduct.run(["config", "--check", "--config", bad])
            #expect(refused.status == 2 && refused.stderr.contains("ping_url") && refused.stderr.contains("is not an http(s) URL"))
        }
    }
}
