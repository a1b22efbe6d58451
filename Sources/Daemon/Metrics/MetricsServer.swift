import LinuxKit
import NIOCore
import NIOHTTP1
import NIOPosix

/// The Prometheus endpoint: a minimal HTTP/1.1 server (swift-nio) answering GET /metrics with the
/// text exposition format, and the probes a DaemonSet or a load balancer asks: /healthz (the
/// daemon answers at all) and /readyz (every part started and not stopping; 503 otherwise). One
/// response per connection (then close): Prometheus scrapes are one request every interval, and
/// nothing is kept between them. The scrape reads BPF maps and cgroup files (blocking calls), so it
/// runs on NIO's thread pool, never on the event loop.
public final class MetricsServer: Sendable {
    let channel: any Channel
    /// Where it listens (the port chosen when the config said 0).
    public let address: String

    public static func start(host: String, port: Int, scrape: @escaping @Sendable () -> [UInt8],
                             ready: @escaping @Sendable () -> Bool) async throws(SondeError) -> MetricsServer {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler(scrape: scrape, ready: ready))
                }
            }
        do {
            let channel = try await bootstrap.bind(host: host, port: port).get()
            let bound = channel.localAddress.map { "\($0.ipAddress ?? host):\($0.port ?? port)" } ?? "\(host):\(port)"
            return MetricsServer(channel: channel, address: bound)
        } catch {
            throw SondeError(.invalidArgument, "cannot serve metrics on \(host):\(port): \(error)")
        }
    }

    init(channel: any Channel, address: String) {
        self.channel = channel
        self.address = address
    }

    /// Serves until cancelled, then closes the listening socket.
    public func serve() async throws {
        try await withTaskCancellationHandler {
            try await channel.closeFuture.get()
        } onCancel: {
            channel.close(promise: nil)
        }
    }
}

final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let scrape: @Sendable () -> [UInt8]
    let ready: @Sendable () -> Bool
    private var request: HTTPRequestHead?

    init(scrape: @escaping @Sendable () -> [UInt8], ready: @escaping @Sendable () -> Bool) {
        self.scrape = scrape
        self.ready = ready
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
            guard ["/metrics", "/healthz", "/readyz"].contains(path) else {
                respond(context: context, version: head.version, status: .notFound, contentType: "text/plain",
                        body: Array("not found: this endpoint serves /metrics, /healthz and /readyz\n".utf8))
                return
            }
            guard head.method == .GET || head.method == .HEAD else {
                respond(context: context, version: head.version, status: .methodNotAllowed, contentType: "text/plain",
                        body: Array("only GET\n".utf8))
                return
            }
            let isHead = head.method == .HEAD
            if path == "/healthz" {
                respond(context: context, version: head.version, status: .ok, contentType: "text/plain",
                        body: Array("ok\n".utf8), omitBody: isHead)
                return
            }
            if path == "/readyz" {
                let serving = ready()
                respond(context: context, version: head.version, status: serving ? .ok : .serviceUnavailable,
                        contentType: "text/plain", body: Array((serving ? "ready\n" : "not ready: starting or stopping\n").utf8),
                        omitBody: isHead)
                return
            }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let scrape = self.scrape
            NIOThreadPool.singleton.runIfActive(eventLoop: context.eventLoop) { scrape() }.whenComplete { result in
                let (handler, context) = bound.value
                switch result {
                case .success(let body):
                    handler.respond(context: context, version: head.version, status: .ok,
                                    contentType: "text/plain; version=0.0.4; charset=utf-8", body: body, omitBody: isHead)
                case .failure(let error):
                    handler.respond(context: context, version: head.version, status: .internalServerError,
                                    contentType: "text/plain", body: Array("scrape failed: \(error)\n".utf8))
                }
            }
        }
    }

    func respond(context: ChannelHandlerContext, version: HTTPVersion, status: HTTPResponseStatus, contentType: String,
                 body: [UInt8], omitBody: Bool = false) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.count))
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
        if !omitBody {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        // Closed once everything is written (a large scrape may not fit the socket buffer at once).
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }
}
