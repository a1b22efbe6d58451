import Cluster
import Containers
import Events
import Foundation
import LinuxKit
import NIOCore
import NIOPosix
import NIOSSL
import Testing
import TestSupport

/// Answers recorded from an API server (trimmed to what matters), served byte for byte.
enum Recorded {
    static let podList = """
    {"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"48213"},"items":[
    {"metadata":{"name":"web-7d9f8-abcde","namespace":"shop","uid":"0f5c1a2e-1111-4a4a-9b9b-123456789abc","resourceVersion":"48100",
      "labels":{"app":"web","pod-template-hash":"7d9f8"},"ownerReferences":[{"kind":"ReplicaSet","name":"web-7d9f8"}]},
     "spec":{"nodeName":"worker-1","containers":[{"name":"nginx","image":"nginx:1.27"},{"name":"log-shipper","image":"fluent-bit"}]},
     "status":{"phase":"Running","hostIP":"10.0.0.11","podIP":"10.244.1.7",
      "containerStatuses":[{"name":"log-shipper","ready":true,"containerID":"containerd://aa11bb22cc33"},
                           {"name":"nginx","ready":true,"containerID":"containerd://0123456789abcdef"}]}},
    {"metadata":{"name":"web-7d9f8-fghij","namespace":"shop","labels":{"app":"web"}},
     "spec":{"containers":[{"name":"nginx","image":"nginx:1.27"}]},
     "status":{"phase":"Pending"}}
    ]}
    """

    static let nodeList = """
    {"kind":"NodeList","apiVersion":"v1","items":[
    {"metadata":{"name":"worker-1","labels":{"kubernetes.io/hostname":"worker-1"}},
     "status":{"addresses":[{"type":"Hostname","address":"worker-1"},{"type":"InternalIP","address":"10.0.0.11"}]}}]}
    """

    static func watchLine(_ type: String, _ name: String, containerID: String, version: String) -> String {
        #"{"type":"\#(type)","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"\#(name)","namespace":"shop","resourceVersion":"\#(version)","labels":{"app":"web"}},"spec":{"nodeName":"worker-2","containers":[{"name":"nginx"}]},"status":{"phase":"Running","containerStatuses":[{"name":"nginx","ready":true,"containerID":"\#(containerID)"}]}}}"#
    }

    static let unauthorized = """
    {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}
    """

    static let forbidden = """
    {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden: User \\"system:serviceaccount:default:viewer\\" cannot list resource \\"pods\\" in API group \\"\\" at the cluster scope","reason":"Forbidden","details":{"kind":"pods"},"code":403}
    """

    static let gone = """
    {"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 100 (48213)","reason":"Expired","code":410}}
    """
}

