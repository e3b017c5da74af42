import Foundation
import Logging
import StreamDBAPI
import Testing

/// The API layer's own rules, apart from the HTTP exchanges the fault tests cover.
@Suite("Streams API")
struct StreamsAPITests {
    @Test("Retry-After is read as seconds or as an HTTP date; anything else is ignored")
    func retryAfter() throws {
        #expect(StreamsAPI.parseRetryAfter("120") == 120)
        #expect(StreamsAPI.parseRetryAfter(" 5 ") == 5)
        #expect(StreamsAPI.parseRetryAfter("0") == 0)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        let inAMinute = formatter.string(from: Date().addingTimeInterval(60))
        let seconds = try #require(StreamsAPI.parseRetryAfter(inAMinute))
        #expect(seconds > 55 && seconds <= 60)
        let past = try #require(StreamsAPI.parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT"))
        #expect(past < 0)  // the caller clamps it to no wait
        #expect(StreamsAPI.parseRetryAfter("soon") == nil)
        #expect(StreamsAPI.parseRetryAfter("") == nil)
    }

    @Test("A server that accepts the connection and never answers is cut off by --timeout, each attempt, and named a timeout")
    func silentServer() async throws {
        // Headers never come: nothing but the deadline on the whole answer (the client has no
        // read timeout of its own) ends the request.
        let silent = try await PingRecorder(answering: false)
        defer { Task { await silent.stop() } }
        var configuration = APIConfiguration(baseURL: try #require(URL(string: silent.baseURL)))
        configuration.timeout = 0.3
        configuration.maxAttempts = 2
        configuration.retryBaseDelay = 0.01
        let api = try StreamsAPI(configuration: configuration, logger: Logger(label: "test"))
        do {
            _ = try await api.listPage()
            Issue.record("a silent server gave an answer")
        } catch let error as APIError {
            #expect(error.reason == .timeout)
            #expect("\(error)".contains("no complete answer within 0.3 s"), "\(error)")
        }
        await api.shutdown()
        #expect(silent.pings.count == 2, "one request per attempt: \(silent.pings)")
    }
}
