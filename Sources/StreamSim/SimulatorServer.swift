import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// How the simulated server behaves.
public struct SimulatorOptions: Sendable {
    /// Required token (`Authorization: Token <t>` or `Bearer <t>`); nil serves without auth.
    public var token: String?
    /// Items per list page (DRF PageNumberPagination); 0 serves the list as a bare array.
    public var pageSize = 100
    /// Serve the list route; false answers it with Django's HTML 404, like a server without it.
    public var listRoute = true
    /// List items carry only `id` and `job_uid` (a list serializer lighter than the detail one).
    public var slimList = false
    public var faults = FaultPlan()
    /// Seed for the fault draws.
    public var faultSeed: UInt64 = 1
    /// Serve HTTPS with this PEM certificate chain and key (deployments use self-signed ones).
    public var tlsCertificateFile: String?
    public var tlsKeyFile: String?
    /// Answer every API request with a 302 to this origin (`https://other:8443`), to test that
    /// clients do not follow it with their credentials.
    public var redirectAPITo: String?
    /// Serve these bytes, exactly as given, as the detail answer (200, JSON) of these job_uids
    /// instead of the fleet's: hostile payloads, for tests.
    public var detailBodies: [String: [UInt8]] = [:]
    /// List pages (1 is the first) answered with a 500 error page every time, for tests of a
    /// listing that fails part way.
    public var failingListPages: Set<Int> = []
    /// Keep the job_uid of every detail request, in the order they arrived (see
    /// ``SimulatorServer/detailRequests``), for tests of the order a sync asks in. Off by default:
    /// a long-running simulator would keep them all.
    public var recordDetailRequests = false

    public init() {}
}

/// The streams API served over real HTTP on loopback, from a ``Fleet``: the DRF list route
/// (paginated, bare array, or absent), the detail route, DRF's 404 and auth bodies, Django's 301
/// for a missing trailing slash, a control route, and injected faults.
///
/// Routes: `GET /api/streams/`, `GET /api/streams/{job_uid}/`, `POST /_sim/tick` (one tick, or
/// `?n=K`), `GET /_sim/stats`.
public final class SimulatorServer: Sendable {
    public let fleet: Fleet
    public let port: Int
    public let host: String
    private let channel: any Channel
    private let shared: Shared

    private let scheme: String

    /// `http://127.0.0.1:PORT` (or https), the base URL to give `streamdb sync --url`.
    public var baseURL: String { "\(scheme)://\(host):\(port)" }

    /// Requests answered so far (API routes), for tests and benchmarks.
    public var requestCount: Int { shared.requests.withLockedValue { $0 } }

    /// How many times each fault has been injected since the server started: tests assert that
    /// the faults they ask for really happened.
    public var injectedFaults: [FaultPlan.Fault: Int] { shared.injected.withLockedValue { $0 } }

    /// The job_uids of the detail requests so far, in the order they arrived, as sent; empty unless
    /// ``SimulatorOptions/recordDetailRequests`` is on.
    public var detailRequests: [String] { shared.detailLog.withLockedValue { $0 } }

    /// Changes the injected faults while the server runs.
    public func setFaults(_ faults: FaultPlan) { shared.options.withLockedValue { $0.faults = faults } }

    /// Changes the behaviour while the server runs.
    public func setOptions(_ change: @Sendable (inout SimulatorOptions) -> Void) {
        shared.options.withLockedValue { change(&$0) }
    }

    final class Shared: Sendable {
        let fleet: Fleet
        let options: NIOLockedValueBox<SimulatorOptions>
        let random: NIOLockedValueBox<SimRandom>
        let requests = NIOLockedValueBox(0)
        let detailLog = NIOLockedValueBox([String]())
        let injected = NIOLockedValueBox([FaultPlan.Fault: Int]())
        let logger: Logger

        init(fleet: Fleet, options: SimulatorOptions, logger: Logger) {
            self.fleet = fleet
            self.options = NIOLockedValueBox(options)
            self.random = NIOLockedValueBox(SimRandom(seed: options.faultSeed))
            self.logger = logger
        }
    }

    private init(fleet: Fleet, host: String, port: Int, scheme: String, channel: any Channel, shared: Shared) {
        self.scheme = scheme
        self.fleet = fleet
        self.host = host
        self.port = port
        self.channel = channel
        self.shared = shared
    }

