import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Pings a dead man's switch the way healthchecks.io does: `URL/start` when a run begins, `URL`
/// when it succeeds, `URL/fail` when it fails, each a POST whose body is the run's one-line
/// summary. A ping is best effort: it has a short deadline, is tried once, and a failure is
/// logged and returned as a sentence, never thrown: it does not change the run's outcome.
public struct HealthcheckPing: Sendable {
    public enum Signal: String, Sendable {
        case start
        case success
        case fail

        /// The URL this signal goes to.
        func url(_ base: URL) -> URL {
            switch self {
            case .start: return base.appending(path: "start")
            case .success: return base
            case .fail: return base.appending(path: "fail")
            }
        }
    }

    public let url: URL
    /// How long one ping may take, connection included.
    public var timeout: TimeInterval

    public init(url: URL, timeout: TimeInterval = 10) {
        self.url = url
        self.timeout = timeout
    }

    /// Sends `signal` with `summary` as its body. Returns nil when the server answered 2xx, else one
    /// sentence saying why the ping failed (it is logged as a warning too).
    @discardableResult
    public func send(_ signal: Signal, summary: String, logger: Logger) async -> String? {
        let target = signal.url(url)
        // The URL's path is the check's secret on healthchecks.io: logs name the host only.
        let shown = "\(target.scheme ?? "http")://\(target.host ?? "?")\(target.port.map { ":\($0)" } ?? "")/..."
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .milliseconds(Int64(timeout * 1000)), read: .milliseconds(Int64(timeout * 1000)))
        configuration.connectionPool.retryConnectionEstablishment = false
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        headers.add(name: "User-Agent", value: "streamdb")
        let problem: String?
        do {
            // The whole ping, body included, within the deadline: a server that accepts the
            // connection and never answers costs `timeout`, not the run.
            let request = try HTTPClient.Request(
                url: target.absoluteString, method: .POST, headers: headers, body: .string(String(summary.prefix(10_000))))
            let status = try await StreamsAPI.whole(request, client: client, timeout: timeout, maxBody: 64 * 1024).status.code
            problem = (200..<300).contains(status) ? nil : "the server answered \(status)"
        } catch {
            let classified = StreamsAPI.classify(error, url: shown, timeout: timeout, maxBody: 64 * 1024)
            if classified.reason == .timeout {
                // Whichever clock ran out (the deadline, or the client's connect or read timeout).
                problem = "no complete answer within \(timeout == timeout.rounded() ? "\(Int(timeout))" : "\(timeout)") s"
            } else {
                problem = classified.message.hasSuffix(".") ? String(classified.message.dropLast()) : classified.message
            }
        }
        try? await client.shutdown()
        guard let problem else { return nil }
        let sentence = "the \(signal.rawValue) ping to \(shown) failed: \(problem) (the run's outcome is unchanged)."
        logger.warning("\(sentence)")
        return sentence
    }
}