@Suite struct KubeDecoderTests {
    @Test func podListGivesNodesAndRuntimeIDsInSpecOrder() throws {
        let (pods, version) = try KubeDecoder.podList(Data(Recorded.podList.utf8))
        #expect(version == "48213")
        #expect(pods.count == 2)
        let web = pods[0]
        #expect(web.name == "web-7d9f8-abcde" && web.namespace == "shop" && web.nodeName == "worker-1" && web.hostIP == "10.0.0.11")
        #expect(web.labels == ["app": "web", "pod-template-hash": "7d9f8"])
        #expect(web.containers == [KubeContainer(name: "nginx", id: "0123456789abcdef", runtime: "containerd", ready: true),
                                   KubeContainer(name: "log-shipper", id: "aa11bb22cc33", runtime: "containerd", ready: true)])
        // Not scheduled, nothing created: no node, no ids.
        #expect(pods[1].nodeName == "" && pods[1].containers.map(\.id) == [""])

        let plan = ClusterPlan.plan(pods: pods, selection: PodSelection(namespace: "shop", containerNames: ["nginx"]),
                                    nodeAddresses: ["worker-1": "10.0.0.11"])
        #expect(plan.nodes.map(\.node) == ["worker-1"])
        #expect(plan.nodes[0].containers.map(\.container.id) == ["0123456789abcdef"])
        #expect(plan.skipped == ["shop/web-7d9f8-fghij: not scheduled on a node yet"])
    }

    @Test func nodeListGivesTheInternalIP() throws {
        let nodes = try KubeDecoder.nodeList(Data(Recorded.nodeList.utf8))
        #expect(nodes.map(\.name) == ["worker-1"])
        #expect(nodes[0].daemonHost == "10.0.0.11")
    }

    @Test func watchLinesDecodeAndAnExpiredWatchIsAnError() throws {
        #expect(try KubeDecoder.watchEvent(Data(Recorded.watchLine("ADDED", "a", containerID: "", version: "5").utf8))
            == .added(KubePod(name: "a", namespace: "shop", labels: ["app": "web"], nodeName: "worker-2", phase: "Running",
                              containers: [KubeContainer(name: "nginx", id: "", runtime: "", ready: true)], resourceVersion: "5")))
        guard case .deleted(let pod) = try KubeDecoder.watchEvent(Data(Recorded.watchLine("DELETED", "a", containerID: "containerd://ff", version: "7").utf8)) else {
            Issue.record("not a DELETED event")
            return
        }
        #expect(pod.containers.first?.id == "ff")
        #expect(try KubeDecoder.watchEvent(Data(#"{"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"900"}}}"#.utf8))
            == .bookmark(resourceVersion: "900"))
        let expired = #expect(throws: SondeError.self) { try KubeDecoder.watchEvent(Data(Recorded.gone.utf8)) }
        #expect(expired?.message.contains("410 Expired: too old resource version") == true, "\(String(describing: expired))")
    }

    @Test func statusErrorsSayWhatToDo() {
        let unauthorized = KubeDecoder.failure(status: 401, body: Data(Recorded.unauthorized.utf8))
        #expect(unauthorized.code == .notPrivileged)
        #expect(unauthorized.message == "the Kubernetes API server answered 401 Unauthorized: Unauthorized")
        let forbidden = KubeDecoder.failure(status: 403, body: Data(Recorded.forbidden.utf8))
        #expect(forbidden.message.contains("403 Forbidden: pods is forbidden"))
        #expect(forbidden.hint?.contains("get, list and watch on pods and nodes") == true)
        // A proxy's HTML error page is not a Status: the HTTP status still says what happened.
        let proxy = KubeDecoder.failure(status: 502, body: Data("<html>Bad Gateway</html>".utf8))
        #expect(proxy.code == .kubernetesAPI && proxy.message.contains("502"))
    }

    @Test func malformedAndTruncatedBodiesAreClearErrors() {
        let cut = String(Recorded.podList.prefix(300))
        let truncated = #expect(throws: SondeError.self) { try KubeDecoder.podList(Data(cut.utf8)) }
        #expect(truncated?.code == .malformedInput)
        #expect(truncated?.message.contains("not JSON") == true)
        let wrongKind = #expect(throws: SondeError.self) { try KubeDecoder.podList(Data(Recorded.nodeList.utf8)) }
        #expect(wrongKind?.message == "expected a PodList from the API server, got a NodeList")
        let nameless = #expect(throws: SondeError.self) { try KubeDecoder.podList(Data(#"{"kind":"PodList","items":[{"metadata":{}}]}"#.utf8)) }
        #expect(nameless?.message.contains("without metadata.name") == true)
    }
}

@Suite struct LabelSelectorTests {
    @Test func equalityAndSetBasedRequirements() throws {
        let labels = ["app": "web", "tier": "front", "env": "prod"]
        #expect(try LabelSelector("app=web").matches(labels))
        #expect(try LabelSelector("app==web,tier!=back").matches(labels))
        #expect(try !LabelSelector("app=db").matches(labels))
        #expect(try LabelSelector("env in (prod, staging),app").matches(labels))
        #expect(try !LabelSelector("env notin (prod)").matches(labels))
        #expect(try LabelSelector("!canary,tier").matches(labels))
        #expect(try !LabelSelector("canary").matches(labels))
        // k!=v holds when the label is absent, as in Kubernetes.
        #expect(try LabelSelector("canary!=true").matches(labels))
        #expect(try LabelSelector("env in (prod,staging), app = web").description == "env in (prod,staging),app=web")
    }

    @Test func badSelectorsAreErrors() {
        for text in ["", "app=web,(", "env in prod", "a b c", "app=we b", "env in ()"] {
            #expect(throws: SondeError.self, "\(text)") { try LabelSelector(text) }
        }
    }

    @Test func queriesCarryTheSelectorsEscaped() throws {
        let query = PodQuery(namespace: "shop", labelSelector: try LabelSelector("env in (a,b)"), nodeName: "w-1")
        #expect(query.path() == "/api/v1/namespaces/shop/pods?labelSelector=env%20in%20%28a%2Cb%29&fieldSelector=spec.nodeName%3Dw-1")
        #expect(PodQuery(namespace: nil).path(watch: true, resourceVersion: "7") == "/api/v1/pods?watch=1&allowWatchBookmarks=true&resourceVersion=7")
    }
}

