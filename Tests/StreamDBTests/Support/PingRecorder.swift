import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A healthchecks stand-in on loopback: a real HTTP server (SwiftNIO) that records every request's
/// path and body and answers 200, or, with `answering: false`, accepts connections and never says
/// a word.
final class PingRecorder: Sendable {
    struct Ping: Sendable, Equatable {
        let method: String
        let path: String
        let body: String
    }

    private let channel: any Channel
    private let received = NIOLockedValueBox<[Ping]>([])
    let port: Int

    var pings: [Ping] { received.withLockedValue { $0 } }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    init(answering: Bool = true) async throws {
        let received = self.received
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(received: received, answering: answering))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    func stop() async {
        try? await channel.close()
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let received: NIOLockedValueBox<[Ping]>
        let answering: Bool
        var head: HTTPRequestHead?
        var body = ""

        init(received: NIOLockedValueBox<[Ping]>, answering: Bool) {
            self.received = received
            self.answering = answering
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = ""
            case .body(let buffer):
                body += String(buffer: buffer)
            case .end:
                guard let head else { return }
                let ping = Ping(method: head.method.rawValue, path: head.uri, body: body)
                received.withLockedValue { $0.append(ping) }
                guard answering else { return }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Length", value: "2")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "OK")))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
