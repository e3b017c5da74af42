import Foundation
import StreamDBModel

/// Hex text and the bytes it spells: content hashes are computed as hex, and stored in `versions`
/// as their 32 bytes.
enum HexBytes {
    /// The bytes of an even-length string of hex digits (either case); nil for anything else.
    static func decode(_ hex: String) -> [UInt8]? {
        var hex = hex
        return hex.withUTF8 { digits -> [UInt8]? in
            guard digits.count % 2 == 0 else { return nil }
            var valid = true
            let bytes = [UInt8](unsafeUninitializedCapacity: digits.count / 2) { buffer, count in
                for index in 0..<digits.count / 2 {
                    guard let high = value(digits[2 * index]), let low = value(digits[2 * index + 1]) else {
                        valid = false
                        break
                    }
                    buffer[index] = high << 4 | low
                    count = index + 1
                }
            }
            return valid ? bytes : nil
        }
    }

    private static func value(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