/// A fake API server: HTTPS on 127.0.0.1, answering each request with recorded raw bytes chosen
/// by its path, and checking the bearer token.
final class FakeAPIServer: @unchecked Sendable {
    let channel: Channel
    var port: Int { channel.localAddress!.port! }

    /// `respond`: (path, Authorization header) -> the raw HTTP response; the connection closes after it.
    init(certificate: String, key: String, clientCA: String? = nil, respond: @escaping @Sendable (String, String?) -> [UInt8]) async throws {
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
                                                           privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        if let clientCA {
            tls.certificateVerification = .noHostnameVerification
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(clientCA))
        }
        let context = try NIOSSLContext(configuration: tls)
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.addHandler(RecordedAnswer(respond: respond))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async { try? await channel.close() }

    final class RecordedAnswer: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let respond: @Sendable (String, String?) -> [UInt8]
        var request = ""

        init(respond: @escaping @Sendable (String, String?) -> [UInt8]) { self.respond = respond }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            request += buffer.readString(length: buffer.readableBytes) ?? ""
            guard request.contains("\r\n\r\n") else { return }
            let lines = request.components(separatedBy: "\r\n")
            let path = lines[0].split(separator: " ").dropFirst().first.map(String.init) ?? ""
            let authorization = lines.first { $0.lowercased().hasPrefix("authorization:") }.map { String($0.dropFirst("authorization:".count)).trimmingCharacters(in: .whitespaces) }
            let bytes = respond(path, authorization)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(bytes: bytes))).whenComplete { _ in
                channel.close(promise: nil)
            }
        }
    }

    static func response(_ status: String, _ body: String) -> [UInt8] {
        Array("HTTP/1.1 \(status)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8)
    }

    static func chunked(_ lines: [String]) -> [UInt8] {
        var out = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        for line in lines {
            // Split each line across two chunks: the client must join them.
            let text = line + "\n"
            let half = text.index(text.startIndex, offsetBy: text.count / 2)
            for part in [text[..<half], text[half...]] {
                out += String(part.utf8.count, radix: 16) + "\r\n" + part + "\r\n"
            }
        }
        return Array((out + "0\r\n\r\n").utf8)
    }
}

