import Foundation
import Mustache
import StreamDBModel
import StreamDBQuery

/// `streamdb report --html`: a ``FleetReport`` as one self-contained HTML page: inline CSS and
/// SVG, no script, font, image or link to fetch, so that it opens from disk or an e-mail. Rendered
/// by swift-mustache from ``HTMLReport/template``, which escapes every value taken from the
/// database; the numbers and colours are computed here.
public struct HTMLReport: Sendable {
    /// The width of a timeline's SVG, in CSS pixels.
    public static let timelineWidth = 960.0
    /// Its height; the bars fill `barTop` to `barTop + barHeight`.
    public static let timelineHeight = 34.0
    public static let barTop = 8.0
    public static let barHeight = 16.0

    public let report: FleetReport
    public let labels: StatusLabels
    public let zone: TimeZone?

    public init(_ report: FleetReport, labels: StatusLabels, zone: TimeZone?) {
        self.report = report
        self.labels = labels
        self.zone = zone
    }

    /// The page.
    public func rendered() throws -> String {
        try Self.compiled().render(page())
    }

    private static func compiled() throws -> MustacheTemplate {
        do {
            return try MustacheTemplate(string: template)
        } catch {
            throw OutputError("the report's template does not compile (a bug in streamdb): \(error).")
        }
    }

    // MARK: The page's values

    struct Page {
        let title: String
        let window: String
        let generated: String
        let filters: String
        let sources: [SourceView]
        let regions: [RegionView]
        let hasRegions: Bool
        let legend: [LegendItem]
        let streams: [StreamView]
        let streamsNote: String
        let changes: [ChangeView]
        let changesNote: String
        let hasChanges: Bool
        let width: String
        let height: String
    }

    struct SourceView {
        let name: String
        let url: String
        let lastSuccess: String
        let lastRun: String
        let stale: Bool
    }

    struct RegionView {
        let name: String
        let streams: Int
        let byStatus: [StatusCount]
        let availability: String
        let outages: String
        let flapping: String
    }

    struct StatusCount {
        let name: String
        let count: Int
        let colour: String
    }

    struct LegendItem {
        let name: String
        let colour: String
        let marker: Bool
        let symbol: String
    }

    struct StreamView {
        let anchor: String
        let jobUID: String
        let caption: String
        let availability: String
        let outages: Int
        let flapping: Bool
        let bars: [Bar]
        let markers: [Marker]
        let ticks: [Tick]
    }

    struct Bar {
        let x: String
        let width: String
        let colour: String
        let kind: String
        let title: String
    }

    struct Marker {
        let path: String
        let kind: String
        let title: String
    }

    struct Tick {
        let x: String
        let label: String
        /// start, middle or end: the first and last labels stay inside the drawing.
        let anchor: String
    }

    struct ChangeView {
        let at: String
        let jobUID: String
        let paths: String
        let regions: String
    }

    private func time(_ date: Date?) -> String {
        date.map { DurationText.readable($0, zone: zone) } ?? "never"
    }

    private func percent(_ share: Double?) -> String {
        share.map { String(format: "%.2f %%", $0 * 100) } ?? "not observed"
    }

