import ArgumentParser
import AsyncHTTPClient
import Foundation
import GRDB
import Logging
import NIOCore
import StreamDBAPI
import StreamDBModel
import StreamDBOutput
import StreamDBQuery
import StreamDBStore
import StreamDBSync
import StreamSim

/// `streamdb-bench`: measures sync and query speed against references measured in the same run,
/// and writes bench/RESULTS.md. Figures are printed next to their reference because these machines
/// are noisy and only ratios are stable.
@main
struct StreamdbBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streamdb-bench",
        abstract: "Benchmark streamdb sync and queries against the bundled simulator; writes bench/RESULTS.md."
    )

    @Option(help: "Fleet sizes for the full first sync.")
    var sizes: [Int] = [1000, 10000]

    @Option(help: "Streams for the detail-only and resync measurements.")
    var detailStreams = 2000

    @Option(help: "Streams x versions of the query database.")
    var queryStreams = 2000
    @Option(help: "Versions per stream in the query database.")
    var queryVersions = 50

    @Option(help: "Process runs per query measurement.")
    var repeats = 15

    @Option(
        help: """
            Runs of each sync measurement, each beside a run of its references (first syncs, the \
            unchanged resyncs, the detail-only syncs); the tables show medians.
            """)
    var syncRepeats = 5

    @Flag(help: "The issue's full sizes: 1,000 / 10,000 / 50,000 streams, and 10,000 x 100 versions for queries.")
    var full = false

    @Option(help: "Where to write the results.")
    var output = "bench/RESULTS.md"

    @Option(help: "The streamdb binary to measure (default: the one built beside this tool).")
    var streamdb: String?

    @Flag(help: "Keep the databases the run made (their folder is printed), to profile queries on them.")
    var keepDatabases = false

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .error
            return handler
        }
        let binary =
            streamdb ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appending(path: "streamdb").path()
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw BenchError("no streamdb binary at \(binary): build it first (swift build -c release).")
        }
        let work = FileManager.default.temporaryDirectory.appending(path: "streamdb-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer {
            if keepDatabases {
                print("databases kept in \(work.path())")
            } else {
                try? FileManager.default.removeItem(at: work)
            }
        }

        var report = Report(binary: binary)
        let sizes = full ? [1000, 10000, 50000] : self.sizes
        try await fullSync(sizes: sizes, binary: binary, work: work, report: &report)
        try await detailSync(binary: binary, work: work, report: &report)
        try await queries(
            binary: binary, work: work, report: &report,
            streams: full ? 10000 : queryStreams, versions: full ? 100 : queryVersions)
        // Built by the same `swift run` as the streamdb beside it: linked the same way.
        let staticRuntime = !((try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8))?.contains("libswiftCore.so") ?? true)
        let text = report.markdown(
            command: "swift build -c release" + (staticRuntime ? " --static-swift-stdlib" : "")
                + " && .build/release/streamdb-bench" + CommandLine.arguments.dropFirst().map { " " + $0 }.joined(),
            analysisPath: URL(fileURLWithPath: output).deletingLastPathComponent().appending(path: "ANALYSIS.md").path())
        try FileManager.default.createDirectory(
            at: URL(fileURLWithPath: output).deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(toFile: output, atomically: true, encoding: .utf8)
        print(text)
        print("written to \(output)")
    }

    // MARK: 1. Full first sync, and 3. resyncs and 5. storage

    func fullSync(sizes: [Int], binary: String, work: URL, report: inout Report) async throws {
        for n in sizes {
            let fleet = Fleet(size: n, seed: 9)
            var options = SimulatorOptions()
            options.pageSize = 100
            let server = try await SimulatorServer.start(fleet: fleet, options: options)
            defer { Task { await server.stop() } }
            // Each first sync into a new file, beside a run of both references: medians of each, the
            // largest peak RSS. The file of the last one goes on to the resyncs.
            let db = work.appending(path: "full-\(n).sqlite").path()
            var ceilings: [Double] = []
            var parsed: [Double] = []
            var firsts: [Measured] = []
            for _ in 0..<max(1, syncRepeats) {
                ceilings.append(try await bareListLoop(server.baseURL))
                parsed.append(try await bareListLoop(server.baseURL, parsing: true))
                HistoryStore.removeFiles(at: db)  // the next sync into it is a first one
                let first = try runMeasured(binary, ["sync", "--url", server.baseURL, "--db", db, "--quiet"])
                guard first.status == 0 else { throw BenchError("sync of \(n) streams exited \(first.status)") }
                firsts.append(first)
            }
            let first = percentiles(firsts.map(\.seconds)).median
            report.fullSync.append(
                .init(
                    streams: n, seconds: first, rss: firsts.map(\.peakRSS).max() ?? 0, ceiling: percentiles(ceilings).median,
                    parsedCeiling: percentiles(parsed).median, runs: firsts.count))

            // Resyncs: nothing changed, 1 % and 10 % of statuses changed.
            for share in [0.0, 0.01, 0.10] {
                let live = fleet.liveStreams
                let changed = Int(Double(live.count) * share)
                for stream in live.prefix(changed) { fleet.setStatus(stream.jobUID, stream.status == 6 ? 11 : 6) }
                let before = try counts(db)
                let sizeBefore = fileSize(db)
                let resync = try runMeasured(binary, ["sync", "--url", server.baseURL, "--db", db, "--quiet"])
                let after = try counts(db)
                var row = Report.Resync(
                    streams: n, changedShare: share, seconds: resync.seconds, firstSeconds: first,
                    versionsWritten: after.versions - before.versions, bytesGrown: fileSize(db) - sizeBefore)
                if changed == 0 {
                    // The later unchanged runs are timed too: the row's time is the median of all.
                    let sizeThen = fileSize(db)
                    var times = [resync.seconds]
                    for _ in 0..<Report.Resync.laterRuns {
                        times.append(try runMeasured(binary, ["sync", "--url", server.baseURL, "--db", db, "--quiet"]).seconds)
                    }
                    row.laterGrowth = fileSize(db) - sizeThen
                    row.seconds = percentiles(times).median
                }
                report.resync.append(row)
                if share > 0 && changed > 0 {
                    report.storage.append(
                        .init(
                            kind: "status-only change", streams: n,
                            versions: after.versions - before.versions, bytesGrown: fileSize(db) - sizeBefore))
                }
            }
            // A config change on 10 %: bytes per version.
            let live = fleet.liveStreams
            for (i, stream) in live.prefix(live.count / 10).enumerated() { fleet.setThreshold(stream.jobUID, 100 + i % 800) }
            let before = try counts(db)
            let sizeBefore = fileSize(db)
            _ = try runMeasured(binary, ["sync", "--url", server.baseURL, "--db", db, "--quiet"])
            let after = try counts(db)
            report.storage.append(
                .init(
                    kind: "config change", streams: n,
                    versions: after.versions - before.versions, bytesGrown: fileSize(db) - sizeBefore))
            report.fileSizes.append((n, fileSize(db)))
            await server.stop()
        }
    }

    /// The transport ceiling: the same pages fetched by a bare client that neither parses nor stores.
    /// With `parsing`, the same loop also parses every page, and so every item, with streamdb's own
    /// JSON parser (transport + parse, no normalising or storing): the reference sync is measured
    /// against.
    func bareListLoop(_ base: String, parsing: Bool = false) async throws -> Double {
        var configuration = HTTPClient.Configuration()
        configuration.tracing.tracer = nil
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var items = 0
        let elapsed = try await timed {
            var page = 1
            while true {
                let request = HTTPClientRequest(url: "\(base)/api/streams/?format=json" + (page == 1 ? "" : "&page=\(page)"))
                let response = try await client.execute(request, timeout: .seconds(30))
                let body = try await response.body.collect(upTo: 64 << 20)
                if response.status != .ok { break }
                if parsing {
                    let tree = try JSONValue.parse(Data(body.readableBytesView))
                    items += tree["results"]?.arrayValue?.count ?? 0
                }
                // Only to know when to stop: DRF puts "next" at the start of the page; look for
                // "next": null there without parsing the page.
                let head = String(decoding: body.readableBytesView.prefix(256), as: UTF8.self)
                if head.contains("\"next\": null") { break }
                page += 1
            }
        }
        try await client.shutdown()
        if parsing, items == 0 { throw BenchError("the parsing page loop found no items at \(base)") }
        return elapsed
    }

    // MARK: 2. Detail-only sync

    func detailSync(binary: String, work: URL, report: inout Report) async throws {
        let fleet = Fleet(size: detailStreams, seed: 10)
        let server = try await SimulatorServer.start(fleet: fleet)
        let db = work.appending(path: "detail.sqlite").path()
        _ = try runMeasured(binary, ["sync", "--url", server.baseURL, "--db", db, "--quiet"])
        let uids = fleet.liveStreams.map(\.jobUID)
        for concurrency in [8, 32, 64] {
            // Pairs of runs, streamdb then the bare client: the medians of each.
            var syncs: [Double] = []
            var ceilings: [Double] = []
            for _ in 0..<max(1, syncRepeats) {
                let sync = try runMeasured(
                    binary,
                    [
                        "sync", "--url", server.baseURL, "--db", db, "--quiet", "--no-list",
                        "--concurrency", String(concurrency),
                    ])
                guard sync.status == 0 else { throw BenchError("the detail-only sync exited \(sync.status)") }
                syncs.append(sync.seconds)
                ceilings.append(try await bareDetailLoop(server.baseURL, uids: uids, concurrency: concurrency))
            }
            report.detail.append(
                .init(
                    streams: uids.count, concurrency: concurrency, seconds: percentiles(syncs).median,
                    ceiling: percentiles(ceilings).median, runs: syncs.count))
        }
        await server.stop()
    }

    func bareDetailLoop(_ base: String, uids: [String], concurrency: Int) async throws -> Double {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        // Without tracing spans, as streamdb's client: the ceiling is the library at its cheapest.
        configuration.tracing.tracer = nil
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let elapsed = try await timed {
            try await withThrowingTaskGroup(of: Void.self) { group in
                var pending = uids.makeIterator()
                func next() {
                    guard let uid = pending.next() else { return }
                    group.addTask {
                        let response = try await client.execute(
                            HTTPClientRequest(url: "\(base)/api/streams/\(uid)/?format=json"), timeout: .seconds(30))
                        _ = try await response.body.collect(upTo: 1 << 20)
                    }
                }
                for _ in 0..<concurrency { next() }
                while try await group.next() != nil { next() }
            }
        }
        try await client.shutdown()
        return elapsed
    }

    // MARK: 4. Queries

    func queries(binary: String, work: URL, report: inout Report, streams: Int, versions: Int) async throws {
        let db = work.appending(path: "queries.sqlite").path()
        let build = try await timed { try await buildHistory(path: db, streams: streams, versions: versions) }
        report.queryDatabase = (streams, versions, build, fileSize(db))
        let (uid, asOf) = try pick(db, streams: streams, versions: versions)
        let reference = (0..<repeats).map { _ in (try? runMeasured(binary, ["--version"]).seconds) ?? 0 }
        report.processStart = percentiles(reference)
        let cases: [(String, [String])] = [
            ("history", ["history", uid]),
            ("show", ["show", uid]),
            ("diff", ["diff", uid, "--from", "1"]),
            ("regions", ["regions"]),
            ("regions --as-of", ["regions", "--as-of", asOf]),
            ("sql over status_intervals", ["sql", "SELECT status, count(*), sum(duration_seconds) FROM status_intervals GROUP BY status"]),
            // The same question as the view answered it before migration 0007 materialised the spans.
            ("sql over status_history, as before 0007", ["sql", Self.intervalsBefore0007]),
            ("uptime 30 days", ["uptime", "--since", "30d", "--up", "11", "--format", "json"]),
            ("uptime 30 days --by region", ["uptime", "--since", "30d", "--up", "11", "--by", "region"]),
            ("flapping 30 days", ["flapping", "--since", "30d", "--format", "json"]),
            ("events --since 1d", ["events", "--since", "1d", "--format", "ndjson"]),
            ("events --last-run", ["events", "--last-run", "--format", "ndjson"]),
            ("report --html, 7 days", ["report", "--html", work.appending(path: "report.html").path(), "--since", "7d", "--up", "11"]),
        ]
        for (name, arguments) in cases {
            var samples: [Double] = []
            for _ in 0..<repeats {
                let run = try runMeasured(binary, arguments + ["--db", db])
                guard run.status == 0 || (name == "diff" && run.status == 1) else { throw BenchError("\(name) exited \(run.status)") }
                samples.append(run.seconds)
            }
            report.queries.append((name, percentiles(samples)))
        }
        report.htmlReportBytes = fileSize(work.appending(path: "report.html").path())
        try mirror(binary: binary, work: work, db: db, report: &report)
    }

    /// `status_intervals` as migration 0001 defined it: a window function over `status_history`.
    static let intervalsBefore0007 = """
        SELECT status, count(*), sum(round((julianday(coalesce(ended_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))
                                            - julianday(changed_at)) * 86400.0, 3))
        FROM (SELECT h.*, lead(h.changed_at) OVER (PARTITION BY h.job_uid ORDER BY h.changed_at, h.observed_at) AS ended_at
              FROM status_history AS h)
        GROUP BY status
        """

    /// A history of `streams` x `versions` over the last 30 days, written through the store's own
    /// write path: each round changes statuses (and every tenth round a config) and records the
    /// fleet in batches.
    func buildHistory(path: String, streams: Int, versions: Int) async throws {
        let fleet = Fleet(size: streams, seed: 12)
        let store = try HistoryStore.openForWriting(path: path)
        let step = 30 * 86_400 / Double(versions)
        let start = Date().addingTimeInterval(-Double(versions) * step)
        for round in 0..<versions {
            let live = fleet.liveStreams
            if round > 0 {
                for stream in live {
                    if round % 10 == 0 {
                        fleet.setThreshold(stream.jobUID, 100 + (stream.config.threshold + round) % 800)
                    } else {
                        fleet.setStatus(stream.jobUID, stream.status == 6 ? 11 : 6)
                    }
                }
            }
            let observed = Timestamp.format(start.addingTimeInterval(Double(round) * step))
            let source = try await store.resolveSource(name: "bench", url: "http://bench.invalid")
            let runID = try await store.beginRun(source: source, startedAt: observed)
            let snapshots = try fleet.liveStreams.map { try StreamSnapshot(item: try JSONValue.parse($0.json)) }
            for batch in stride(from: 0, to: snapshots.count, by: 500) {
                let observations = snapshots[batch..<min(batch + 500, snapshots.count)].map {
                    StreamObservation.served(.success($0), url: "bench")
                }
                _ = try await store.writeBatch(observations, observedAt: observed, runID: runID, sourceID: source.id)
            }
            _ = try await store.finishRun(
                runID, finishedAt: observed, outcome: .ok, listing: .complete, counts: SyncCounts(), message: nil)
        }
    }

    /// A stream from the middle of the database, and a moment half way through its history.
    func pick(_ path: String, streams: Int, versions: Int) throws -> (String, String) {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            let uid = try String.fetchOne(
                db, sql: "SELECT job_uid FROM streams ORDER BY job_uid LIMIT 1 OFFSET ?", arguments: [streams / 2])!
            let moment = try String.fetchOne(
                db, sql: "SELECT observed_at FROM snapshots WHERE job_uid = ? AND version = ?",
                arguments: [uid, max(1, versions / 2)])!
            return (uid, moment)
        }
    }

    func counts(_ path: String) throws -> (versions: Int, history: Int) {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM snapshots") ?? 0,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM status_history") ?? 0
            )
        }
    }
}