@Suite(.serialized) struct HTTPSKubernetesAPITests {
    @Test func listsWatchesAndErrorsOverHTTPS() async throws {
        let certificates = try scratchDirectory("sonde-kube-api")
        defer { try? FileManager.default.removeItem(atPath: certificates) }
        try makeCertificates(in: certificates)
        let server = try await FakeAPIServer(certificate: certificates + "/api.pem", key: certificates + "/api.key") { path, authorization in
            guard authorization == "Bearer s3cret" else { return FakeAPIServer.response("401 Unauthorized", Recorded.unauthorized) }
            if path.hasPrefix("/api/v1/namespaces/shop/pods?labelSelector=app%3Dweb&watch=1") {
                return FakeAPIServer.chunked([
                    Recorded.watchLine("ADDED", "web-2", containerID: "", version: "10"),
                    Recorded.watchLine("MODIFIED", "web-2", containerID: "containerd://c0ffee", version: "11"),
                    #"{"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"12"}}}"#,
                    Recorded.watchLine("DELETED", "web-2", containerID: "containerd://c0ffee", version: "13"),
                ])
            }
            if path == "/api/v1/namespaces/shop/pods?labelSelector=app%3Dweb" { return FakeAPIServer.response("200 OK", Recorded.podList) }
            if path == "/api/v1/nodes" { return FakeAPIServer.response("200 OK", Recorded.nodeList) }
            if path == "/api/v1/pods" { return FakeAPIServer.response("403 Forbidden", Recorded.forbidden) }
            if path.hasPrefix("/api/v1/namespaces/cut/pods") {
                // Announces the whole list, sends a third of it, then closes.
                var bytes = FakeAPIServer.response("200 OK", Recorded.podList)
                bytes.removeLast(Recorded.podList.utf8.count * 2 / 3)
                return bytes
            }
            return FakeAPIServer.response("404 Not Found", #"{"kind":"Status","status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","code":404}"#)
        }
        defer { Task { await server.stop() } }
        let ca = Array(try Data(contentsOf: URL(fileURLWithPath: certificates + "/ca.pem")))
        let api = try HTTPSKubernetesAPI(credentials: try KubeCredentials(server: "https://127.0.0.1:\(server.port)", certificateAuthority: ca,
                                                                          bearerToken: "s3cret", origin: "test"))
        let query = PodQuery(namespace: "shop", labelSelector: try LabelSelector("app=web"))

        let pods = try await api.pods(query)
        #expect(pods.map(\.name) == ["web-7d9f8-abcde", "web-7d9f8-fghij"])
        #expect(try await api.nodes().first?.daemonHost == "10.0.0.11")
        let plan = try await ClusterPlan.resolve(PodSelection(namespace: "shop", labelSelector: try LabelSelector("app=web")), api: api)
        #expect(plan.nodes.map(\.host) == ["10.0.0.11"])

        var events: [PodWatchEvent] = []
        for try await event in api.watchPods(query, resourceVersion: nil) { events.append(event) }
        #expect(events.count == 4)
        guard events.count == 4, case .added(let added) = events[0], case .modified(let modified) = events[1],
              case .deleted(let deleted) = events[3] else {
            Issue.record("\(events)")
            return
        }
        #expect(added.containers.first?.id == "" && modified.containers.first?.id == "c0ffee" && deleted.name == "web-2")
        #expect(events[2] == .bookmark(resourceVersion: "12"))

        let forbidden = await #expect(throws: SondeError.self) { try await api.pods(PodQuery(namespace: nil)) }
        #expect(forbidden?.code == .notPrivileged && forbidden?.message.contains("403 Forbidden") == true, "\(String(describing: forbidden))")
        let truncated = await #expect(throws: SondeError.self) { try await api.pods(PodQuery(namespace: "cut")) }
        #expect(truncated?.code == .malformedInput && truncated?.message.contains("cut short (truncated)") == true, "\(String(describing: truncated))")

        // Wrong token: 401, with what to check.
        let stranger = try HTTPSKubernetesAPI(credentials: try KubeCredentials(server: "https://127.0.0.1:\(server.port)", certificateAuthority: ca,
                                                                               bearerToken: "wrong", origin: "test"))
        let refused = await #expect(throws: SondeError.self) { try await stranger.pods(query) }
        #expect(refused?.message == "the Kubernetes API server answered 401 Unauthorized: Unauthorized")
        // A server whose certificate our CA did not sign: TLS fails, clearly.
        let other = try scratchDirectory("sonde-kube-other-ca")
        defer { try? FileManager.default.removeItem(atPath: other) }
        try makeCertificates(in: other)
        let distrustful = try HTTPSKubernetesAPI(credentials: try KubeCredentials(
            server: "https://127.0.0.1:\(server.port)", certificateAuthority: Array(try Data(contentsOf: URL(fileURLWithPath: other + "/ca.pem"))),
            bearerToken: "s3cret", origin: "test"))
        let untrusted = await #expect(throws: SondeError.self) { try await distrustful.pods(query) }
        #expect(untrusted?.message.contains("TLS") == true || untrusted?.message.contains("certificate") == true, "\(String(describing: untrusted))")
    }

    @Test func clientCertificatesFromAKubeconfigAuthenticate() async throws {
        let certificates = try scratchDirectory("sonde-kube-mtls")
        defer { try? FileManager.default.removeItem(atPath: certificates) }
        try makeCertificates(in: certificates)
        // The server accepts only clients with a certificate of its CA, and needs no token then.
        let server = try await FakeAPIServer(certificate: certificates + "/api.pem", key: certificates + "/api.key",
                                             clientCA: certificates + "/ca.pem") { path, _ in
            path == "/api/v1/nodes" ? FakeAPIServer.response("200 OK", Recorded.nodeList) : FakeAPIServer.response("404 Not Found", "{}")
        }
        defer { Task { await server.stop() } }
        func base64(_ file: String) throws -> String { try Data(contentsOf: URL(fileURLWithPath: certificates + "/" + file)).base64EncodedString() }
        // A YAML kubeconfig, read through kubectl (offline) as the plugin does.
        let kubeconfig = """
        apiVersion: v1
        kind: Config
        current-context: test
        contexts:
        - name: test
          context: {cluster: fake, user: tester, namespace: shop}
        - name: other
          context: {cluster: nowhere, user: tester}
        clusters:
        - name: fake
          cluster:
            server: https://127.0.0.1:\(server.port)
            certificate-authority-data: \(try base64("ca.pem"))
        - name: nowhere
          cluster: {server: "https://192.0.2.1:6443"}
        users:
        - name: tester
          user:
            client-certificate-data: \(try base64("client.pem"))
            client-key-data: \(try base64("client.key"))
        """
        try kubeconfig.write(toFile: certificates + "/config", atomically: true, encoding: .utf8)
        let credentials = try KubeCredentials.fromKubeconfig(path: certificates + "/config", context: nil)
        #expect(credentials.namespace == "shop" && credentials.origin == "kubeconfig context test" && credentials.port == server.port)
        let nodes = try await HTTPSKubernetesAPI(credentials: credentials).nodes()
        #expect(nodes.map(\.name) == ["worker-1"])
        // Without the client certificate the server refuses the handshake.
        var anonymous = credentials
        anonymous.clientCertificate = nil
        anonymous.clientKey = nil
        await #expect(throws: SondeError.self) { try await HTTPSKubernetesAPI(credentials: anonymous).nodes() }

        // A server that does not accept connections in time: bounded by the connect timeout.
        var silent = try HTTPSKubernetesAPI(credentials: try KubeCredentials.fromKubeconfig(path: certificates + "/config", context: "other"))
        silent.connectTimeout = .seconds(1)
        silent.requestTimeout = .seconds(3)
        let started = ContinuousClock.now
        await #expect(throws: SondeError.self) { try await silent.nodes() }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func inClusterServiceAccount() throws {
        let directory = try scratchDirectory("sonde-sa")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "tok3n\n".write(toFile: directory + "/token", atomically: true, encoding: .utf8)
        try "-----BEGIN CERTIFICATE-----\n".write(toFile: directory + "/ca.crt", atomically: true, encoding: .utf8)
        try "monitoring".write(toFile: directory + "/namespace", atomically: true, encoding: .utf8)
        let credentials = try KubeCredentials.inCluster(environment: ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"],
                                                        directory: directory)
        #expect(credentials.host == "10.96.0.1" && credentials.port == 443 && credentials.bearerToken == "tok3n" && credentials.namespace == "monitoring")
        let outside = #expect(throws: SondeError.self) { try KubeCredentials.inCluster(environment: [:], directory: directory) }
        #expect(outside?.message.contains("KUBERNETES_SERVICE_HOST") == true)
    }
}

@Suite struct ClusterRendererTests {
    static let event = Event(timestamp: 1_795_000_000_123_456_789, source: "exec",
                             process: ProcessRef(pid: 42, tid: 42, ppid: 1, uid: 0, gid: 0, comm: "sh"), cgroupID: 7, mountNamespaceID: 9,
                             container: Container(runtime: .containerd, id: "0123456789abcdef", name: "app", cgroupPath: "/k8s.io/0123",
                                                  cgroupID: 7, pod: Pod(name: "web-0", namespace: "shop")),
                             fields: [(name: "ret", value: .result(-2))])

