import Foundation
import StreamDBAPI
import StreamDBModel
import StreamDBOutput
import StreamDBQuery
import StreamDBStore
import StreamDBSync

/// The figures of one benchmark run, and their Markdown table.
struct Report {
    struct FullSync {
        let streams: Int
        let seconds: Double
        let rss: Double
        let ceiling: Double
        /// The page loop that also parses every item with streamdb's JSON parser.
        let parsedCeiling: Double
        /// The syncs (each beside a run of both loops) the medians are of.
        let runs: Int
    }
    struct Resync {
        let streams: Int
        let changedShare: Double
        /// Unchanged resyncs: the median of this run and the ``laterRuns`` after it.
        var seconds: Double
        let firstSeconds: Double
        let versionsWritten: Int
        let bytesGrown: Int
        /// Unchanged resyncs only: what the file grew in ``laterRuns`` more.
        var laterGrowth: Int?
        /// Unchanged resyncs run after the first one, to see the growth of a run past the page size.
        static let laterRuns = 7
        /// The mean growth of all unchanged resyncs of this row.
        var meanGrowth: Double { Double(bytesGrown + (laterGrowth ?? 0)) / Double(1 + (laterGrowth == nil ? 0 : Self.laterRuns)) }
        /// This resync's time as a share of the first sync's.
        var ratio: Double { seconds / firstSeconds }
        var growthPerThousandStreams: Double { meanGrowth / (Double(streams) / 1000) }
        /// What keeps an unchanged resync from its target; empty when it is met.
        var unchangedMisses: [String] {
            var misses: [String] = []
            if ratio > Target.resyncShare { misses.append(String(format: "%.0f %% of the first sync", ratio * 100)) }
            if versionsWritten > 0 { misses.append("\(versionsWritten) versions") }
            if growthPerThousandStreams >= Target.growthPerThousandStreams {
                misses.append(String(format: "%.0f B per 1,000 streams", growthPerThousandStreams))
            }
            return misses
        }
    }
    struct Detail {
        let streams: Int
        let concurrency: Int
        let seconds: Double
        let ceiling: Double
        /// The pairs of runs (streamdb, then the bare client) the medians are of.
        let runs: Int
        /// streamdb's request rate as a share of the bare client's.
        var share: Double { ceiling / seconds }
    }
    struct Storage {
        let kind: String
        let streams: Int
        let versions: Int
        let bytesGrown: Int
        var perVersion: Double { Double(bytesGrown) / Double(max(1, versions)) }
        /// A status-only row with enough versions to say more than the page size.
        var judged: Bool { kind.hasPrefix("status") && versions >= Target.fewestVersionsJudged }
    }

    /// The issue's targets: the tables and the closing summary judge by these.
    enum Target {
        static let firstSyncSeconds = 0.5  // at 10,000 streams
        static let firstSyncOverParse = 2.5  // at 10,000 streams, against the page loop that parses
        static let resyncOverParse = 1.5  // unchanged resync of 10,000, the same reference
        static let resyncSeconds = 0.15  // unchanged resync of 10,000
        static let peakRSSMiB = 100.0  // at 50,000 streams
        static let largeFirstSyncSeconds = 3.0  // first sync of 50,000 streams
        static let largeResyncSeconds = 0.6  // unchanged resync of 50,000 streams
        static let detailShare = 0.6  // at concurrency 32
        static let resyncShare = 0.6
        static let growthPerThousandStreams = 1024.0
        static let querySeconds = 0.02  // history, show, diff, with process start
        static let asOfSeconds = 0.3
        static let uptimeSeconds = 1.0  // the whole fleet over 30 days, with process start
        static let eventsSeconds = 0.2  // events --since 1d, with process start
        static let htmlReportBytes = 2_000_000  // report --html over 7 days
        static let statusOnlyBytes = 300.0
        static let firstPublishSeconds = 60.0  // the query database (10,000 x 100) into PostgreSQL
        static let unchangedPublishSeconds = 0.5  // after an unchanged sync of it
        /// Fewer status-only versions than this fit in the free space of pages already there.
        static let fewestVersionsJudged = 100
    }

