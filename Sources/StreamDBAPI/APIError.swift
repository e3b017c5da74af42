import Foundation
import StreamDBModel

/// Why a request to the streams API did not give a usable answer.
///
/// Each error has a short ``kind`` (stored in `sync_errors.kind`) and a one-sentence ``message``
/// for people; neither ever contains credentials.
public struct APIError: StreamDBError {
    public enum Reason: Sendable, Equatable {
        /// The server answered with an HTTP status streamdb cannot use here.
        case httpStatus(Int)
        /// 401 or 403: the credentials are missing or refused. Stops the run.
        case unauthorized(Int)
        case timeout
        case connection
        /// Nothing listens at the server's address, or its name does not resolve: retrying in
        /// the next seconds will not help, so the run ends at once.
        case unreachable
        case tls
        case tooLarge
        case malformedBody
        case redirect
        case invalidURL
    }

    public let reason: Reason
    /// One sentence, for the terminal and for `sync_errors.message`.
    public let message: String
    /// The URL requested (it never carries credentials).
    public let url: String
    /// Requests made, retries included.
    public var attempts: Int

    public init(_ reason: Reason, _ message: String, url: String, attempts: Int = 1) {
        self.reason = reason
        self.message = message
        self.url = url
        self.attempts = attempts
    }

    /// What `sync_errors.kind` records: `http_503`, `timeout`, `connection`, ...
    public var kind: ErrorKind {
        switch reason {
        case .httpStatus(let status), .unauthorized(let status): return .http(status)
        case .timeout: return .timeout
        case .connection, .unreachable: return .connection
        case .tls: return .tls
        case .tooLarge: return .tooLarge
        case .malformedBody: return .malformedBody
        case .redirect: return .redirect
        case .invalidURL: return .invalidURL
        }
    }

    /// A request that failed ends the command with status 2.
    public var exitStatus: ExitStatus { .failed }

    public var httpStatus: Int? {
        switch reason {
        case .httpStatus(let status), .unauthorized(let status): return status
        default: return nil
        }
    }

    /// Worth another try: server errors, throttling, timeouts and dropped connections.
    var isRetryable: Bool {
        switch reason {
        case .httpStatus(let status): return status >= 500 || status == 429 || status == 408
        case .timeout, .connection, .malformedBody: return true
        default: return false
        }
    }

}
