import Crypto
import Foundation

extension JSONValue {
    /// The canonical text of this value: object keys sorted by their UTF-8 bytes, no whitespace,
    /// integers without a fraction, strings with only the escapes JSON requires.
    ///
    /// Two payloads that differ only in key order, spacing or number spelling have the same
    /// canonical text, so the same hash: that is how streamdb decides that nothing changed.
    public var canonicalText: String {
        String(decoding: canonicalBytes(), as: UTF8.self)
    }

    /// The UTF-8 bytes of ``canonicalText``; with `masking`, every string (and key) is written as
    /// ``CredentialMask/mask(_:)`` returns it (URL secrets replaced), at any depth.
    public func canonicalBytes(masking: CredentialMask? = nil) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        Self.write(self, mask: masking, into: &out)
        return out
    }

    /// Appends ``canonicalText``'s bytes to `out`: many values written into one buffer.
    public func appendCanonical(to out: inout [UInt8]) {
        Self.write(self, mask: nil, into: &out)
    }

    /// Appends a string as canonical JSON (quoted, with only the escapes JSON requires).
    public static func appendCanonical(string: String, to out: inout [UInt8]) {
        writeString(string, into: &out)
    }

    /// ``canonicalBytes(masking:)`` with the standard rules, or none.
    public func canonicalBytes(maskingCredentials: Bool) -> [UInt8] {
        canonicalBytes(masking: maskingCredentials ? .standard : nil)
    }

    /// Appends one member of an object as canonical JSON writes it: the key (masked as a string
    /// is), a colon, the value.
    static func appendCanonicalMember(key: String, value: JSONValue, mask: CredentialMask?, to out: inout [UInt8]) {
        writeString(mask?.mask(key) ?? key, into: &out)
        out.append(UInt8(ascii: ":"))
        write(value, mask: mask, into: &out)
    }

    private static func write(_ value: JSONValue, mask: CredentialMask?, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d): out.append(contentsOf: d.description.utf8)
        case .string(let s): writeString(mask?.mask(s) ?? s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(item, mask: mask, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            var first = true
            for (key, member) in members.sorted(by: { $0.key.utf8Precedes($1.key) }) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                appendCanonicalMember(key: key, value: member, mask: mask, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            // Most strings need no escape at all: copy them whole.
            var start = 0
            for (index, byte) in bytes.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
                start = index + 1
                switch byte {
                case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
                case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
                case UInt8(ascii: "\n"): out.append(contentsOf: #"\n"#.utf8)
                case UInt8(ascii: "\r"): out.append(contentsOf: #"\r"#.utf8)
                case UInt8(ascii: "\t"): out.append(contentsOf: #"\t"#.utf8)
                default:
                    out.append(contentsOf: #"\u00"#.utf8)
                    out.append(hexDigits[Int(byte >> 4)])
                    out.append(hexDigits[Int(byte & 0x0F)])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
        }
        out.append(UInt8(ascii: "\""))
    }
}

private let hexDigits = Array("0123456789abcdef".utf8)

/// Hex SHA-256 of some bytes.
public func sha256Hex(_ bytes: some DataProtocol) -> String {
    hexString(SHA256.hash(data: bytes))
}

/// Lower-case hex of a digest's bytes.
func hexString(_ digest: some Sequence<UInt8>) -> String {
    var hex = [UInt8]()
    hex.reserveCapacity(64)
    for byte in digest {
        hex.append(hexDigits[Int(byte >> 4)])
        hex.append(hexDigits[Int(byte & 0x0F)])
    }
    return String(decoding: hex, as: UTF8.self)
}

/// Hex SHA-256 of a string's UTF-8 bytes.
public func sha256Hex(_ text: String) -> String {
    sha256Hex(Array(text.utf8))
}

extension String {
    /// Whether this string's UTF-8 holds `byte`: memchr over its contiguous storage (a config is
    /// kilobytes of it).
    public func utf8Contains(_ byte: UInt8) -> Bool {
        let fast = utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            guard let base = bytes.baseAddress else { return false }
            return memchr(base, Int32(byte), bytes.count) != nil
        }
        return fast ?? utf8.contains(byte)
    }

    /// Whether this string's UTF-8 bytes sort before `other`'s, byte by byte (the order of
    /// canonical keys and of SQLite's text): one memcmp over contiguous storage instead of the
    /// generic sequence comparison.
    public func utf8Precedes(_ other: String) -> Bool {
        let fast = utf8.withContiguousStorageIfAvailable { a in
            other.utf8.withContiguousStorageIfAvailable { b -> Bool in
                let common = Swift.min(a.count, b.count)
                if common > 0, let x = a.baseAddress, let y = b.baseAddress {
                    let order = memcmp(x, y, common)
                    if order != 0 { return order < 0 }
                }
                return a.count < b.count
            }
        }
        if let result = fast ?? nil { return result }
        return utf8.lexicographicallyPrecedes(other.utf8)
    }
}