    let binary: String
    var fullSync: [FullSync] = []
    var resync: [Resync] = []
    var detail: [Detail] = []
    var storage: [Storage] = []
    var fileSizes: [(Int, Int)] = []
    var queryDatabase: (streams: Int, versions: Int, buildSeconds: Double, bytes: Int) = (0, 0, 0, 0)
    var processStart: (median: Double, p95: Double) = (0, 0)
    /// The size of `report --html` over the last 7 days of the query database.
    var htmlReportBytes: Int?
    var mirror: MirrorFigures?
    var mirrorSkipped: String?
    var queries: [(String, (median: Double, p95: Double))] = []

    func markdown(command: String, analysisPath: String) -> String {
        func ms(_ s: Double) -> String { String(format: "%.1f ms", s * 1000) }
        func sec(_ s: Double) -> String { String(format: "%.3f s", s) }
        func mark(_ ok: Bool) -> String { ok ? "met" : "**not met**" }
        var out = """
            # streamdb benchmark results

            Written by `streamdb-bench`; do not edit by hand.

            - date: \(Timestamp.now())
            - machine: \(ProcessInfo.processInfo.processorCount) cores, \(ProcessInfo.processInfo.physicalMemory / 1_073_741_824) GiB, \(ProcessInfo.processInfo.operatingSystemVersionString)
            - command: `\(command)`
            - binary: `\(binary)`

            Each figure stands next to a reference measured in the same run: only ratios are stable on a
            shared machine. The simulator runs inside the benchmark process on loopback; `streamdb` runs as
            a separate process, as from cron, so its times include process start.

            ## 1. Full first sync through the list route (page size 100)

            Each row is the median of \(fullSync.first?.runs ?? 0) first syncs, each into a new file and each after a run
            of both page loops (their medians beside it); the peak RSS is the largest of them.

            | streams | sync | streams/s | peak RSS | bare page loop (ceiling) | sync / ceiling | page loop + parse (reference) | sync / reference | target: N=10,000 < 0.5 s and <= 2.5x the reference; N=50,000 <= 3 s, RSS < 100 MB |
            | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |

            """
        for r in fullSync {
            let target =
                r.streams == 10000
                ? mark(r.seconds < Target.firstSyncSeconds && r.seconds / r.parsedCeiling <= Target.firstSyncOverParse)
                : (r.streams == 50000 ? mark(r.rss < Target.peakRSSMiB && r.seconds <= Target.largeFirstSyncSeconds) : "")
            out +=
                "| \(r.streams) | \(sec(r.seconds)) | \(Int(Double(r.streams) / r.seconds)) | \(String(format: "%.0f MiB", r.rss)) | \(sec(r.ceiling)) | \(String(format: "%.1fx", r.seconds / r.ceiling)) | \(sec(r.parsedCeiling)) | \(String(format: "%.1fx", r.seconds / r.parsedCeiling)) | \(target) |\n"
        }
        out += """

            ## 2. Detail-only sync (`--no-list`)

            Medians of \(detail.first?.runs ?? 0) pairs of runs, streamdb's sync of known streams and then the bare client
            fetching the same streams at the same concurrency.

            | streams | concurrency | sync | requests/s | bare client, same concurrency | share of ceiling | target: >= 60 % at 32 |
            | ---: | ---: | ---: | ---: | ---: | ---: | --- |

            """
        for d in detail {
            out +=
                "| \(d.streams) | \(d.concurrency) | \(sec(d.seconds)) | \(Int(Double(d.streams) / d.seconds)) | \(sec(d.ceiling)) | \(String(format: "%.0f %%", d.share * 100)) | \(d.concurrency == 32 ? mark(d.share >= Target.detailShare) : "") |\n"
        }
        out += """

            ## 3. Resync

            "file grew" is the database file's growth in this resync; for unchanged resyncs the column
            after it is the mean growth of \(Resync.laterRuns) more unchanged resyncs (SQLite grows a file by whole
            4 KiB pages, so one run's growth is 0 or a multiple of 4,096 B; what an unchanged run adds
            is its row in `sync_runs`). The target is judged on the mean of all \(Resync.laterRuns + 1). An unchanged
            resync's time is the median of those \(Resync.laterRuns + 1) runs; a resync with changes is one run.

            | streams | changed | resync | of first sync | versions written | file grew | then, a run | target: unchanged <= 60 %, 0 versions, < 1 KB per 1,000 |
            | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |

            """
        for r in resync {
            let target = r.changedShare == 0 ? mark(r.unchangedMisses.isEmpty) : ""
            let later = r.laterGrowth.map { "\($0 / Resync.laterRuns) B" } ?? ""
            out +=
                "| \(r.streams) | \(String(format: "%.0f %%", r.changedShare * 100)) | \(sec(r.seconds)) | \(String(format: "%.0f %%", r.ratio * 100)) | \(r.versionsWritten) | \(r.bytesGrown) B | \(later) | \(target) |\n"
        }
        out += """

            ## 4. Queries (\(queryDatabase.streams) streams x \(queryDatabase.versions) versions, \(queryDatabase.bytes / 1_048_576) MiB, built in \(sec(queryDatabase.buildSeconds)) through the store's write path)

            Wall time of whole `streamdb` processes; the reference is `streamdb --version`, process start alone.

            | command | median | p95 | median less process start | target |
            | --- | ---: | ---: | ---: | --- |
            | `streamdb --version` (reference) | \(ms(processStart.median)) | \(ms(processStart.p95)) | | |

            """
        for (name, p) in queries {
            let target: String
            switch name {
            case "history", "show", "diff": target = "< 20 ms: " + mark(p.median < Target.querySeconds)
            case "regions --as-of": target = "< 300 ms: " + mark(p.median < Target.asOfSeconds)
            case "uptime 30 days": target = "<= 1 s: " + mark(p.median <= Target.uptimeSeconds)
            case "events --since 1d": target = "<= 200 ms: " + mark(p.median <= Target.eventsSeconds)
            default: target = ""
            }
            out += "| `\(name)` | \(ms(p.median)) | \(ms(p.p95)) | \(ms(max(0, p.median - processStart.median))) | \(target) |\n"
        }
        if let bytes = htmlReportBytes {
            out += String(
                format:
                    "\nThe page `report --html` wrote for the last 7 days (40 timelines, the regions, the latest 200 config changes): %.0f KiB; target <= 2 MB: %@.\n",
                Double(bytes) / 1024, mark(bytes <= Target.htmlReportBytes))
        }
        out += """

            ## 5. Storage

            The file grows by whole 4 KiB pages and new rows first fill the free space of pages
            already there, so a figure from fewer than 100 versions says little; it is shown but not
            judged.

            | change | streams | versions written | file grew | bytes per version | target: status-only < 300 B |
            | --- | ---: | ---: | ---: | ---: | --- |

            """
        for s in storage {
            let verdict =
                !s.kind.hasPrefix("status") ? "" : !s.judged ? "too few versions to judge" : mark(s.perVersion < Target.statusOnlyBytes)
            out += "| \(s.kind) | \(s.streams) | \(s.versions) | \(s.bytesGrown) B | \(Int(s.perVersion)) | \(verdict) |\n"
        }
        out += "\n| streams | file size after all syncs |\n| ---: | ---: |\n"
        for (n, bytes) in fileSizes {
            out += "| \(n) | \(bytes / 1024) KiB |\n"
        }
        out += mirrorSection()
        out += targets()
        if let analysis = try? String(contentsOfFile: analysisPath, encoding: .utf8) {
            out += "\n" + analysis
        }
        return out
    }

