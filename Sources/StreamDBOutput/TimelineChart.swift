import Foundation
import StreamDBModel
import StreamDBQuery

/// `streamdb history --chart`: one bar over a time axis, a shade (and, on a terminal, a colour)
/// per status, and a legend, so an operator sees at a glance when a job was down.
public enum TimelineChart {
    private static let shades: [Character] = ["█", "▒", "░", "▓", "#", "=", "+", "*", "~", "%"]
    private static let colours = [32, 33, 36, 35, 34, 31, 37, 92, 93, 96]

    /// Draws the status intervals of `timeline` between `from` and `to` in `width` columns.
    public static func render(
        _ timeline: StatusTimeline, from: Date, to: Date, width: Int = 60,
        labels: StatusLabels, colour: Bool
    ) -> String {
        let intervals = timeline.entries.filter(\.isInterval).map { entry -> (Date, Date, String) in
            (entry.at, entry.until ?? to, entry.event == .gone ? "gone" : (entry.status?.description ?? "?"))
        }
        guard to > from, !intervals.isEmpty else { return "(nothing to draw in that time range)\n" }
        // Statuses in order of first appearance get the shades; gone is always a dot.
        var order: [String] = []
        for (_, _, state) in intervals where state != "gone" && !order.contains(state) { order.append(state) }
        let span = to.timeIntervalSince(from)
        var bar = ""
        var used = Set<String>()
        for column in 0..<width {
            let a = from.addingTimeInterval(span * Double(column) / Double(width))
            let b = from.addingTimeInterval(span * Double(column + 1) / Double(width))
            // The state that covers most of this column.
            var best: (String, Double)?
            for (start, end, state) in intervals {
                let overlap = min(end, b).timeIntervalSince(max(start, a))
                if overlap > 0, overlap > (best?.1 ?? 0) { best = (state, overlap) }
            }
            guard let state = best?.0 else {
                bar += " "
                continue
            }
            used.insert(state)
            if state == "gone" {
                bar += "·"
                continue
            }
            let index = order.firstIndex(of: state)! % shades.count
            bar += colour ? "\u{1B}[\(colours[index])m\(shades[index])\u{1B}[0m" : String(shades[index])
        }
        let left = DurationText.readable(from)
        let right = DurationText.readable(to)
        let gap = max(1, width + 2 - left.count - right.count)
        var legend = order.filter(used.contains).map { state -> String in
            let index = order.firstIndex(of: state)! % shades.count
            let mark = colour ? "\u{1B}[\(colours[index])m\(shades[index])\u{1B}[0m" : String(shades[index])
            return "\(mark) \(labels.label(state))"
        }
        if used.contains("gone") { legend.append("· gone") }
        return "|\(bar)|\n\(left)\(String(repeating: " ", count: gap))\(right)\n" + legend.joined(separator: "   ") + "\n"
    }
}
