import Foundation
import StreamDBModel
import StreamDBQuery

/// `streamdb history --chart`: one bar over a time axis, a shade (and, on a terminal, a colour)
/// per status, a legend, and the time spent in each status, so an operator sees at a glance when a
/// job was down and for how long.
public enum TimelineChart {
    private static let shades: [Character] = ["█", "▒", "░", "▓", "#", "=", "+", "*", "~", "%"]
    private static let colours = [32, 33, 36, 35, 34, 31, 37, 92, 93, 96]

    /// One stretch of the bar: a status (or `gone`) from `start` to `end`.
    private struct Span {
        let start: Date
        let end: Date
        let state: String
    }

    /// Draws the status intervals of `timeline` between `from` and `to` in `width` columns: the
    /// bar, an axis with a label at each end and in the middle when they fit, the legend, and the
    /// time in each state. The last column always shows the state at `to`, however short.
    public static func render(
        _ timeline: StatusTimeline, from: Date, to: Date, width: Int = 60,
        labels: StatusLabels, colour: Bool, zone: TimeZone? = nil
    ) -> String {
        let spans = timeline.entries.filter(\.isInterval).map { entry in
            Span(start: entry.at, end: entry.until ?? to, state: entry.event == .gone ? "gone" : (entry.status?.description ?? "?"))
        }
        guard to > from, !spans.isEmpty else { return "(nothing to draw in that time range)\n" }
        // Statuses in order of first appearance get the shades; gone is always a dot.
        var order: [String] = []
        for span in spans where span.state != "gone" && !order.contains(span.state) { order.append(span.state) }
        func mark(_ state: String) -> String {
            if state == "gone" { return "·" }
            let index = order.firstIndex(of: state)! % shades.count
            return colour ? "\u{1B}[\(colours[index])m\(shades[index])\u{1B}[0m" : String(shades[index])
        }
        let span = to.timeIntervalSince(from)
        var bar = ""
        for column in 0..<width {
            let a = from.addingTimeInterval(span * Double(column) / Double(width))
            let b = from.addingTimeInterval(span * Double(column + 1) / Double(width))
            // The state that covers most of this column; the last column, the state at `to`.
            let state =
                column == width - 1
                ? (spans.last { $0.start < to && $0.end >= to } ?? majority(spans, a, b)).map(\.state)
                : majority(spans, a, b)?.state
            bar += state.map(mark) ?? " "
        }
        let time = spans.reduce(into: [String: Double]()) { totals, span in
            let overlap = min(span.end, to).timeIntervalSince(max(span.start, from))
            if overlap > 0 { totals[span.state, default: 0] += overlap }
        }
        let states = (order + ["gone"]).filter { time[$0] != nil }
        let legend = states.map { state in
            let name = state == "gone" ? "gone" : labels.label(state)
            let seconds = time[state] ?? 0
            let share = String(format: "%.1f", 100 * seconds / span)
            return "\(mark(state)) \(name) \(DurationText.format(seconds: seconds)) (\(share) %)"
        }
        return "|\(bar)|\n\(axis(from: from, to: to, width: width + 2, zone: zone))\n" + legend.joined(separator: "   ") + "\n"
    }

    /// The span covering most of `a..<b`.
    private static func majority(_ spans: [Span], _ a: Date, _ b: Date) -> Span? {
        var best: (Span, Double)?
        for span in spans {
            let overlap = min(span.end, b).timeIntervalSince(max(span.start, a))
            if overlap > 0, overlap > (best?.1 ?? 0) { best = (span, overlap) }
        }
        return best?.0
    }

    /// `width` columns with the start time at the left, the end at the right, and the middle time
    /// centred when there is room for it.
    private static func axis(from: Date, to: Date, width: Int, zone: TimeZone?) -> String {
        let left = DurationText.readable(from, zone: zone)
        let right = DurationText.readable(to, zone: zone)
        let middle = DurationText.readable(from.addingTimeInterval(to.timeIntervalSince(from) / 2), zone: zone)
        var line = Array(repeating: Character(" "), count: max(width, left.count + right.count + 1))
        func put(_ text: String, at start: Int) {
            for (offset, character) in text.enumerated() where start + offset < line.count { line[start + offset] = character }
        }
        put(left, at: 0)
        put(right, at: line.count - right.count)
        let middleStart = line.count / 2 - middle.count / 2
        if middleStart >= left.count + 2, middleStart + middle.count + 2 <= line.count - right.count {
            put(middle, at: middleStart)
        }
        return String(line)
    }
}