    /// 6. The team mirror.
    func mirrorSection() -> String {
        func ms(_ s: Double) -> String { String(format: "%.1f ms", s * 1000) }
        func mark(_ ok: Bool) -> String { ok ? "met" : "**not met**" }
        guard let m = mirror else {
            return mirrorSkipped.map { "\n## 6. Team mirror (`streamdb publish`)\n\nNot measured: \($0).\n" } ?? ""
        }
        let unchanged = percentiles(m.afterUnchanged)
        let nothing = percentiles(m.nothingNew)
        return """

            ## 6. Team mirror (`streamdb publish` of the query database into PostgreSQL on loopback)

            A PostgreSQL started for the run (initdb, pg_ctl, fsync on); whole `streamdb publish`
            processes. The mirror holds \(m.rowsPublished) rows after them, \(m.mirrorBytes / 1_048_576) MiB.

            | publish | median | p95 | peak RSS | target |
            | --- | ---: | ---: | ---: | --- |
            | the first, of the whole history | \(String(format: "%.1f s", m.first.seconds)) | | \(String(format: "%.0f MiB", m.first.peakRSS)) | <= 60 s: \(mark(m.first.seconds <= Target.firstPublishSeconds)) |
            | after an unchanged sync (a run that saw every stream again) | \(ms(unchanged.median)) | \(ms(unchanged.p95)) | | <= 0.5 s: \(mark(unchanged.median <= Target.unchangedPublishSeconds)) |
            | with nothing new | \(ms(nothing.median)) | \(ms(nothing.p95)) | | |

            """
    }

