import Foundation

/// A job_uid as the API uses it: a UUID in its usual 8-4-4-4-12 hex spelling, lower-cased.
public enum JobUID {
    /// The canonical spelling of `text`, or nil when it is not a UUID (and must not go into a URL).
    ///
    /// Read byte by byte (every served stream passes here, some twice): surrounding spaces and tabs
    /// are dropped, then exactly 36 bytes of hex digits with hyphens at 8, 13, 18 and 23.
    public static func normalized(_ text: String) -> String? {
        var bytes = Array(text.utf8)
        while let last = bytes.last, last == 0x20 || last == 0x09 { bytes.removeLast() }
        let start = bytes.firstIndex { $0 != 0x20 && $0 != 0x09 } ?? bytes.endIndex
        guard bytes.count - start == 36 else { return nil }
        var out = [UInt8](repeating: 0, count: 36)
        for k in 0..<36 {
            let b = bytes[start + k]
            if k == 8 || k == 13 || k == 18 || k == 23 {
                guard b == UInt8(ascii: "-") else { return nil }
                out[k] = b
            } else {
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"): out[k] = b
                case UInt8(ascii: "A")...UInt8(ascii: "F"): out[k] = b + 0x20
                default: return nil
                }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
