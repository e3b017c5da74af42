import Foundation

/// A JSON value as the API served it, decoded without assumptions about its shape.
///
/// The upstream payloads are loosely typed (config is JSON inside a JSON string, unknown keys are
/// data, a field may arrive with another type), so streamdb decodes into this tree first and reads
/// the fields it knows from there.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Parses a JSON document (see `JSONValue+Parser.swift`). Throws ``JSONValue/ParseError``
    /// with a one-line reason.
    public static func parse(_ data: Data) throws -> JSONValue {
        try parseBytes(data)
    }

    /// Parses JSON held in a string (the API's `platform_json`, `binary_json`).
    public static func parse(_ text: String) throws -> JSONValue {
        // Straight from the string's own UTF-8 storage, without a copy into a Data: every payload
        // embeds two configs as strings (bench/ANALYSIS.md has the cost of the copy).
        var text = text
        return try text.withUTF8 { try parseBytes(UnsafeRawBufferPointer($0)) }
    }

    /// Why a document is not JSON.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// The member `key` of an object; nil for a missing key or a value that is not an object.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// An integer, also from a double that holds a whole number (`11.0`).
    public var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d): return Self.exactInteger(d)
        default: return nil
        }
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The name of the JSON type, for messages ("a string", "an object").
    public var typeDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    static func exactInteger(_ d: Double) -> Int64? {
        // 2^53: beyond it doubles no longer hold every integer, and the spelling is kept as a double.
        guard d.isFinite, d == d.rounded(), abs(d) <= 9_007_199_254_740_992 else { return nil }
        return Int64(d)
    }
}
