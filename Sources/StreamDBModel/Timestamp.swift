import Foundation

/// The time format of the database: UTC ISO 8601 with microseconds, `2024-02-04T12:15:11.545908Z`.
/// Text order is time order, so SQL can compare and sort the text directly.
public enum Timestamp {
    /// The current time in the database's format.
    public static func now() -> String { format(Date()) }

    public static func format(_ date: Date) -> String {
        let interval = date.timeIntervalSince1970
        var seconds = time_t(interval.rounded(.down))
        var micros = Int(((interval - Double(seconds)) * 1_000_000).rounded())
        if micros >= 1_000_000 {
            seconds += 1
            micros -= 1_000_000
        }
        var parts = tm()
        gmtime_r(&seconds, &parts)
        // "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", without the cost of String(format:) per row.
        var out = [UInt8]()
        out.reserveCapacity(27)
        func digits(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = max(0, value)
            if rest >= divisor * 10 {
                out.append(contentsOf: String(rest / divisor / 10).utf8)
                rest %= divisor * 10
            }
            while divisor > 0 {
                out.append(UInt8(48 + rest / divisor % 10))
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4)
        out.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2)
        out.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2)
        out.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2)
        out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2)
        out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2)
        out.append(UInt8(ascii: "."))
        digits(micros, 6)
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Reads an ISO 8601 time as the API and the database write it: `Z` or an offset, with or
    /// without a fraction. Nil for anything else.
    public static func parse(_ text: String) -> Date? {
        let scalars = Array(text.utf8)
        guard scalars.count >= 19 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                guard index < scalars.count, scalars[index] >= 48, scalars[index] <= 57 else { return nil }
                value = value * 10 + Int(scalars[index] - 48)
            }
            return value
        }
        guard let year = number(0..<4), scalars[4] == UInt8(ascii: "-"), let month = number(5..<7),
            scalars[7] == UInt8(ascii: "-"), let day = number(8..<10),
            scalars[10] == UInt8(ascii: "T") || scalars[10] == UInt8(ascii: " "),
            let hour = number(11..<13), scalars[13] == UInt8(ascii: ":"), let minute = number(14..<16),
            scalars[16] == UInt8(ascii: ":"), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < scalars.count, scalars[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            let start = index
            while index < scalars.count, scalars[index] >= 48, scalars[index] <= 57 {
                fraction += Double(scalars[index] - 48) * scale
                scale /= 10
                index += 1
            }
            if index == start { return nil }
        }
        var offset = 0
        if index < scalars.count {
            switch scalars[index] {
            case UInt8(ascii: "Z"), UInt8(ascii: "z"):
                index += 1
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                let sign = scalars[index] == UInt8(ascii: "-") ? -1 : 1
                guard let h = number(index + 1..<index + 3) else { return nil }
                var m = 0
                var next = index + 3
                if next < scalars.count, scalars[next] == UInt8(ascii: ":") { next += 1 }
                if next + 2 <= scalars.count, let minutes = number(next..<next + 2) {
                    m = minutes
                    next += 2
                }
                offset = sign * (h * 3600 + m * 60)
                index = next
            default:
                return nil
            }
        }
        guard index == scalars.count else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let epoch = timegm(&parts)
        return Date(timeIntervalSince1970: Double(epoch - offset) + fraction)
    }
}
