import Foundation

extension JSONValue {
    /// Nesting deeper than this is refused (a hostile body must not exhaust the stack).
    static let maximumDepth = 512

    /// Parses RFC 8259 JSON straight from UTF-8 bytes into a ``JSONValue``.
    ///
    /// A sync parses every stream and its two embedded configs, so this is the hot path: going
    /// through `JSONSerialization` costs a bridge to `NSDictionary` per object, and a `Codable`
    /// decoder a thrown error per value type tried; measured in bench/RESULTS.md. Invalid UTF-8, control
    /// characters in strings, nesting beyond ``maximumDepth`` and trailing bytes are errors.
    /// Duplicate keys: the last one wins. Integers beyond 64 bits become doubles.
    static func parseBytes(_ data: Data) throws -> JSONValue {
        try data.withUnsafeBytes { raw in try parseBytes(raw) }
    }

    static func parseBytes(_ raw: UnsafeRawBufferPointer) throws -> JSONValue {
        var parser = Parser(bytes: raw.bindMemory(to: UInt8.self))
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == parser.bytes.count else {
            throw parser.error("unexpected data after the JSON value")
        }
        return value
    }

    /// The reader behind ``parseBytes(_:)`` and ``JSONOutline``: one set of rules for both.
    struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        func error(_ what: String) -> ParseError {
            ParseError(reason: "\(what) at byte \(index)")
        }

        mutating func skipWhitespace() {
            while index < bytes.count, Self.isWhitespace(bytes[index]) { index += 1 }
        }

        /// JSON's whitespace: space, tab, line feed, carriage return.
        @inline(__always)
        static func isWhitespace(_ b: UInt8) -> Bool {
            b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D
        }

