import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import StreamDBModel

/// The analytics server's streams API over HTTP: the list route and the detail route.
///
/// Every request retries server errors, throttling (honouring `Retry-After`), timeouts and dropped
/// connections with exponential backoff, a bounded number of times. Redirects are followed only to
/// the same scheme, host and port, so the `Authorization` header never reaches another host.
public final class StreamsAPI: Sendable {
    public let configuration: APIConfiguration
    private let client: HTTPClient
    private let logger: Logger

    public init(configuration: APIConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        var tls = TLSConfiguration.makeClientConfiguration()
        if configuration.insecure {
            tls.certificateVerification = .none
        }
        if let caFile = configuration.caFile {
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw APIError(.tls, "cannot read the CA file '\(caFile)'.", url: configuration.baseURL.absoluteString)
            }
            tls.trustRoots = .file(caFile)
        }
        var http = HTTPClient.Configuration(
            tlsConfiguration: tls,
            redirectConfiguration: .disallow,  // followed by hand, same host only (see `get`)
            // No read timeout: each request's deadline (`whole`) is the same --timeout from its
            // start to its last byte, so a connection silent for that long has already hit it, and
            // an idle-read timer re-armed on every read cost 3 % of a detail-only sync.
            timeout: .init(connect: .seconds(10)),
            decompression: .enabled(limit: .size(configuration.maxBodyBytes))
        )
        http.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        // A connection that cannot be made fails its request at once; streamdb's own retries
        // (`get`) decide what is worth another try, and a refused connection is not.
        http.connectionPool.retryConnectionEstablishment = false
        // No tracing spans: streamdb bootstraps no tracer, and with the default no-op one the
        // client still builds every request's span attributes (4 % of a detail-only sync).
        http.tracing.tracer = nil
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
    }

    /// Closes the connection pool. Call once, when done.
    public func shutdown() async {
        try? await client.shutdown()
    }

    // MARK: - Routes

    /// One page of the list route.
    public enum ListAnswer: Sendable {
        /// Items (checked to be JSON, not yet built: see ``JSONOutline``), the absolute URL of the
        /// next page (nil on the last page or for a bare array), and the envelope's `count` of all
        /// items when the server sends one.
        case page(items: [JSONOutline.Value], next: String?, count: Int?)
        /// The server has no list route (404 or 405): only known or named streams can be synced.
        case unavailable(status: Int)
    }

    /// Fetches one page of the list route; `url` nil means the first page.
    public func listPage(_ url: String? = nil) async throws -> ListAnswer {
        let url = url ?? configuration.listURL
        let response = try await get(url)
        switch response.status {
        case 200:
            // Down to the members of each item: a bare array's items are one level down, a
            // page's two (`results`, then each item).
            let page = try outline(response, url: url, depth: 3).root
            if page.kind == .array {
                let items = page.children
                return .page(items: items, next: nil, count: items.count)
            }
            if let results = page.member("results"), results.kind == .array {
                var next: String?
                switch try page.member("next")?.tree() {
                case .string(let text)?: next = text
                case .null?, nil: next = nil
                case let other?:
                    throw APIError(.malformedBody, "the list page's 'next' is \(other.typeDescription), not a URL.", url: url)
                }
                let count = try page.member("count")?.tree().intValue.map { Int($0) }
                return .page(items: results.children, next: next, count: count)
            }
            throw APIError(.malformedBody, "the list route answered JSON that is neither an array nor a page with 'results'.", url: url)
        case 404, 405:
            return .unavailable(status: response.status)
        default:
            throw unexpected(response, url: url)
        }
    }

    /// The detail route's answer for one stream.
    public enum DetailAnswer: Sendable {
        /// The stream object, checked to be JSON, not yet built (see ``JSONOutline``).
        case found(JSONOutline.Value)
        /// A JSON 404 from the API: the stream does not exist (deleted, or never existed).
        case notFound
    }

    /// Fetches one stream. `jobUID` must be a UUID (see ``JobUID``).
    public func detail(_ jobUID: String) async throws -> DetailAnswer {
        let url = configuration.detailURL(jobUID)
        let response = try await get(url)
        switch response.status {
        case 200:
            return .found(try outline(response, url: url, depth: 1).root)
        case 404:
            // Decide on the status, not the message, but only for the API's own (JSON) 404: an HTML
            // 404 page comes from a proxy or an unknown route, and says nothing about the stream.
            if response.isJSON, (try? JSONValue.parse(response.body)) != nil {
                return .notFound
            }
            throw APIError(
                .httpStatus(404),
                "the server answered 404 with \(response.bodyKind) instead of the API's JSON, so the stream is not taken as gone.", url: url
            )
        default:
            throw unexpected(response, url: url)
        }
    }

    // MARK: - HTTP

    struct Response: Sendable {
        let status: Int
        let headers: HTTPHeaders
        let body: Data

        var isJSON: Bool {
            let type = headers.first(name: "content-type")?.lowercased() ?? ""
            if type.contains("json") { return true }
            if type.contains("html") { return false }
            return body.first(where: { !" \t\r\n".utf8.contains($0) }).map { $0 == UInt8(ascii: "{") || $0 == UInt8(ascii: "[") } ?? false
        }

        var bodyKind: String {
            if body.isEmpty { return "an empty body" }
            let type = headers.first(name: "content-type")?.lowercased() ?? ""
            if type.contains("html") || body.prefix(64).contains(UInt8(ascii: "<")) { return "an HTML page" }
            return "a body that is not JSON"
        }

        /// DRF's `{"detail": "..."}` message, when the body has one.
        var drfDetail: String? {
            guard isJSON, let value = try? JSONValue.parse(body) else { return nil }
            return value["detail"]?.stringValue.map { String($0.prefix(200)) }
        }
    }

    /// The body checked to be JSON, its values recorded `depth` levels down.
    private func outline(_ response: Response, url: String, depth: Int) throws -> JSONOutline {
        do {
            return try JSONOutline(response.body, depth: depth)
        } catch let error as JSONValue.ParseError {
            let what = response.isJSON ? "malformed JSON (\(error.reason))" : response.bodyKind
            throw APIError(.malformedBody, "the server answered \(response.status) with \(what).", url: url)
        }
    }

    private func unexpected(_ response: Response, url: String) -> APIError {
        let detail = response.drfDetail.map { ": \($0)" } ?? " with \(response.bodyKind)"
        switch response.status {
        case 401, 403:
            let hint =
                configuration.token == nil
                ? "no token was given (set $STREAMDB_TOKEN or --token)"
                : "the token was refused (check $STREAMDB_TOKEN or --token, and --auth-scheme)"
            return APIError(
                .unauthorized(response.status), "the server refused access (HTTP \(response.status)\(detail)): \(hint).", url: url)
        default:
            return APIError(.httpStatus(response.status), "the server answered HTTP \(response.status)\(detail).", url: url)
        }
    }

    /// GET with retries and same-host redirects. Returns the first non-retryable answer; throws
    /// when the retries are spent.
    func get(_ url: String) async throws -> Response {
        var attempt = 0
        while true {
            attempt += 1
            do {
                let response = try await getFollowingRedirects(url)
                let retryable = response.status >= 500 || response.status == 429 || response.status == 408
                if !retryable { return response }
                if attempt >= configuration.maxAttempts {
                    var error = unexpected(response, url: url)
                    error.attempts = attempt
                    throw error
                }
                let wait = retryDelay(attempt: attempt, retryAfter: response.headers.first(name: "retry-after"))
                logger.info("HTTP \(response.status), retrying in \(String(format: "%.2f", wait)) s", metadata: ["url": "\(url)"])
                try await Task.sleep(for: .seconds(wait))
            } catch var error as APIError {
                guard error.isRetryable, attempt < configuration.maxAttempts, error.httpStatus == nil else {
                    error.attempts = max(error.attempts, attempt)
                    throw error
                }
                let wait = retryDelay(attempt: attempt, retryAfter: nil)
                logger.info("\(error.message) Retrying in \(String(format: "%.2f", wait)) s", metadata: ["url": "\(url)"])
                try await Task.sleep(for: .seconds(wait))
            }
        }
    }

    private func retryDelay(attempt: Int, retryAfter: String?) -> Double {
        if let retryAfter, let seconds = Self.parseRetryAfter(retryAfter) {
            return min(max(seconds, 0), configuration.maxRetryWait)
        }
        let base = configuration.retryBaseDelay * pow(2, Double(attempt - 1))
        return min(base * Double.random(in: 0.75...1.25), configuration.maxRetryWait)
    }

    /// `Retry-After` as seconds: either a number of seconds or an HTTP date.
    public static func parseRetryAfter(_ value: String) -> Double? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(trimmed) { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: trimmed).map { $0.timeIntervalSinceNow }
    }

    private func getFollowingRedirects(_ start: String) async throws -> Response {
        var url = start
        for _ in 0..<5 {
            let response = try await getOnce(url)
            guard [301, 302, 303, 307, 308].contains(response.status) else { return response }
            guard let location = response.headers.first(name: "location"),
                let target = URL(string: location, relativeTo: URL(string: url))?.absoluteURL,
                let from = URL(string: url)
            else {
                throw APIError(.redirect, "the server answered \(response.status) without a usable Location header.", url: url)
            }
            guard target.scheme == from.scheme, target.host == from.host, target.port == from.port else {
                throw APIError(
                    .redirect,
                    "the server redirected to \(target.scheme ?? "?")://\(target.host ?? "?"), another host or scheme; streamdb does not follow it, so that the token is not sent there.",
                    url: url)
            }
            url = target.absoluteString
        }
        throw APIError(.redirect, "too many redirects.", url: start)
    }

    /// One GET, its whole answer within the timeout (see ``whole(_:client:timeout:maxBody:)``).
    private func getOnce(_ url: String) async throws -> Response {
        var headers = HTTPHeaders()
        headers.add(name: "Accept", value: "application/json")
        headers.add(name: "User-Agent", value: "streamdb/\(StreamDBVersion.current)")
        if let token = configuration.token {
            headers.add(name: "Authorization", value: "\(configuration.authScheme.headerPrefix) \(token)")
        }
        let timeout = configuration.timeout
        let maxBody = configuration.maxBodyBytes
        do {
            let request = try HTTPClient.Request(url: url, method: .GET, headers: headers)
            let response = try await Self.whole(request, client: client, timeout: timeout, maxBody: maxBody)
            let body = response.body.map { Data($0.readableBytesView) } ?? Data()
            return Response(status: Int(response.status.code), headers: response.headers, body: body)
        } catch let error as APIError {
            throw error
        } catch {
            throw Self.classify(error, url: url, timeout: timeout, maxBody: maxBody)
        }
    }

    /// One request's whole answer, head and body, within `timeout` seconds: the client's deadline
    /// (of its delegate API) stays armed until the body is complete, so a server that sends slowly
    /// for ever is cut off. The body is gathered on the connection's event loop, up to `maxBody`
    /// bytes, and only the finished answer comes back to the caller's task. Cancelling the task
    /// cancels the request. Throws the client's errors, which ``classify(_:url:timeout:maxBody:)``
    /// puts in words.
    static func whole(_ request: HTTPClient.Request, client: HTTPClient, timeout: Double, maxBody: Int) async throws -> HTTPClient.Response
    {
        // The accumulator refuses sizes above 4 GiB (a ByteBuffer's limit), which no answer reaches.
        let accumulator = ResponseAccumulator(request: request, maxBodySize: min(maxBody, Int(UInt32.max)))
        let task = client.execute(request: request, delegate: accumulator, deadline: .now() + .nanoseconds(Int64(timeout * 1e9)))
        return try await withTaskCancellationHandler {
            try await task.futureResult.get()
        } onCancel: {
            task.cancel()
        }
    }

    static func classify(_ error: any Error, url: String, timeout: Double, maxBody: Int) -> APIError {
        if (error as? HTTPClientError) == .deadlineExceeded {
            return APIError(.timeout, "no complete answer within \(formatSeconds(timeout)).", url: url)
        }
        if error is ResponseAccumulator.ResponseTooBigError {
            return APIError(.tooLarge, "the answer is larger than \(maxBody / 1_048_576) MiB, the most streamdb reads.", url: url)
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .readTimeout, .connectTimeout, .writeTimeout, .tlsHandshakeTimeout,
                .getConnectionFromPoolTimeout:
                return APIError(.timeout, "the request timed out (\(error)).", url: url)
            case .remoteConnectionClosed:
                return APIError(.connection, "the server closed the connection before the answer was complete.", url: url)
            case .bodyLengthMismatch:
                return APIError(.connection, "the answer was cut short (its length did not match Content-Length).", url: url)
            default:
                break
            }
        }
        if error is NIOSSLError || error is BoringSSLError {
            return APIError(
                .tls, "the TLS handshake failed (\(error)); use --ca-file for a private CA, or --insecure to skip verification.", url: url)
        }
        if let error = error as? HTTPParserError {
            return APIError(.connection, "the answer was not valid HTTP (\(error)).", url: url)
        }
        if let unreachable = unreachable(error, url: url) { return unreachable }
        let text = String(describing: error).replacingOccurrences(of: "\n", with: " ")
        return APIError(.connection, "the request failed: \(text.prefix(200)).", url: url)
    }

    /// A refused connection or a name that does not resolve, in one sentence; nil for other errors.
    private static func unreachable(_ error: any Error, url: String) -> APIError? {
        let components = URLComponents(string: url)
        let host = components?.host ?? "the server"
        let port = components?.port.map(String.init) ?? (components?.scheme == "https" ? "443" : "80")
        var errors: [any Error] = [error]
        if let connection = error as? NIOConnectionError {
            if connection.dnsAError != nil || connection.dnsAAAAError != nil, connection.connectionErrors.isEmpty {
                return APIError(.unreachable, "the host name \(host) does not resolve (DNS).", url: url)
            }
            errors += connection.connectionErrors.map(\.error)
        }
        for error in errors {
            if let io = error as? IOError, io.errnoCode == ECONNREFUSED {
                return APIError(.unreachable, "the connection to \(host):\(port) was refused (nothing is listening there).", url: url)
            }
            if let resolution = error as? SocketAddressError, case .unknown = resolution {
                return APIError(.unreachable, "the host name \(host) does not resolve (DNS).", url: url)
            }
        }
        let text = String(describing: error)
        if text.contains("errno: 111") || text.contains("Connection refused") {
            return APIError(.unreachable, "the connection to \(host):\(port) was refused (nothing is listening there).", url: url)
        }
        return nil
    }
}

private func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? "\(Int(seconds)) s" : String(format: "%.1f s", seconds)
}
