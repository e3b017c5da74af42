import Foundation

/// How to reach one analytics server.
public struct APIConfiguration: Sendable {
    /// How the token is sent: DRF `TokenAuthentication` or a bearer token.
    public enum AuthScheme: String, Sendable, CaseIterable {
        case token
        case bearer

        var headerPrefix: String { self == .token ? "Token" : "Bearer" }
    }

    /// The server's base URL, e.g. `https://analytics.example`; streamdb adds `/api/streams/...`.
    public var baseURL: URL
    /// Sent as `Authorization: Token <token>` (or `Bearer`). Never stored, never logged.
    public var token: String?
    public var authScheme: AuthScheme = .token
    /// Skip TLS certificate verification (self-signed deployments).
    public var insecure = false
    /// A PEM file of CA certificates to trust instead of the system's.
    public var caFile: String?
    /// Seconds one request may take, body included.
    public var timeout: Double = 30
    /// Requests per URL before giving up on retryable failures.
    public var maxAttempts = 4
    /// First backoff delay in seconds; it doubles on each retry, with jitter.
    public var retryBaseDelay = 0.5
    /// The longest wait streamdb accepts from a `Retry-After` header, in seconds.
    public var maxRetryWait: Double = 60
    /// Bodies larger than this are refused, in bytes.
    public var maxBodyBytes = 64 * 1024 * 1024

    public init(baseURL: URL) {
        self.baseURL = baseURL
    }

    /// Checks and normalises a user-supplied base URL (`https://host[:port][/prefix]`).
    public static func parseBaseURL(_ text: String) throws -> URL {
        guard var components = URLComponents(string: text.trimmingCharacters(in: .whitespaces)),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = components.host, !host.isEmpty
        else {
            throw APIError(.invalidURL, "'\(text)' is not an http or https URL (expected e.g. https://analytics.example).", url: text)
        }
        if components.user != nil || components.password != nil {
            throw APIError(.invalidURL, "the URL must not carry credentials; use --token or $STREAMDB_TOKEN.", url: "")
        }
        components.query = nil
        components.fragment = nil
        while components.path.hasSuffix("/") { components.path.removeLast() }
        if components.path.hasSuffix("/api/streams") {
            components.path.removeLast("/api/streams".count)
        }
        guard let url = components.url else {
            throw APIError(.invalidURL, "'\(text)' is not a valid URL.", url: text)
        }
        return url
    }

    /// The first page of the list route.
    var listURL: String { baseURL.absoluteString + "/api/streams/?format=json" }

    /// The detail route of one stream. `jobUID` must already be checked to be a UUID.
    func detailURL(_ jobUID: String) -> String {
        baseURL.absoluteString + "/api/streams/\(jobUID)/?format=json"
    }
}

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
