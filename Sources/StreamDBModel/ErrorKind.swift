/// What went wrong with one stream, page or request of a sync, as stored in `sync_errors.kind`.
public enum ErrorKind: Sendable, Hashable, CustomStringConvertible {
    /// The server answered with an HTTP status streamdb could not use (`http_503`, `http_401`).
    case http(Int)
    case timeout
    case connection
    case tls
    /// The body was over the size limit.
    case tooLarge
    /// The body was not JSON, or not the JSON the route returns.
    case malformedBody
    /// A redirect to another host or scheme, or too many redirects.
    case redirect
    case invalidURL
    /// A served item that cannot be stored: not an object, no UUID job_uid, no usable status.
    case invalidItem
    /// The detail route answered with another stream's job_uid.
    case uidMismatch
    /// A field of an unexpected type, kept as served.
    case invalidField
    /// A `platform_json` or `binary_json` that is not JSON (kept raw) or not an object.
    case invalidConfig
    /// SQLite refused to store a stream (a constraint, a value it cannot hold).
    case storage
    /// A uid given by the user that is not a UUID.
    case badUID
    /// A list page whose `next` link points back to a page already read.
    case paginationLoop
    /// A job_uid served by two sources: recorded under the first, never moved to the second.
    case sourceConflict

    /// The stored name.
    public var description: String {
        switch self {
        case .http(let status): return "http_\(status)"
        case .timeout: return "timeout"
        case .connection: return "connection"
        case .tls: return "tls"
        case .tooLarge: return "too_large"
        case .malformedBody: return "malformed_body"
        case .redirect: return "redirect"
        case .invalidURL: return "invalid_url"
        case .invalidItem: return "invalid_item"
        case .uidMismatch: return "uid_mismatch"
        case .invalidField: return "invalid_field"
        case .invalidConfig: return "invalid_config"
        case .storage: return "storage"
        case .badUID: return "bad_uid"
        case .paginationLoop: return "pagination_loop"
        case .sourceConflict: return "source_conflict"
        }
    }
}
