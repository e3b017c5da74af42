import Foundation
import StreamDBModel

/// Durations and times as the table format shows them.
public enum DurationText {
    /// `3d 4h 12m`, `4h 12m`, `12m 5s`, `5s`: the two largest units.
    public static func format(seconds: Double) -> String {
        var rest = Int(seconds.rounded(.down))
        if rest < 0 { return "-" + format(seconds: -seconds) }
        let days = rest / 86_400
        rest %= 86_400
        let hours = rest / 3600
        rest %= 3600
        let minutes = rest / 60
        let secs = rest % 60
        if days > 0 { return "\(days)d \(hours)h \(minutes)m" }
        if hours > 0 { return "\(hours)h \(minutes)m" }
        if minutes > 0 { return "\(minutes)m \(secs)s" }
        return "\(secs)s"
    }

    /// A time shown to the second, in UTC (`2024-02-04 12:15:11`) or in `zone`
    /// (`2024-02-04 15:15:11 +03`).
    public static func readable(_ date: Date, zone: TimeZone? = nil) -> String {
        if let zone, zone.secondsFromGMT(for: date) != 0 || zone.identifier != "UTC" && zone.identifier != "GMT" {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = zone
            formatter.dateFormat = "yyyy-MM-dd HH:mm:ss xx"
            return formatter.string(from: date)
        }
        // `2026-11-30T12:00:00.000000Z` -> `2026-11-30 12:00:00`, on the bytes (Foundation's
        // replacingOccurrences was a tenth of `history`'s run).
        var bytes = Array(Timestamp.format(date).utf8.prefix(19))
        if bytes.count > 10, bytes[10] == UInt8(ascii: "T") { bytes[10] = UInt8(ascii: " ") }
        return String(decoding: bytes, as: UTF8.self)
    }
}