    @Test func columnsPutTheNodeAndPodFirst() {
        let renderer = ClusterRenderer(format: .columns, columns: [.container, .pid, .comm, .field("RET", "ret", width: 6)])
        #expect(renderer.header == "NODE             NAMESPACE    POD                  CONTAINER            PID COMM             RET")
        let (out, err) = renderer.render(.event(node: "worker-\u{1b}[1", Self.event))
        #expect(err == nil)
        // Hostile text (a node name with an escape sequence) is escaped, never passed to the terminal.
        #expect(out == "worker-\\x1b[1    shop         web-0                app                   42 sh               ENOENT")
        let (_, failure) = renderer.render(.nodeFailed(node: "worker-2", reason: "no answer within 3 s"))
        #expect(failure == "kubectl-sonde: node worker-2 unavailable, its events are missing: no answer within 3 s")
    }

    @Test func jsonRecordsStartWithNodeNamespaceAndPod() throws {
        let renderer = ClusterRenderer(format: .json, columns: [])
        let line = try #require(renderer.render(.event(node: "worker-1", Self.event)).stdout)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["node"] as? String == "worker-1" && object["namespace"] as? String == "shop" && object["pod"] as? String == "web-0")
        #expect((object["container"] as? [String: Any])?["name"] as? String == "app")
        #expect(object["error"] as? String == "ENOENT")
        let failure = try #require(renderer.render(.nodeFailed(node: "worker-2", reason: "refused \"x\"")).stdout)
        #expect(failure == #"{"node":"worker-2","error":"node unavailable","reason":"refused \"x\""}"#)
        let pod = KubePod(name: "web-0", namespace: "shop", nodeName: "worker-1", containers: [])
        let dump = try #require(renderer.render(.dumpLine(PodContainer(node: "worker-1", pod: pod, container: KubeContainer(name: "app", id: "c1")),
                                                          #"{"time":"t","container":"app","syscall":"read"}"#)).stdout)
        #expect(dump == #"{"node":"worker-1","namespace":"shop","pod":"web-0","pod_container":"app","time":"t","container":"app","syscall":"read"}"#)
    }
}
