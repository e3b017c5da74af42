import ArgumentParser
import Foundation
import Logging
import StreamSim

/// `streamdb-sim`: the streams API simulator as a standalone server.
@main
struct StreamdbSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streamdb-sim",
        abstract: "Serve a simulated analytics streams API (DRF-style) on loopback, for tests, demos and benchmarks.",
        discussion: """
            Routes: GET /api/streams/ (paginated list), GET /api/streams/{job_uid}/ (detail), \
            POST /_sim/tick[?n=K] (evolve the fleet), GET /_sim/stats.
            Fault rates are shares of API requests, 0 to 1.
            """
    )

    @Option(help: "Port to listen on (0 picks a free one and prints it).")
    var port = 8765

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Streams in the fleet.")
    var streams = 1000

    @Option(help: "Seed of the fleet and of its changes.")
    var seed: UInt64 = 42

    @Flag(help: "Make config edits as the platform does: delete the job and create a new job_uid (same camera stream and case type).")
    var replaceOnUpdate = false

    @Option(help: "Require this token (Authorization: Token ... or Bearer ...).")
    var token: String?

    @Option(help: "Items per list page; 0 serves a bare array.")
    var pageSize = 100

    @Flag(help: "Serve no list route (like a server without one).")
    var noList = false

    @Flag(help: "List items carry only id and job_uid, so clients must fetch each detail.")
    var slimList = false

    @Option(help: ArgumentHelp("Serve HTTPS with this PEM certificate (chain).", valueName: "file"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("The PEM private key of --tls-cert.", valueName: "file"))
    var tlsKey: String?

    @Option(help: "Evolve the fleet every this many seconds (0: only on POST /_sim/tick).")
    var tick: Double = 0

    @Option(name: .customLong("fault-5xx"), help: "Share of requests answered 500/502/503/504.")
    var fault5xx = 0.0
    @Option(name: .customLong("fault-429"), help: "Share of requests throttled (429 with Retry-After).")
    var fault429 = 0.0
    @Option(help: "Retry-After seconds sent with 429.")
    var retryAfter = 1
    @Option(help: "Share of slow answers.")
    var faultSlow = 0.0
    @Option(help: "Delay of slow answers, seconds.")
    var slowDelay = 2.0
    @Option(help: "Share of connections closed without an answer.")
    var faultReset = 0.0
    @Option(help: "Share of bodies cut short.")
    var faultTruncate = 0.0
    @Option(help: "Share of bodies that are not valid JSON.")
    var faultMalformed = 0.0
    @Option(help: "Share of HTML pages instead of JSON.")
    var faultHtml = 0.0
    @Option(help: "Share of answers that trickle a byte at a time.")
    var faultTrickle = 0.0
    @Option(help: "Share of answers with a 100 MB body (chunked, no Content-Length).")
    var faultHuge = 0.0

    func run() async throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var options = SimulatorOptions()
        options.token = token
        options.pageSize = pageSize
        options.listRoute = !noList
        options.slimList = slimList
        options.faultSeed = seed
        options.tlsCertificateFile = tlsCert
        options.tlsKeyFile = tlsKey
        options.faults.serverErrorRate = fault5xx
        options.faults.throttleRate = fault429
        options.faults.retryAfterSeconds = retryAfter
        options.faults.slowRate = faultSlow
        options.faults.slowDelay = slowDelay
        options.faults.resetRate = faultReset
        options.faults.truncateRate = faultTruncate
        options.faults.malformedRate = faultMalformed
        options.faults.htmlRate = faultHtml
        options.faults.trickleRate = faultTrickle
        options.faults.hugeRate = faultHuge
        let fleet = Fleet(size: streams, seed: seed, replaceOnUpdate: replaceOnUpdate ? 1 : 0)
        let server = try await SimulatorServer.start(fleet: fleet, host: host, port: port, options: options)
        // Written unbuffered: scripts that start the simulator read this line for the port.
        FileHandle.standardOutput.write(Data("streamdb-sim: \(streams) streams (seed \(seed)) at \(server.baseURL)\n".utf8))
        while true {
            if tick > 0 {
                try await Task.sleep(for: .seconds(tick))
                fleet.tick()
            } else {
                try await Task.sleep(for: .seconds(3600))
            }
        }
    }
}
