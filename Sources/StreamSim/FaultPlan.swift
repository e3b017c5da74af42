/// Which faults the simulated server injects, as a share of API requests (0...1 each).
public struct FaultPlan: Sendable, Equatable {
    /// 500, 502, 503 or 504 with an HTML page, as the stack in front of Django sends them.
    public var serverErrorRate = 0.0
    /// 429 with `Retry-After`.
    public var throttleRate = 0.0
    /// The `Retry-After` value sent with 429, in seconds.
    public var retryAfterSeconds = 1
    /// Answers delayed by ``slowDelay``.
    public var slowRate = 0.0
    public var slowDelay = 2.0
    /// The connection closed without an answer.
    public var resetRate = 0.0
    /// A 200 whose body stops half way (the connection closes before Content-Length is reached).
    public var truncateRate = 0.0
    /// A 200 whose body is complete HTTP but not valid JSON.
    public var malformedRate = 0.0
    /// A 200 with an HTML page instead of JSON (a proxy's login or maintenance page).
    public var htmlRate = 0.0
    /// A 200 whose body trickles out a few bytes at a time, for ever (slow-loris).
    public var trickleRate = 0.0
    /// A 200 whose body is ``hugeBytes`` long, sent in chunks without a Content-Length, so that a
    /// client has to count what it reads to stop at its own limit.
    public var hugeRate = 0.0
    /// The length of a huge body: 100 MB by default.
    public var hugeBytes = 100_000_000

    public init() {}

    public var isEmpty: Bool { self == FaultPlan() }

    /// One injected fault.
    public enum Fault: String, Sendable, Hashable, CaseIterable {
        case serverError, throttle, slow, reset, truncate, malformed, html, trickle, huge
    }

    /// The fault for a request, given a uniform draw in 0..<1.
    func fault(for draw: Double) -> Fault? {
        var edge = 0.0
        for (rate, fault) in [
            (serverErrorRate, Fault.serverError), (throttleRate, .throttle), (slowRate, .slow),
            (resetRate, .reset), (truncateRate, .truncate), (malformedRate, .malformed),
            (htmlRate, .html), (trickleRate, .trickle), (hugeRate, .huge),
        ] {
            edge += rate
            if draw < edge { return fault }
        }
        return nil
    }
}