    private func page() -> Page {
        let filter = report.filter
        let colours = colourTable()
        let streams = report.streams.enumerated().map { index, stream in streamView(stream, index: index + 1, colours: colours) }
        let shown = report.streams.count
        let leftOut = report.streamsInWindow - shown
        var filters: [String] = []
        if let region = filter.region { filters.append("region \(region)") }
        if let source = filter.source { filters.append("source \(source)") }
        if let caseType = filter.caseType { filters.append("case type \(caseType)") }
        let up = filter.up.sorted().map { labels.label($0) }.joined(separator: ", ")
        return Page(
            title: "streamdb: the fleet from \(time(filter.since)) to \(time(filter.until))",
            window:
                "\(time(filter.since)) to \(time(filter.until)) (\(DurationText.format(seconds: filter.until.timeIntervalSince(filter.since))))",
            generated: time(report.generatedAt),
            filters: (filters.isEmpty ? "all streams" : filters.joined(separator: ", ")) + "; up: \(up)",
            sources: report.sources.map { source in
                SourceView(
                    name: source.name, url: source.baseURL, lastSuccess: time(source.lastSuccessAt),
                    lastRun: source.lastRunAt.map { "\(time($0)), \(source.lastOutcome ?? "?")" } ?? "never",
                    stale: source.lastSuccessAt.map { report.generatedAt.timeIntervalSince($0) > 86_400 } ?? true)
            },
            regions: report.regions.map { region in
                RegionView(
                    name: region.name, streams: region.streams,
                    byStatus: region.byStatus.map { entry in
                        StatusCount(
                            name: entry.status.map { labels.label($0) } ?? "gone", count: entry.count,
                            colour: entry.status.map { colours[$0.description] ?? StatusPalette.gone } ?? StatusPalette.gone)
                    },
                    availability: percent(region.uptime?.availability),
                    outages: region.uptime.map { String($0.outages) } ?? "",
                    flapping: region.uptime.map { String($0.flappingStreams) } ?? "")
            },
            hasRegions: !report.regions.isEmpty,
            legend: legend(colours: colours),
            streams: streams,
            streamsNote: report.streamsInWindow == 0
                ? "No stream was observed in this window."
                : "\(shown) of \(report.streamsInWindow) streams drawn: the \(report.flappingStreams) flapping first (\(filter.flapRule.minChanges)+ status changes within \(DurationText.format(seconds: filter.flapRule.window))), then the least available."
                    + (leftOut > 0 ? " \(leftOut) more are left out; --streams N draws more." : ""),
            changes: report.configChanges.map { event in
                ChangeView(
                    at: time(event.at), jobUID: event.jobUID, paths: event.paths.joined(separator: ", "),
                    regions: event.regions.joined(separator: ", "))
            },
            changesNote: report.configChangesInWindow > report.configChanges.count
                ? "The latest \(report.configChanges.count) of \(report.configChangesInWindow) config changes; `streamdb events --kind config` lists them all."
                : "\(report.configChangesInWindow) config changes in the window.",
            hasChanges: !report.configChanges.isEmpty,
            width: Self.format(Self.timelineWidth), height: Self.format(Self.timelineHeight))
    }

    /// Every status shown gets its colour once, for the whole page.
    private func colourTable() -> [String: String] {
        var statuses = Set<StatusValue>()
        for stream in report.streams {
            for entry in stream.timeline.entries { if let status = entry.status { statuses.insert(status) } }
        }
        for region in report.regions { for entry in region.byStatus { if let status = entry.status { statuses.insert(status) } } }
        var table: [String: String] = [:]
        var used = Set<String>()
        var others = 0
        // Named statuses first, so that WORKING and DOWN keep their colours whatever else is shown;
        // a second status of a kind (PAUSE beside IN_PAUSE) takes one of the others.
        let ordered = statuses.sorted { a, b in
            let (na, nb) = (StatusPalette.isNamed(labels.names[a.description]), StatusPalette.isNamed(labels.names[b.description]))
            return na != nb ? na : a.description < b.description
        }
        for status in ordered {
            var colour = StatusPalette.colour(name: labels.names[status.description], index: others)
            if used.contains(colour) || !StatusPalette.isNamed(labels.names[status.description]) {
                colour = StatusPalette.colour(name: nil, index: others)
                others += 1
            }
            used.insert(colour)
            table[status.description] = colour
        }
        return table
    }

    private func legend(colours: [String: String]) -> [LegendItem] {
        var items = colours.sorted { $0.key < $1.key }.map { key, colour in
            LegendItem(name: labels.label(key), colour: colour, marker: false, symbol: "")
        }
        items.append(LegendItem(name: "gone (404)", colour: StatusPalette.gone, marker: false, symbol: ""))
        items += [
            LegendItem(name: "config change", colour: "#000000", marker: true, symbol: "◆"),
            LegendItem(name: "regions changed", colour: "#555555", marker: true, symbol: "■"),
            LegendItem(name: "replaced (a new job_uid)", colour: "#000000", marker: true, symbol: "✕"),
            LegendItem(name: "gone", colour: "#000000", marker: true, symbol: "▼"),
            LegendItem(name: "back", colour: "#000000", marker: true, symbol: "▲"),
        ]
        return items
    }

    private static func format(_ value: Double) -> String { String(format: "%.2f", value) }