        mutating func parseValue(depth: Int) throws -> JSONValue {
            guard index < bytes.count else { throw error("unexpected end of data") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
            case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"):
                try literal("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try literal("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try literal("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
            default: throw error("unexpected character")
            }
        }

        mutating func literal(_ word: StaticString) throws {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { throw error("unexpected end of data") }
            let expected = UnsafeBufferPointer(start: word.utf8Start, count: count)
            for k in 0..<count where bytes[index + k] != expected[k] {
                throw error("invalid literal")
            }
            index += count
        }

        mutating func parseObject(depth: Int) throws -> JSONValue {
            if try opens(depth: depth, closing: UInt8(ascii: "}")) { return .object([:]) }
            // The members are gathered in order and put into a dictionary of the right size once:
            // a dictionary grown member by member hashes every key again at each resize.
            var pairs: [(String, JSONValue)] = []
            pairs.reserveCapacity(8)
            repeat {
                try keyFollows()
                let key = try parseString()
                try colon()
                pairs.append((key, try parseValue(depth: depth)))
            } while try !closes(UInt8(ascii: "}"))
            return Self.object(pairs)
        }

        /// An object from its members in order (the last of a duplicate key wins).
        static func object(_ pairs: [(String, JSONValue)]) -> JSONValue {
            var members = [String: JSONValue](minimumCapacity: pairs.count)
            for (key, value) in pairs { members[key] = value }
            return .object(members)
        }

        mutating func parseArray(depth: Int) throws -> JSONValue {
            var items: [JSONValue] = []
            if try opens(depth: depth, closing: UInt8(ascii: "]")) { return .array(items) }
            repeat {
                skipWhitespace()
                items.append(try parseValue(depth: depth))
            } while try !closes(UInt8(ascii: "]"))
            return .array(items)
        }

        // The grammar around members and elements, shared by every reader of containers (the
        // parser, the outline and its skipping of values).

        /// Reads a container's opening byte, refusing nesting beyond ``JSONValue/maximumDepth``;
        /// true when the container is empty (its `closing` byte read too).
        @inline(__always)
        mutating func opens(depth: Int, closing: UInt8) throws -> Bool {
            guard depth <= JSONValue.maximumDepth else { throw error("nested too deeply") }
            index += 1
            skipWhitespace()
            guard index < bytes.count, bytes[index] == closing else { return false }
            index += 1
            return true
        }

        /// Before a member: its key's opening quote must come next.
        @inline(__always)
        mutating func keyFollows() throws {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a key") }
        }

        /// After a member's key: the colon, and the space either side of it.
        @inline(__always)
        mutating func colon() throws {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
            index += 1
            skipWhitespace()
        }

        /// After a member or element: true at the container's `closing` byte, false after a comma
        /// (either read).
        @inline(__always)
        mutating func closes(_ closing: UInt8) throws -> Bool {
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of data") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                return false
            }
            if bytes[index] == closing {
                index += 1
                return true
            }
            throw error(closing == UInt8(ascii: "}") ? "expected ',' or '}'" : "expected ',' or ']'")
        }

        mutating func parseString() throws -> String {
            index += 1  // the opening quote
            let start = index
            // Whether every byte taken from the input as it is (not an escape) is ASCII.
            var ascii = true
            // Fast path: no escapes, eight bytes at a time up to the first that is a quote, a
            // backslash, a control character or part of a multi-byte character (as skipString).
            while index < bytes.count {
                skipPlainWords()
                guard index < bytes.count else { break }
                let b = bytes[index]
                if b == UInt8(ascii: "\"") {
                    let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                    index += 1
                    return try string(slice, ascii: ascii)
                }
                if b == UInt8(ascii: "\\") { break }
                if b < 0x20 { throw error("control character in a string") }
                if b >= 0x80 { ascii = false }
                index += 1
            }
            var out = Array(bytes[start..<index])
            out.reserveCapacity(2 * (index - start) + 64)
            while index < bytes.count {
                let b = bytes[index]
                switch b {
                case UInt8(ascii: "\""):
                    index += 1
                    // Escapes decode to whole scalars: only the bytes copied as they are can be
                    // invalid UTF-8.
                    return try out.withUnsafeBufferPointer { try string($0, ascii: ascii) }
                case UInt8(ascii: "\\"):
                    index += 1
                    guard index < bytes.count else { throw error("unexpected end of data") }
                    let e = bytes[index]
                    index += 1
                    let scalar = try escapedScalar(e)
                    if scalar < 0x80 {
                        out.append(UInt8(scalar))
                    } else {
                        out.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
                    }
                default:
                    if b < 0x20 { throw error("control character in a string") }
                    // The run up to the next quote, escape or control character, in one copy (a
                    // config served as a string has an escaped quote every few bytes).
                    var end = index + 1
                    var high = b
                    while end < bytes.count {
                        let c = bytes[end]
                        if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c < 0x20 { break }
                        high |= c
                        end += 1
                    }
                    if high >= 0x80 { ascii = false }
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<end]))
                    index = end
                }
            }
            throw error("unterminated string")
        }

        /// A string's bytes as a `String`, refused when they are not UTF-8. ASCII, which nearly
        /// every string of a payload is, is always valid and is read by the UTF-8 decoder as it is;
        /// the validating initialiser, generic over the encoding, looks its metadata up on every
        /// call (about 4 % of a first sync's samples).
        @inline(__always)
        func string(_ bytes: UnsafeBufferPointer<UInt8>, ascii: Bool) throws -> String {
            if ascii { return String(decoding: bytes, as: UTF8.self) }
            guard let s = String(validating: bytes, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
            return s
        }

        /// The scalar an escape stands for, `e` being the byte after the backslash (already read);
        /// reads the rest of a `\\u` escape, and the low half of a surrogate pair.
        mutating func escapedScalar(_ e: UInt8) throws -> UInt32 {
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): return UInt32(e)
            case UInt8(ascii: "b"): return 0x08
            case UInt8(ascii: "f"): return 0x0C
            case UInt8(ascii: "n"): return 0x0A
            case UInt8(ascii: "r"): return 0x0D
            case UInt8(ascii: "t"): return 0x09
            case UInt8(ascii: "u"):
                let scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw error("unpaired surrogate")
                    }
                    index += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate") }
                    return 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                if (0xDC00...0xDFFF).contains(scalar) { throw error("unpaired surrogate") }
                return scalar
            default:
                throw error("invalid escape")
            }
        }

        mutating func hex4() throws -> UInt32 {
            guard index + 4 <= bytes.count else { throw error("unexpected end of data") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let b = bytes[index]
                let digit: UInt32
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
                default: throw error("invalid \\u escape")
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }

        mutating func parseNumber() throws -> JSONValue {
            let start = index
            var isInteger = true
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number") }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else {
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                isInteger = false
                index += 1
                guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number") }
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                isInteger = false
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number") }
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            // An integer of up to 18 digits fits Int64 whatever its digits: read from the bytes,
            // without a String.
            let digitsStart = bytes[start] == UInt8(ascii: "-") ? start + 1 : start
            if isInteger, index - digitsStart <= 18 {
                var value: Int64 = 0
                for k in digitsStart..<index { value = value &* 10 &+ Int64(bytes[k] &- UInt8(ascii: "0")) }
                return .int(digitsStart == start ? value : -value)
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            if isInteger, let i = Int64(text) { return .int(i) }
            guard let d = Double(text), d.isFinite else { throw error("number out of range") }
            // Number spelling is not content: 496.0 and 4.96e2 are the integer 496.
            return JSONValue.exactInteger(d).map(JSONValue.int) ?? .double(d)
        }

        func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
    }
}
