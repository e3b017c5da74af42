import Foundation

/// A JSON document checked by the parser's rules, with where its values stand down to a given
/// depth, without building them.
///
/// A sync is served thousands of stream objects and, in most runs, most of them exactly as the
/// run before. A ``JSONValue`` tree of each costs a string per key and value and a dictionary per
/// object; the outline costs one pass over the bytes and a few integers per value it records. A
/// sync takes each item's ``ServedDigest`` from its bytes here and builds a tree (``Value/tree()``)
/// only for an item it has to normalise.
///
/// The document is accepted exactly when ``JSONValue/parse(_:)-(Data)`` accepts it (the same
/// reader does both; a document it refuses throws the parser's own ``JSONValue/ParseError``), and
/// ``Value/tree()`` of any value is what the parser builds for it there.
public struct JSONOutline: Sendable {
    /// The document as served.
    public let data: Data
    /// Where each recorded value stands, the document itself first; a container's recorded
    /// children are linked from it in order.
    fileprivate let nodes: [Node]

    fileprivate struct Node: Sendable {
        var start: Int32
        var end: Int32 = 0
        /// The member's key as served (quotes included), for a member of an object.
        var keyStart: Int32 = 0
        var keyEnd: Int32 = 0
        var firstChild: Int32 = -1
        var nextSibling: Int32 = -1
        var kind: Kind
        var keyHasEscape = false
    }

    public enum Kind: UInt8, Sendable {
        case null, bool, number, string, array, object
    }

    /// Checks `data` and records its values down to `depth` levels below the document (0: the
    /// document alone; 1: its members or elements too; and so on).
    public init(_ data: Data, depth: Int) throws {
        self.data = data
        var nodes: [Node] = []
        nodes.reserveCapacity(64)
        do {
            try data.withUnsafeBytes { raw in
                var reader = JSONValue.Parser(bytes: raw.bindMemory(to: UInt8.self))
                guard raw.count < Int32.max else { throw reader.error("document too large") }
                reader.skipWhitespace()
                _ = try reader.outlineValue(depth: 0, recording: depth, into: &nodes)
                reader.skipWhitespace()
                guard reader.index == reader.bytes.count else { throw reader.error("unexpected data after the JSON value") }
            }
        } catch let refused as JSONValue.ParseError {
            // The parser's own words for what is wrong (the outline follows its rules to the byte,
            // but a message is best written in one place).
            _ = try JSONValue.parse(data)
            throw refused
        }
        self.nodes = nodes
    }

    /// The document's value.
    public var root: Value { Value(outline: self, node: 0) }

    /// One recorded value of an outline.
    public struct Value: Sendable {
        let outline: JSONOutline
        let node: Int

        private var entry: Node { outline.nodes[node] }

        public var kind: Kind { entry.kind }

        /// Where the value's bytes stand in ``JSONOutline/data``, relative to its start.
        public var byteRange: Range<Int> { Int(entry.start)..<Int(entry.end) }

        /// The value's bytes as served.
        public var data: Data {
            let base = outline.data.startIndex
            return outline.data[(base + byteRange.lowerBound)..<(base + byteRange.upperBound)]
        }

        /// The value as a tree, as the parser builds it.
        public func tree() throws -> JSONValue {
            try JSONValue.parse(data)
        }

        /// The string, for a string value.
        public var string: String? {
            guard kind == .string else { return nil }
            return (try? tree())?.stringValue
        }

        /// The recorded elements of an array or values of an object's members, in order (empty
        /// for another value, and for one deeper than the outline records).
        public var children: [Value] {
            var out: [Value] = []
            var child = entry.firstChild
            while child >= 0 {
                out.append(Value(outline: outline, node: Int(child)))
                child = outline.nodes[Int(child)].nextSibling
            }
            return out
        }

        /// The member `key` of an object, as the parser reads it: the last of a duplicate key wins,
        /// and a key spelt with escapes is the key it spells. Nil for a missing key, for a value that
        /// is not an object, and for an object deeper than the outline records.
        public func member(_ key: String) -> Value? {
            members([key])[0]
        }

        /// The members `keys` of an object, each as ``member(_:)`` reads it, in one pass over the
        /// object's members.
        public func members(_ keys: [String]) -> [Value?] {
            var found = [Value?](repeating: nil, count: keys.count)
            guard kind == .object else { return found }
            let wanted = keys.map { Array($0.utf8) }
            outline.data.withUnsafeBytes { raw in
                var child = entry.firstChild
                while child >= 0 {
                    let node = outline.nodes[Int(child)]
                    for k in wanted.indices where outline.key(of: node, in: raw, is: wanted[k]) {
                        found[k] = Value(outline: outline, node: Int(child))
                    }
                    child = node.nextSibling
                }
            }
            return found
        }
    }

    /// Whether `node`'s key spells `wanted`: its bytes compared in place, or decoded when escaped.
    fileprivate func key(of node: Node, in raw: UnsafeRawBufferPointer, is wanted: [UInt8]) -> Bool {
        // Between the quotes.
        let start = Int(node.keyStart) + 1
        let end = Int(node.keyEnd) - 1
        guard end >= start else { return false }
        if node.keyHasEscape {
            guard case .string(let decoded)? = try? JSONValue.parseBytes(UnsafeRawBufferPointer(rebasing: raw[(start - 1)..<(end + 1)]))
            else { return false }
            return decoded.utf8.elementsEqual(wanted)
        }
        guard end - start == wanted.count else { return false }
        return wanted.withUnsafeBytes { want in
            guard let here = raw.baseAddress, let there = want.baseAddress else { return want.isEmpty }
            return memcmp(here + start, there, want.count) == 0
        }
    }
}