    /// One stream's bars (clipped to the window), its markers and the axis's ticks.
    private func streamView(_ stream: FleetReport.Stream, index: Int, colours: [String: String]) -> StreamView {
        let since = report.filter.since
        let until = report.filter.until
        let span = until.timeIntervalSince(since)
        let now = report.generatedAt
        func x(_ date: Date) -> Double { max(0, min(1, date.timeIntervalSince(since) / span)) * Self.timelineWidth }
        var bars: [Bar] = []
        var markers: [Marker] = []
        for entry in stream.timeline.entries {
            if entry.isInterval {
                let end = entry.until ?? min(now, until)
                let (left, right) = (x(entry.at), x(end))
                guard right > left else { continue }
                let name = entry.status.map { labels.label($0) } ?? "gone"
                let title =
                    "\(name) from \(time(entry.at)) to \(entry.until.map { time($0) } ?? "now") (\(DurationText.format(seconds: end.timeIntervalSince(entry.at))))"
                let colour = entry.status.map { colours[$0.description] ?? StatusPalette.gone } ?? StatusPalette.gone
                // Intervals under a fifth of a pixel join the bar before them: a timeline costs at
                // most a few thousand rects, whatever the number of changes.
                if right - left < 0.2, let last = bars.last {
                    bars[bars.count - 1] = Bar(
                        x: last.x, width: Self.format(right - (Double(last.x) ?? left)), colour: last.colour, kind: last.kind,
                        title: last.title)
                } else {
                    bars.append(
                        Bar(
                            x: Self.format(left), width: Self.format(right - left), colour: colour,
                            kind: entry.status == nil ? "gone" : "status", title: title))
                }
                if entry.event == .gone || entry.event == .back, entry.at >= since {
                    markers.append(
                        marker(
                            at: x(entry.at), kind: entry.event == .gone ? "gone" : "back",
                            title: "\(entry.event.rawValue) at \(time(entry.at))"))
                }
            } else if entry.at >= since, entry.at <= until {
                switch entry.event {
                case .config:
                    markers.append(
                        marker(
                            at: x(entry.at), kind: "config", title: "config changed at \(time(entry.at)) (version \(entry.version ?? 0))"))
                case .regions:
                    markers.append(
                        marker(
                            at: x(entry.at), kind: "regions",
                            title:
                                "regions \(entry.regionsBefore.joined(separator: ", ")) -> \(entry.regionsAfter.joined(separator: ", ")) at \(time(entry.at))"
                        ))
                default: break
                }
            }
        }
        if let at = stream.replacedAt {
            markers.append(marker(at: x(at), kind: "replaced", title: "replaced by \(stream.replacedBy ?? "?") at \(time(at))"))
        }
        let ticks = (0...4).map { step -> Tick in
            let date = since.addingTimeInterval(span * Double(step) / 4)
            return Tick(x: Self.format(x(date)), label: time(date), anchor: step == 0 ? "start" : step == 4 ? "end" : "middle")
        }
        var caption = [stream.caseType ?? "unknown case type"]
        if !stream.regions.isEmpty { caption.append(stream.regions.joined(separator: ", ")) }
        if let source = stream.source, report.sources.count > 1 { caption.append(source) }
        return StreamView(
            anchor: "s-\(index)", jobUID: stream.jobUID, caption: caption.joined(separator: " · "),
            availability: percent(stream.uptime.availability), outages: stream.uptime.outages, flapping: stream.uptime.flapping,
            bars: bars, markers: markers, ticks: ticks)
    }

    /// A marker above the bar: a small shape per kind.
    private func marker(at x: Double, kind: String, title: String) -> Marker {
        let top = Self.barTop
        let path: String
        switch kind {
        case "config": path = "M\(Self.format(x)) \(Self.format(top - 7))l3.5 3.5l-3.5 3.5l-3.5 -3.5z"
        case "regions": path = "M\(Self.format(x - 3)) \(Self.format(top - 7))h6v6h-6z"
        case "replaced":
            path = "M\(Self.format(x - 3.5)) \(Self.format(top - 7))l7 7m0 -7l-7 7"
        case "gone": path = "M\(Self.format(x - 4)) \(Self.format(top - 7))h8l-4 6z"
        default: path = "M\(Self.format(x - 4)) \(Self.format(top - 1))h8l-4 -6z"
        }
        return Marker(path: path, kind: kind, title: title)
    }
}
