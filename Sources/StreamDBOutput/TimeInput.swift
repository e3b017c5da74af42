import Foundation
import StreamDBModel

/// A time as a person types it on the command line: what the tables print, ISO 8601, a date
/// alone, or a time relative to now.
///
/// - `2026-12-01 21:09:29`, `2026-12-01T21:09`, `2026-12-01 21:09:29.5` (read in the given zone)
/// - `2026-12-01T21:09:29Z`, `2026-12-01 21:09:29 +0300`, `...+03:00`, `...+03` (their own offset)
/// - `2026-11-30` (midnight in the given zone)
/// - `30m`, `6h`, `2d`, `1w`, `90s` (that long before now), and `now`
public enum TimeInput {
    /// The time `text` names, or nil when it names none.
    /// - Parameters:
    ///   - zone: the zone of a time written without an offset (`--tz`); UTC when nil.
    ///   - now: the moment relative times count back from.
    public static func parse(_ text: String, zone: TimeZone? = nil, now: Date = Date()) -> Date? {
        let text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.lowercased() == "now" { return now }
        if let seconds = DurationInput.seconds(text) { return now.addingTimeInterval(-seconds) }
        return absolute(text, zone: zone ?? TimeZone(identifier: "UTC")!)
    }

    private static func absolute(_ text: String, zone: TimeZone) -> Date? {
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ width: Int) -> Int? {
            guard index + width <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<index + width] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            index += width
            return value
        }
        func take(_ character: Character) -> Bool {
            guard index < bytes.count, bytes[index] == character.asciiValue! else { return false }
            index += 1
            return true
        }
        var parts = DateComponents()
        guard let year = number(4), take("-"), let month = number(2), take("-"), let day = number(2) else { return nil }
        parts.year = year
        parts.month = month
        parts.day = day
        parts.hour = 0
        parts.minute = 0
        parts.second = 0
        var fraction = 0.0
        if take("T") || take(" ") {
            guard let hour = number(2), take(":"), let minute = number(2) else { return nil }
            parts.hour = hour
            parts.minute = minute
            if take(":") {
                guard let second = number(2) else { return nil }
                parts.second = second
                if take(".") || take(",") {
                    let start = index
                    var scale = 0.1
                    while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                        fraction += Double(bytes[index] - 48) * scale
                        scale /= 10
                        index += 1
                    }
                    if index == start { return nil }
                }
            }
        }
        var offsetZone = zone
        if index < bytes.count {
            _ = take(" ")
            if take("Z") || take("z") {
                offsetZone = TimeZone(secondsFromGMT: 0)!
            } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
                index += 1
                guard let hours = number(2) else { return nil }
                _ = take(":")
                let minutes = index < bytes.count ? number(2) : 0
                guard let minutes, let fixed = TimeZone(secondsFromGMT: sign * (hours * 3600 + minutes * 60)) else { return nil }
                offsetZone = fixed
            }
        }
        guard index == bytes.count else { return nil }
        guard (1...12).contains(month), (1...31).contains(day), parts.hour! < 24, parts.minute! < 60, parts.second! < 61 else {
            return nil
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = offsetZone
        guard let date = calendar.date(from: parts) else { return nil }
        // Calendar rolls 2026-02-31 over to March: a date that does not exist is refused.
        guard calendar.component(.day, from: date) == day else { return nil }
        return date.addingTimeInterval(fraction)
    }
}