extension JSONValue.Parser {
    /// Reads one value by the rules of ``parseValue(depth:)`` without building it, and records it
    /// (and, while `depth < recording`, its children) in `nodes`. Returns its node's index.
    fileprivate mutating func outlineValue(depth: Int, recording: Int, into nodes: inout [JSONOutline.Node]) throws -> Int {
        guard index < bytes.count else { throw error("unexpected end of data") }
        let me = nodes.count
        nodes.append(JSONOutline.Node(start: Int32(index), kind: Self.kind(of: bytes[index])))
        switch bytes[index] {
        case UInt8(ascii: "{") where depth < recording:
            try outlineContainer(depth: depth + 1, recording: recording, node: me, keyed: true, into: &nodes)
        case UInt8(ascii: "[") where depth < recording:
            try outlineContainer(depth: depth + 1, recording: recording, node: me, keyed: false, into: &nodes)
        default:
            try skipValue(depth: depth)
        }
        nodes[me].end = Int32(index)
        return me
    }

    private static func kind(of first: UInt8) -> JSONOutline.Kind {
        switch first {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        default: return .number
        }
    }

    /// An object's members (`keyed`) or an array's elements, each recorded and linked in order
    /// under `node`.
    private mutating func outlineContainer(
        depth: Int, recording: Int, node: Int, keyed: Bool, into nodes: inout [JSONOutline.Node]
    ) throws {
        let closing = keyed ? UInt8(ascii: "}") : UInt8(ascii: "]")
        if try opens(depth: depth, closing: closing) { return }
        var last = -1
        repeat {
            var key: (start: Int, end: Int, escaped: Bool)?
            if keyed {
                try keyFollows()
                let start = index
                let escaped = try skipString()
                key = (start, index, escaped)
                try colon()
            } else {
                skipWhitespace()
            }
            let child = try outlineValue(depth: depth, recording: recording, into: &nodes)
            if let key {
                nodes[child].keyStart = Int32(key.start)
                nodes[child].keyEnd = Int32(key.end)
                nodes[child].keyHasEscape = key.escaped
            }
            if last < 0 {
                nodes[node].firstChild = Int32(child)
            } else {
                nodes[last].nextSibling = Int32(child)
            }
            last = child
        } while try !closes(closing)
    }

    /// Reads one value by the rules of ``parseValue(depth:)`` without building it.
    mutating func skipValue(depth: Int) throws {
        guard index < bytes.count else { throw error("unexpected end of data") }
        switch bytes[index] {
        case UInt8(ascii: "{"): try skipContainer(depth: depth + 1, keyed: true)
        case UInt8(ascii: "["): try skipContainer(depth: depth + 1, keyed: false)
        case UInt8(ascii: "\""): _ = try skipString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        // The number read as the parser reads it: an integer costs nothing more than its digits,
        // and a number out of range is refused alike.
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try parseNumber()
        default: throw error("unexpected character")
        }
    }

    private mutating func skipContainer(depth: Int, keyed: Bool) throws {
        let closing = keyed ? UInt8(ascii: "}") : UInt8(ascii: "]")
        if try opens(depth: depth, closing: closing) { return }
        repeat {
            if keyed {
                try keyFollows()
                _ = try skipString()
                try colon()
            } else {
                skipWhitespace()
            }
            try skipValue(depth: depth)
        } while try !closes(closing)
    }

    /// Reads a string by the rules of ``parseString()`` without building it; returns whether it
    /// has escapes. Its bytes as served are checked as UTF-8: an escape is ASCII and decodes to
    /// whole scalars, so they are valid UTF-8 exactly when the decoded string is.
    mutating func skipString() throws -> Bool {
        index += 1  // the opening quote
        let start = index
        var escaped = false
        var ascii = true
        while index < bytes.count {
            skipPlainWords()
            guard index < bytes.count else { break }
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                if !ascii, String(validating: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self) == nil {
                    throw error("invalid UTF-8 in a string")
                }
                index += 1
                return escaped
            }
            if b == UInt8(ascii: "\\") {
                escaped = true
                index += 1
                guard index < bytes.count else { throw error("unexpected end of data") }
                let e = bytes[index]
                index += 1
                // An escaped quote or backslash, every few bytes of a config: nothing to decode.
                if e != UInt8(ascii: "\"") && e != UInt8(ascii: "\\") { _ = try escapedScalar(e) }
                continue
            }
            if b < 0x20 { throw error("control character in a string") }
            if b >= 0x80 { ascii = false }
            index += 1
        }
        throw error("unterminated string")
    }

    /// Moves `index` eight bytes at a time over a string's bytes that need no look, to the first
    /// that is a quote, a backslash, a control character or part of a multi-byte character, or to
    /// where fewer than eight bytes are left (those are read one by one).
    @inline(__always)
    mutating func skipPlainWords() {
        guard let base = bytes.baseAddress else { return }
        while index + 8 <= bytes.count {
            let special = Self.specialBytes(UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)))
            if special != 0 {
                index += special.trailingZeroBitCount >> 3
                return
            }
            index += 8
        }
    }

    /// The high bit of each byte of `word` (eight bytes in memory order, little-endian) that is a
    /// quote, a backslash, below 0x20 or above 0x7F: the classic bit tricks, whose lowest set bit
    /// is always exact (a borrow can only mark a byte above a true match).
    @inline(__always)
    private static func specialBytes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        func zeroBytes(_ v: UInt64) -> UInt64 { (v &- ones) & ~v & highs }
        let below20 = (word &- ones &* 0x20) & ~word & highs
        return below20 | (word & highs) | zeroBytes(word ^ (ones &* 0x22)) | zeroBytes(word ^ (ones &* 0x5C))
    }
}
