import Foundation
import StreamDB

/// The figures of one benchmark run, and their Markdown table.
struct Report {
    struct FullSync { let streams: Int; let seconds: Double; let rss: Double; let ceiling: Double }
    struct Resync {
        let streams: Int; let changedShare: Double; let seconds: Double; let firstSeconds: Double; let versionsWritten: Int; let bytesGrown: Int
        /// Unchanged resyncs only: what the file grew in ``laterRuns`` more.
        var laterGrowth: Int?
        /// Unchanged resyncs run after the first one, to see the growth of a run past the page size.
        static let laterRuns = 7
        /// The mean growth of all unchanged resyncs of this row.
        var meanGrowth: Double { Double(bytesGrown + (laterGrowth ?? 0)) / Double(1 + (laterGrowth == nil ? 0 : Self.laterRuns)) }
    }
    struct Detail { let streams: Int; let concurrency: Int; let seconds: Double; let ceiling: Double }
    struct Storage { let kind: String; let streams: Int; let versions: Int; let bytesGrown: Int }

    let binary: String
    var fullSync: [FullSync] = []
    var resync: [Resync] = []
    var detail: [Detail] = []
    var storage: [Storage] = []
    var fileSizes: [(Int, Int)] = []
    var queryDatabase: (streams: Int, versions: Int, buildSeconds: Double, bytes: Int) = (0, 0, 0, 0)
    var processStart: (median: Double, p95: Double) = (0, 0)
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

            | streams | sync | streams/s | peak RSS | bare page loop (ceiling) | sync / ceiling | target: N=10,000 < 0.5 s, RSS < 100 MB |
            | ---: | ---: | ---: | ---: | ---: | ---: | --- |

            """
        for r in fullSync {
            let target = r.streams == 10000 ? mark(r.seconds < 0.5) : (r.streams == 50000 ? mark(r.rss < 100) : "")
            out += "| \(r.streams) | \(sec(r.seconds)) | \(Int(Double(r.streams) / r.seconds)) | \(String(format: "%.0f MiB", r.rss)) | \(sec(r.ceiling)) | \(String(format: "%.1fx", r.seconds / r.ceiling)) | \(target) |\n"
        }
        out += """

            ## 2. Detail-only sync (`--no-list`)

            | streams | concurrency | sync | requests/s | bare client, same concurrency | share of ceiling | target: >= 50 % at 32 |
            | ---: | ---: | ---: | ---: | ---: | ---: | --- |

            """
        for d in detail {
            let share = d.ceiling / d.seconds
            out += "| \(d.streams) | \(d.concurrency) | \(sec(d.seconds)) | \(Int(Double(d.streams) / d.seconds)) | \(sec(d.ceiling)) | \(String(format: "%.0f %%", share * 100)) | \(d.concurrency == 32 ? mark(share >= 0.5) : "") |\n"
        }
        out += """

            ## 3. Resync

            "file grew" is the database file's growth in this resync; for unchanged resyncs the column
            after it is the mean growth of \(Resync.laterRuns) more unchanged resyncs (SQLite grows a file by whole
            4 KiB pages, so one run's growth is 0 or a multiple of 4,096 B; what an unchanged run adds
            is its row in `sync_runs`). The target is judged on the mean of all \(Resync.laterRuns + 1).

            | streams | changed | resync | of first sync | versions written | file grew | then, a run | target: unchanged <= 60 %, 0 versions, < 1 KB per 1,000 |
            | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |

