/// A stream's status exactly as the server sent it: an integer (the detail route) or, on servers
/// that send names (`"WORKING"`), a string. The mapping of integers to names is not published, so
/// the raw value is what streamdb stores and compares; names come from the user's labels.
public enum StatusValue: Sendable, Hashable, CustomStringConvertible {
    case int(Int64)
    case text(String)

    /// The raw value as text (`11`, `WORKING`): the key of a status labels file.
    public var description: String {
        switch self {
        case .int(let i): return String(i)
        case .text(let s): return s
        }
    }

    /// The value as JSON (`11`, `"WORKING"`), as it enters a version's content hash.
    public var json: JSONValue {
        switch self {
        case .int(let i): return .int(i)
        case .text(let s): return .string(s)
        }
    }
}