    /// Each target, this run's figure for it, and how far the figure is from it.
    func targets() -> String {
        func ms(_ s: Double) -> String { String(format: "%.1f ms", s * 1000) }
        var rows: [(target: String, figure: String, verdict: String)] = []
        func add(_ target: String, _ figure: String, met: Bool, far: String) {
            rows.append((target, figure, met ? "met" : "**not met**: " + far))
        }
        if let r = fullSync.first(where: { $0.streams == 10000 }) {
            add(
                "1. first sync of 10,000 streams < 0.5 s",
                String(format: "%.3f s (%.1fx the bare page loop)", r.seconds, r.seconds / r.ceiling),
                met: r.seconds < Target.firstSyncSeconds, far: String(format: "%.1f times the target", r.seconds / Target.firstSyncSeconds))
            add(
                "1. first sync of 10,000 streams <= 2.5x the page loop that parses every item",
                String(format: "%.1fx (%.3f s against %.3f s)", r.seconds / r.parsedCeiling, r.seconds, r.parsedCeiling),
                met: r.seconds / r.parsedCeiling <= Target.firstSyncOverParse,
                far: String(
                    format: "%.1f times the %.1fx", r.seconds / r.parsedCeiling / Target.firstSyncOverParse, Target.firstSyncOverParse))
            if let unchanged = resync.first(where: { $0.streams == 10000 && $0.changedShare == 0 }) {
                let ratio = unchanged.seconds / r.parsedCeiling
                // Two lines: say how far the figure is from each it crosses, and which it meets.
                let lines = [
                    (ratio / Target.resyncOverParse, String(format: "the %.1fx", Target.resyncOverParse)),
                    (unchanged.seconds / Target.resyncSeconds, String(format: "the %.2f s", Target.resyncSeconds)),
                ]
                add(
                    "3. unchanged resync of 10,000 <= 1.5x the page loop that parses every item, and <= 0.15 s",
                    String(format: "%.1fx (%.3f s)", ratio, unchanged.seconds),
                    met: lines.allSatisfy { $0.0 <= 1 },
                    far: lines.map { share, line in
                        share <= 1 ? "\(line) met" : String(format: "%.1f times ", share) + line
                    }.joined(separator: "; "))
            }
        }
        if let r = fullSync.first(where: { $0.streams == 50000 }) {
            add(
                "1. first sync of 50,000 streams <= 3 s",
                String(format: "%.3f s (%.1fx the page loop that parses)", r.seconds, r.seconds / r.parsedCeiling),
                met: r.seconds <= Target.largeFirstSyncSeconds,
                far: String(format: "%.1f times the target", r.seconds / Target.largeFirstSyncSeconds))
            if let unchanged = resync.first(where: { $0.streams == 50000 && $0.changedShare == 0 }) {
                add(
                    "3. unchanged resync of 50,000 <= 0.6 s",
                    String(format: "%.3f s (%.1fx the page loop that parses)", unchanged.seconds, unchanged.seconds / r.parsedCeiling),
                    met: unchanged.seconds <= Target.largeResyncSeconds,
                    far: String(format: "%.1f times the target", unchanged.seconds / Target.largeResyncSeconds))
            }
        }
        if let r = fullSync.max(by: { $0.streams < $1.streams }) {
            let rss = fullSync.map { String(format: "%.0f", $0.rss) }.joined(separator: " / ")
            add(
                "1. peak RSS flat in N, < 100 MB at 50,000",
                "\(rss) MiB at \(fullSync.map { String($0.streams) }.joined(separator: " / "))",
                met: r.rss < Target.peakRSSMiB, far: String(format: "%.0f MiB over", r.rss - Target.peakRSSMiB))
        }
        if let d = detail.first(where: { $0.concurrency == 32 }) {
            add(
                "2. detail-only >= 60 % of the bare client at concurrency 32", String(format: "%.0f %%", d.share * 100),
                met: d.share >= Target.detailShare, far: String(format: "%.0f points short", (Target.detailShare - d.share) * 100))
        }
        for r in resync where r.changedShare == 0 {
            let misses = r.unchangedMisses
            add(
                "3. unchanged resync of \(r.streams): <= 60 %, 0 versions, < 1 KB per 1,000 streams",
                String(
                    format: "%.0f %%, %d versions, %.0f B per 1,000 streams", r.ratio * 100, r.versionsWritten, r.growthPerThousandStreams),
                met: misses.isEmpty, far: misses.joined(separator: ", "))
        }
        for (name, p) in queries where ["history", "show", "diff"].contains(name) {
            add(
                "4. `\(name)` < 20 ms with process start", "\(ms(p.median)) (process start alone \(ms(processStart.median)))",
                met: p.median < Target.querySeconds, far: "\(ms(p.median - Target.querySeconds)) over")
        }
        if let p = queries.first(where: { $0.0 == "regions --as-of" })?.1 {
            add(
                "4. `regions --as-of` < 300 ms", ms(p.median), met: p.median < Target.asOfSeconds,
                far: "\(ms(p.median - Target.asOfSeconds)) over")
        }
        if let p = queries.first(where: { $0.0 == "uptime 30 days" })?.1 {
            add(
                "4. `uptime` of the whole fleet over 30 days <= 1 s", ms(p.median), met: p.median <= Target.uptimeSeconds,
                far: "\(ms(p.median - Target.uptimeSeconds)) over")
        }
        if let p = queries.first(where: { $0.0 == "events --since 1d" })?.1 {
            add(
                "4. `events --since 1d` <= 200 ms", ms(p.median), met: p.median <= Target.eventsSeconds,
                far: "\(ms(p.median - Target.eventsSeconds)) over")
        }
        for s in storage where s.judged {
            add(
                "5. status-only version < 300 B (\(s.streams) streams, \(s.versions) versions)", String(format: "%.0f B", s.perVersion),
                met: s.perVersion < Target.statusOnlyBytes, far: String(format: "%.0f B over", s.perVersion - Target.statusOnlyBytes))
        }
        if let m = mirror {
            add(
                "6. first publish of the query database <= 60 s", String(format: "%.1f s", m.first.seconds),
                met: m.first.seconds <= Target.firstPublishSeconds,
                far: String(format: "%.1f s over", m.first.seconds - Target.firstPublishSeconds))
            let p = percentiles(m.afterUnchanged)
            add(
                "6. publish after an unchanged sync <= 0.5 s", ms(p.median), met: p.median <= Target.unchangedPublishSeconds,
                far: "\(ms(p.median - Target.unchangedPublishSeconds)) over")
        }
        var out = """

            ## Targets at a glance

            | target | this run | verdict |
            | --- | --- | --- |

            """
        for row in rows { out += "| \(row.target) | \(row.figure) | \(row.verdict) |\n" }
        return out
    }
}
