/// A length of time as a person writes it: a whole number and one of s, m, h, d, w (`90s`, `30m`,
/// `1h`, `2d`, `1w`). The command line's relative times and windows, and the config file's, read it.
public enum DurationInput {
    /// `30m` -> 1800; nil when `text` is not such a length.
    public static func seconds(_ text: String) -> Double? {
        guard let unit = text.last, let count = Int(text.dropLast()), count >= 0 else { return nil }
        let seconds: Double
        switch unit {
        case "s": seconds = 1
        case "m": seconds = 60
        case "h": seconds = 3600
        case "d": seconds = 86_400
        case "w": seconds = 7 * 86_400
        default: return nil
        }
        return Double(count) * seconds
    }
}