    /// Starts serving on `host:port` (port 0 picks a free one; see ``port``).
    public static func start(
        fleet: Fleet, host: String = "127.0.0.1", port: Int = 0, options: SimulatorOptions = SimulatorOptions(),
        logger: Logger = Logger(label: "streamdb-sim")
    ) async throws -> SimulatorServer {
        let shared = Shared(fleet: fleet, options: options, logger: logger)
        let tls: NIOSSLContext?
        if let certificate = options.tlsCertificateFile, let key = options.tlsKeyFile {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
            let privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
            tls = try NIOSSLContext(
                configuration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(privateKey)))
        } else {
            tls = nil
        }
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(RequestHandler(shared: shared))
                }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        let boundPort = channel.localAddress?.port ?? port
        return SimulatorServer(
            fleet: fleet, host: host, port: boundPort, scheme: tls == nil ? "http" : "https",
            channel: channel, shared: shared)
    }

    /// Stops accepting connections and closes the listening socket.
    public func stop() async {
        try? await channel.close()
    }
}

/// Answers one request at a time per connection (HTTP/1.1 keep-alive).
private final class RequestHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let shared: SimulatorServer.Shared
    private let head = NIOLockedValueBox<HTTPRequestHead?>(nil)

    init(shared: SimulatorServer.Shared) { self.shared = shared }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head.withLockedValue { $0 = h }
        case .body: break
        case .end:
            guard let request = head.withLockedValue({ $0 }) else { return }
            respond(to: request, context: context)
        }
    }

    struct Answer {
        var status: HTTPResponseStatus
        /// The body's bytes, which need not be UTF-8 (see ``SimulatorOptions/detailBodies``).
        var body: [UInt8]
        var headers: [(String, String)]
        var contentType: String

        init(status: HTTPResponseStatus, body: String, headers: [(String, String)] = [], contentType: String = "application/json") {
            self.init(status: status, bytes: Array(body.utf8), headers: headers, contentType: contentType)
        }

        init(status: HTTPResponseStatus, bytes: [UInt8], headers: [(String, String)] = [], contentType: String = "application/json") {
            self.status = status
            self.body = bytes
            self.headers = headers
            self.contentType = contentType
        }
    }

    private func respond(to request: HTTPRequestHead, context: ChannelHandlerContext) {
        let keepAlive = request.isKeepAlive
        let (path, query) = split(request.uri)
        let options = shared.options.withLockedValue { $0 }
        let isAPI = path.hasPrefix("/api/")
        var answer = route(request, path: path, query: query, options: options)

        guard isAPI else {
            send(answer, keepAlive: keepAlive, context: context)
            return
        }
        shared.requests.withLockedValue { $0 += 1 }
        let fault = options.faults.isEmpty ? nil : options.faults.fault(for: shared.random.withLockedValue { $0.unit() })
        if let fault { shared.injected.withLockedValue { $0[fault, default: 0] += 1 } }
        switch fault {
        case nil:
            send(answer, keepAlive: keepAlive, context: context)
        case .serverError?:
            let status = shared.random.withLockedValue { $0.pick([500, 502, 503, 504]) }
            send(htmlError(status), keepAlive: keepAlive, context: context)
        case .throttle?:
            let wait = options.faults.retryAfterSeconds
            send(
                Answer(
                    status: .tooManyRequests,
                    body: "{\"detail\": \"Request was throttled. Expected available in \(wait) seconds.\"}",
                    headers: [("Retry-After", String(wait))]), keepAlive: keepAlive, context: context)
        case .slow?:
            let channel = context.channel
            let loop = context.eventLoop
            let bound = NIOLoopBound(context, eventLoop: loop)
            let delayed = answer
            loop.scheduleTask(in: .milliseconds(Int64(options.faults.slowDelay * 1000))) {
                guard channel.isActive else { return }
                self.send(delayed, keepAlive: keepAlive, context: bound.value)
            }
        case .reset?:
            context.close(promise: nil)
        case .truncate?:
            var headers = HTTPHeaders([("Content-Type", answer.contentType), ("Content-Length", String(answer.body.count))])
            headers.add(name: "Connection", value: "close")
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: answer.status, headers: headers))), promise: nil)
            let half = answer.body.prefix(answer.body.count / 2)
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: half)))), promise: nil)
            context.close(promise: nil)
        case .malformed?:
            answer.body = Array(answer.body.dropLast(answer.body.count / 3)) + Array(",}".utf8)
            send(answer, keepAlive: keepAlive, context: context)
        case .html?:
            send(
                Answer(
                    status: .ok,
                    body: "<!DOCTYPE html><html><head><title>Sign in</title></head><body><form>Please sign in</form></body></html>",
                    contentType: "text/html; charset=utf-8"), keepAlive: keepAlive, context: context)
        case .trickle?:
            trickle(answer, context: context)
        case .huge?:
            huge(bytes: options.faults.hugeBytes, context: context)
        }
    }

    private func route(_ request: HTTPRequestHead, path: String, query: [String: String], options: SimulatorOptions) -> Answer {
        if path.hasPrefix("/_sim/") {
            switch (request.method, path) {
            case (.POST, "/_sim/tick"):
                let n = max(1, Int(query["n"] ?? "1") ?? 1)
                var total = Fleet.TickSummary()
                for _ in 0..<n {
                    let s = shared.fleet.tick()
                    total.statusChanges += s.statusChanges
                    total.configEdits += s.configEdits
                    total.regionMoves += s.regionMoves
                    total.touches += s.touches
                    total.created += s.created
                    total.deleted += s.deleted
                    total.restored += s.restored
                }
                let body = (try? String(decoding: JSONEncoder().encode(total), as: UTF8.self)) ?? "{}"
                return Answer(status: .ok, body: body)
            case (.GET, "/_sim/stats"):
                let live = shared.fleet.liveStreams.count
                return Answer(
                    status: .ok,
                    body:
                        "{\"live_streams\": \(live), \"ticks\": \(shared.fleet.ticks), \"requests\": \(shared.requests.withLockedValue { $0 })}"
                )
            default:
                return htmlError(404)
            }
        }
        guard path.hasPrefix("/api/") else { return htmlError(404) }
        if let origin = options.redirectAPITo {
            return Answer(status: .found, body: "", headers: [("Location", origin + request.uri)], contentType: "text/html; charset=utf-8")
        }
        // Django's APPEND_SLASH: a GET without the trailing slash is redirected to it.
        if !path.hasSuffix("/") {
            let location = path + "/" + (request.uri.firstIndex(of: "?").map { String(request.uri[$0...]) } ?? "")
            return Answer(status: .movedPermanently, body: "", headers: [("Location", location)], contentType: "text/html; charset=utf-8")
        }
        if let token = options.token {
            let given = request.headers.first(name: "authorization")
            if given == nil {
                return Answer(
                    status: .unauthorized, body: "{\"detail\": \"Authentication credentials were not provided.\"}",
                    headers: [("WWW-Authenticate", "Token")])
            }
            if given != "Token \(token)" && given != "Bearer \(token)" {
                return Answer(status: .unauthorized, body: "{\"detail\": \"Invalid token.\"}", headers: [("WWW-Authenticate", "Token")])
            }
        }
        guard request.method == .GET else {
            return Answer(status: .methodNotAllowed, body: "{\"detail\": \"Method \\\"\(request.method.rawValue)\\\" not allowed.\"}")
        }
        let parts = path.split(separator: "/")
        guard parts.count >= 2, parts[0] == "api", parts[1] == "streams" else { return htmlError(404) }
        if parts.count == 2 {
            guard options.listRoute else { return htmlError(404) }
            return list(request: request, query: query, options: options)
        }
        guard parts.count == 3 else { return htmlError(404) }
        let uid = String(parts[2])
        if options.recordDetailRequests { shared.detailLog.withLockedValue { $0.append(uid) } }
        guard UUID(uuidString: uid) != nil else {
            return Answer(status: .notFound, body: "{\"detail\": \"Not found.\"}")
        }
        if let bytes = options.detailBodies[uid.lowercased()] {
            return Answer(status: .ok, bytes: bytes)
        }
        guard let json = shared.fleet.detail(uid.lowercased()) else {
            return Answer(status: .notFound, body: "{\"detail\": \"No Stream matches the given query.\"}")
        }
        return Answer(status: .ok, body: json)
    }

    private func list(request: HTTPRequestHead, query: [String: String], options: SimulatorOptions) -> Answer {
        func item(_ json: String) -> String {
            guard options.slimList, let value = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
                let id = value["id"], let uid = value["job_uid"] as? String
            else { return json }
            return "{\"id\": \(id), \"job_uid\": \"\(uid)\"}"
        }
        if options.pageSize <= 0 {
            let all = shared.fleet.page(offset: 0, count: Int.max)
            return Answer(status: .ok, body: "[" + all.items.map(item).joined(separator: ", ") + "]")
        }
        let page = Int(query["page"] ?? "1") ?? 0
        if options.failingListPages.contains(page) { return htmlError(500) }
        let size = options.pageSize
        let result = shared.fleet.page(offset: max(0, (page - 1) * size), count: size)
        let pages = max(1, (result.total + size - 1) / size)
        guard page >= 1, page <= pages else {
            return Answer(status: .notFound, body: "{\"detail\": \"Invalid page.\"}")
        }
        let origin = "http://" + (request.headers.first(name: "host") ?? "127.0.0.1")
        func link(_ p: Int) -> String {
            if p < 1 || p > pages { return "null" }
            return p == 1 ? "\"\(origin)/api/streams/?format=json\"" : "\"\(origin)/api/streams/?format=json&page=\(p)\""
        }
        let body =
            "{\"count\": \(result.total), \"next\": \(link(page + 1)), \"previous\": \(link(page - 1)), \"results\": ["
            + result.items.map(item).joined(separator: ", ") + "]}"
        return Answer(status: .ok, body: body)
    }

    private func htmlError(_ code: Int) -> Answer {
        let status = HTTPResponseStatus(statusCode: code)
        let body =
            code == 404
            ? "<!doctype html>\n<html lang=\"en\">\n<head><title>Not Found</title></head>\n<body><h1>Not Found</h1><p>The requested resource was not found on this server.</p></body>\n</html>\n"
            : "<html>\r\n<head><title>\(code) \(status.reasonPhrase)</title></head>\r\n<body>\r\n<center><h1>\(code) \(status.reasonPhrase)</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        return Answer(status: status, body: body, contentType: "text/html; charset=utf-8")
    }

    private func send(_ answer: Answer, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders([("Content-Type", answer.contentType), ("Content-Length", String(answer.body.count))])
        for (name, value) in answer.headers { headers.add(name: name, value: value) }
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: answer.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: answer.body)))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// Sends the head, then one byte every 200 ms until the client gives up.
    private func trickle(_ answer: Answer, context: ChannelHandlerContext) {
        let headers = HTTPHeaders([("Content-Type", answer.contentType), ("Content-Length", String(answer.body.count))])
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        let bytes = Array(answer.body.dropLast())
        let channel = context.channel
        let loop = context.eventLoop
        let bound = NIOLoopBound(context, eventLoop: loop)
        @Sendable func step(_ index: Int) {
            guard channel.isActive, index < bytes.count else {
                channel.close(promise: nil)
                return
            }
            bound.value.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: [bytes[index]])))), promise: nil)
            loop.scheduleTask(in: .milliseconds(200)) { step(index + 1) }
        }
        step(0)
    }

    /// Sends a 200 whose JSON body is `total` bytes long, a megabyte at a time (each write waits
    /// for the one before), without a Content-Length; stops when the client goes away.
    private func huge(bytes total: Int, context: ChannelHandlerContext) {
        let headers = HTTPHeaders([("Content-Type", "application/json"), ("Connection", "close")])
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        let opening = Array("{\"padding\": \"".utf8)
        let closing = Array("\"}".utf8)
        let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 1 << 20)
        let channel = context.channel
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        @Sendable func step(_ sent: Int) {
            guard channel.isActive else { return }
            let left = total - sent - closing.count
            guard left > 0 else {
                bound.value.write(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: closing)))), promise: nil)
                bound.value.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
                return
            }
            var part = chunk
            if left < part.readableBytes { part = part.getSlice(at: 0, length: left)! }
            let count = part.readableBytes
            bound.value.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(part)))).whenComplete { result in
                if case .success = result { step(sent + count) } else { channel.close(promise: nil) }
            }
        }
        bound.value.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: opening)))), promise: nil)
        step(opening.count)
    }

    private func split(_ uri: String) -> (String, [String: String]) {
        guard let mark = uri.firstIndex(of: "?") else { return (uri, [:]) }
        var query: [String: String] = [:]
        for pair in uri[uri.index(after: mark)...].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            query[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
        }
        return (String(uri[..<mark]), query)
    }
}