            """
        for r in resync {
            let ratio = r.seconds / r.firstSeconds
            let meanGrowth = r.meanGrowth
            let target = r.changedShare == 0
                ? mark(ratio <= 0.6 && r.versionsWritten == 0 && meanGrowth < Double(r.streams) / 1000 * 1024)
                : ""
            let later = r.laterGrowth.map { "\($0 / Resync.laterRuns) B" } ?? ""
            out += "| \(r.streams) | \(String(format: "%.0f %%", r.changedShare * 100)) | \(sec(r.seconds)) | \(String(format: "%.0f %%", ratio * 100)) | \(r.versionsWritten) | \(r.bytesGrown) B | \(later) | \(target) |\n"
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
            case "history", "show", "diff": target = "< 20 ms: " + mark(p.median < 0.02)
            case "regions --as-of": target = "< 300 ms: " + mark(p.median < 0.3)
            default: target = ""
            }
            out += "| `\(name)` | \(ms(p.median)) | \(ms(p.p95)) | \(ms(max(0, p.median - processStart.median))) | \(target) |\n"
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
            let perVersion = Double(s.bytesGrown) / Double(max(1, s.versions))
            let verdict = !s.kind.hasPrefix("status") ? "" : s.versions < 100 ? "too few versions to judge" : mark(perVersion < 300)
            out += "| \(s.kind) | \(s.streams) | \(s.versions) | \(s.bytesGrown) B | \(Int(perVersion)) | \(verdict) |\n"
        }
        out += "\n| streams | file size after all syncs |\n| ---: | ---: |\n"
        for (n, bytes) in fileSizes {
            out += "| \(n) | \(bytes / 1024) KiB |\n"
        }
        out += targets()
        if let analysis = try? String(contentsOfFile: analysisPath, encoding: .utf8) {
            out += "\n" + analysis
        }
        return out
    }

    /// Each target, this run's figure for it, and how far the figure is from it.
    func targets() -> String {
        func ms(_ s: Double) -> String { String(format: "%.1f ms", s * 1000) }
        var rows: [(target: String, figure: String, verdict: String)] = []
        func add(_ target: String, _ figure: String, met: Bool, far: String) {
            rows.append((target, figure, met ? "met" : "**not met**: " + far))
        }
        if let r = fullSync.first(where: { $0.streams == 10000 }) {
            add("1. first sync of 10,000 streams < 0.5 s", String(format: "%.3f s (%.1fx the bare page loop)", r.seconds, r.seconds / r.ceiling),
                met: r.seconds < 0.5, far: String(format: "%.1f times the target", r.seconds / 0.5))
        }
        if let r = fullSync.max(by: { $0.streams < $1.streams }) {
            let rss = fullSync.map { String(format: "%.0f", $0.rss) }.joined(separator: " / ")
            add("1. peak RSS flat in N, < 100 MB at 50,000", "\(rss) MiB at \(fullSync.map { String($0.streams) }.joined(separator: " / "))",
                met: r.rss < 100, far: String(format: "%.0f MiB over", r.rss - 100))
        }
        if let d = detail.first(where: { $0.concurrency == 32 }) {
            let share = d.ceiling / d.seconds
            add("2. detail-only >= 50 % of the bare client at concurrency 32", String(format: "%.0f %%", share * 100),
                met: share >= 0.5, far: String(format: "%.0f points short", (0.5 - share) * 100))
        }
        for r in resync where r.changedShare == 0 {
            let ratio = r.seconds / r.firstSeconds
            let meanGrowth = r.meanGrowth
            let perThousand = meanGrowth / (Double(r.streams) / 1000)
            var far: [String] = []
            if ratio > 0.6 { far.append(String(format: "%.0f %% of the first sync", ratio * 100)) }
            if r.versionsWritten > 0 { far.append("\(r.versionsWritten) versions") }
            if perThousand >= 1024 { far.append(String(format: "%.0f B per 1,000 streams", perThousand)) }
            add("3. unchanged resync of \(r.streams): <= 60 %, 0 versions, < 1 KB per 1,000 streams",
                String(format: "%.0f %%, %d versions, %.0f B per 1,000 streams", ratio * 100, r.versionsWritten, perThousand),
                met: far.isEmpty, far: far.joined(separator: ", "))
        }
        for (name, p) in queries where ["history", "show", "diff"].contains(name) {
            add("4. `\(name)` < 20 ms with process start", "\(ms(p.median)) (process start alone \(ms(processStart.median)))",
                met: p.median < 0.02, far: "\(ms(p.median - 0.02)) over")
        }
        if let p = queries.first(where: { $0.0 == "regions --as-of" })?.1 {
            add("4. `regions --as-of` < 300 ms", ms(p.median), met: p.median < 0.3, far: "\(ms(p.median - 0.3)) over")
        }
        for s in storage where s.kind.hasPrefix("status") && s.versions >= 100 {
            let perVersion = Double(s.bytesGrown) / Double(s.versions)
            add("5. status-only version < 300 B (\(s.streams) streams, \(s.versions) versions)", String(format: "%.0f B", perVersion),
                met: perVersion < 300, far: String(format: "%.0f B over", perVersion - 300))
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
