import Foundation
import LinuxKit
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The Kubernetes API over HTTPS (HTTP/1.1, one connection per request, as a watch holds its
/// connection anyway): server CA, client certificate or bearer token, from `KubeCredentials`.
/// Plain http:// is accepted for `kubectl proxy`, which authenticates on our behalf.
public struct HTTPSKubernetesAPI: KubernetesAPI {
    public let credentials: KubeCredentials
    private let tls: NIOSSLContext?
    /// A server that does not accept the connection in this time is reported, not waited for.
    public var connectTimeout: Duration = .seconds(5)
    /// A list that has not fully arrived in this time is an error.
    public var requestTimeout: Duration = .seconds(30)

    public init(credentials: KubeCredentials) throws(SondeError) {
        self.credentials = credentials
        guard credentials.scheme == "https" else {
            tls = nil
            return
        }
        do {
            var config = TLSConfiguration.makeClientConfiguration()
            if let ca = credentials.certificateAuthority {
                config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
            }
            if credentials.insecureSkipTLSVerify { config.certificateVerification = .none }
            if let certificate = credentials.clientCertificate, let key = credentials.clientKey {
                config.certificateChain = try NIOSSLCertificate.fromPEMBytes(certificate).map { .certificate($0) }
                config.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
            }
            tls = try NIOSSLContext(configuration: config)
        } catch {
            throw SondeError(.invalidArgument, "\(credentials.origin): unusable TLS material: \(error)",
                             hint: "the CA, client certificate and key must be PEM")
        }
    }

    public func pods(_ query: PodQuery) async throws(SondeError) -> [KubePod] {
        let body = try await get(query.path())
        // Servers apply the selectors; applying them again costs nothing and guards against a proxy
        // or an old server that ignored one.
        return try KubeDecoder.podList(body).pods.filter(query.matches)
    }

    public func nodes() async throws(SondeError) -> [KubeNode] {
        try KubeDecoder.nodeList(try await get("/api/v1/nodes"))
    }

    public func watchPods(_ query: PodQuery, resourceVersion: String?) -> AsyncThrowingStream<PodWatchEvent, any Error> {
        let path = query.path(watch: true, resourceVersion: resourceVersion)
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var pending = Data()
                    var httpStatus = 0
                    var failure: Data?
                    _ = try await exchange(path) { status in
                        httpStatus = status
                        if !(200..<300).contains(status) { failure = Data() }
                    } body: { chunk in
                        if failure != nil {
                            failure!.append(contentsOf: chunk.readableBytesView.prefix(64 << 10))
                            return
                        }
                        pending.append(contentsOf: chunk.readableBytesView)
                        // One JSON object per line; a line may span chunks.
                        while let newline = pending.firstIndex(of: 0x0A) {
                            let line = pending[pending.startIndex..<newline]
                            pending = Data(pending[pending.index(after: newline)...])
                            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) { continue }
                            let event = try KubeDecoder.watchEvent(Data(line))
                            if case .added(let pod) = event, !query.matches(pod) { continue }
                            continuation.yield(event)
                        }
                    }
                    if let failure { throw KubeDecoder.failure(status: httpStatus, body: failure) }
                    if !pending.isEmpty, !pending.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x0A }) {
                        throw SondeError(.malformedInput, "the pod watch ended inside a line (truncated): \(KubeDecoder.preview(pending))")
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// GET `path`: the body of a 2xx answer, else the server's Status as an error.
    func get(_ path: String) async throws(SondeError) -> Data {
        let timeout = requestTimeout
        let result: (Int, Data)
        do {
            result = try await withDeadline(timeout, orFail: SondeError(.kubernetesAPI, "the Kubernetes API server at \(address) did not answer GET \(path) within \(timeout)")) {
                var status = 0
                var body = Data()
                _ = try await exchange(path) { status = $0 } body: { body.append(contentsOf: $0.readableBytesView) }
                return (status, body)
            }
        } catch {
            throw error as? SondeError ?? SondeError(.kubernetesAPI, "\(address): \(error)")
        }
        guard (200..<300).contains(result.0) else { throw KubeDecoder.failure(status: result.0, body: result.1) }
        return result.1
    }

    var address: String { "\(credentials.scheme)://\(credentials.host):\(credentials.port)" }

    /// One request on a new connection; the head's status goes to `head`, each body chunk to
    /// `body`, until the server ends the response. A response cut short is an error.
    private func exchange(_ path: String, head: (Int) throws -> Void,
                          body: (ByteBuffer) async throws -> Void) async throws -> Int {
        let host = credentials.host
        let tls = self.tls
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.nanoseconds(Int64(connectTimeout.components.seconds) * 1_000_000_000
                                             + Int64(connectTimeout.components.attoseconds / 1_000_000_000)))
                .connect(host: host, port: credentials.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls {
                            // SNI cannot carry an IP address: for one, NIOSSL checks the certificate's IP SAN.
                            let isIP = (try? SocketAddress(ipAddress: host, port: 0)) != nil
                            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: isIP ? nil : host))
                        }
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw SondeError(.kubernetesAPI, "cannot connect to the Kubernetes API server at \(address): \(error)",
                             hint: "is the server reachable? (\(credentials.origin))")
        }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: credentials.port == 443 ? host : "\(host):\(credentials.port)")
        headers.add(name: "Accept", value: "application/json")
        headers.add(name: "User-Agent", value: "kubectl-sonde")
        headers.add(name: "Connection", value: "close")
        if let token = credentials.bearerToken { headers.add(name: "Authorization", value: "Bearer " + token) }
        let request = HTTPRequestHead(version: .http1_1, method: .GET, uri: credentials.basePath + path, headers: headers)
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(.head(request))
            try await outbound.write(.end(nil))
            var status: Int?
            do {
                for try await part in inbound {
                    switch part {
                    case .head(let response):
                        status = Int(response.status.code)
                        try head(Int(response.status.code))
                    case .body(let chunk):
                        try await body(chunk)
                    case .end:
                        return status ?? 0
                    }
                }
            } catch let error as SondeError {
                throw error
            } catch let error as NIOSSLError {
                throw SondeError(.kubernetesAPI, "TLS with the Kubernetes API server at \(address) failed: \(error)",
                                 hint: "check the server's CA (\(credentials.origin))")
            } catch {
                if status == nil {
                    throw SondeError(.kubernetesAPI, "the Kubernetes API server at \(address) failed: \(error)")
                }
                throw SondeError(.malformedInput, "the Kubernetes API server's answer to GET \(path) was cut short (truncated): \(error)")
            }
            throw SondeError(.malformedInput, status == nil
                             ? "the Kubernetes API server at \(address) closed the connection without answering GET \(path)"
                             : "the Kubernetes API server's answer to GET \(path) was cut short (truncated)")
        }
    }
}

/// Runs `body`, or throws `failure` when it has not finished after `duration` (the body is cancelled).
public func withDeadline<R: Sendable>(_ duration: Duration, orFail failure: SondeError,
                                      _ body: @escaping @Sendable () async throws -> R) async throws -> R {
    try await withThrowingTaskGroup(of: R?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: duration)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw failure
        }
        return value
    }
}
