import Foundation
import StreamDBModel

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
    public var listURL: String { baseURL.absoluteString + "/api/streams/?format=json" }

    /// The detail route of one stream. `jobUID` must already be checked to be a UUID.
    public func detailURL(_ jobUID: String) -> String {
        baseURL.absoluteString + "/api/streams/\(jobUID)/?format=json"
    }
}
