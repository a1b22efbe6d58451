import Foundation
import LinuxKit

extension SondeError.Code {
    /// The Kubernetes API server refused, failed or could not be reached.
    public static let kubernetesAPI = SondeError.Code("Kubernetes API")
}

/// A container of a pod as the API server reports it (`status.containerStatuses`).
public struct KubeContainer: Sendable, Equatable {
    /// The container's name in the pod spec ("app").
    public var name: String
    /// The runtime's id without its scheme ("containerd://0123..." gives "0123..."); empty while
    /// the container has not been created.
    public var id: String
    /// The scheme of `containerID` ("containerd", "cri-o", "docker"); empty with the id.
    public var runtime: String
    public var ready: Bool

    public init(name: String, id: String, runtime: String = "containerd", ready: Bool = true) {
        self.name = name
        self.id = id
        self.runtime = runtime
        self.ready = ready
    }
}

/// The part of a Pod object cluster mode uses.
public struct KubePod: Sendable, Equatable {
    public var name: String
    public var namespace: String
    public var uid: String
    public var labels: [String: String]
    /// `spec.nodeName`; empty while unscheduled.
    public var nodeName: String
    /// `status.hostIP`: the node's address, a fallback when nodes cannot be listed.
    public var hostIP: String
    public var phase: String
    public var containers: [KubeContainer]
    public var resourceVersion: String

    public init(name: String, namespace: String, uid: String = "", labels: [String: String] = [:], nodeName: String,
                hostIP: String = "", phase: String = "Running", containers: [KubeContainer], resourceVersion: String = "") {
        self.name = name
        self.namespace = namespace
        self.uid = uid
        self.labels = labels
        self.nodeName = nodeName
        self.hostIP = hostIP
        self.phase = phase
        self.containers = containers
        self.resourceVersion = resourceVersion
    }
}

/// The part of a Node object cluster mode uses.
public struct KubeNode: Sendable, Equatable {
    public var name: String
    public var labels: [String: String]
    /// `status.addresses` in the server's order: (type, address), e.g. ("InternalIP", "10.0.0.5").
    public var addresses: [(type: String, address: String)]

    public init(name: String, labels: [String: String] = [:], addresses: [(type: String, address: String)]) {
        self.name = name
        self.labels = labels
        self.addresses = addresses
    }

    /// Where the node's daemon listens: its InternalIP, else its ExternalIP, else its Hostname.
    public var daemonHost: String? {
        for type in ["InternalIP", "ExternalIP", "Hostname"] {
            if let match = addresses.first(where: { $0.type == type }) { return match.address }
        }
        return nil
    }

    public static func == (a: KubeNode, b: KubeNode) -> Bool {
        a.name == b.name && a.labels == b.labels && a.addresses.map(\.type) == b.addresses.map(\.type)
            && a.addresses.map(\.address) == b.addresses.map(\.address)
    }
}

/// One line of a pod watch (`?watch=1`).
public enum PodWatchEvent: Sendable, Equatable {
    case added(KubePod)
    case modified(KubePod)
    case deleted(KubePod)
    /// The server's progress mark: resume a watch from here.
    case bookmark(resourceVersion: String)
}

/// Which pods: the API's own query (namespace, label selector), with the node chosen on our side.
public struct PodQuery: Sendable {
    /// nil: every namespace (`-A`).
    public var namespace: String?
    public var labelSelector: LabelSelector?
    /// Only pods scheduled on this node (`--node`), sent as the field selector `spec.nodeName=`.
    public var nodeName: String?

    public init(namespace: String?, labelSelector: LabelSelector? = nil, nodeName: String? = nil) {
        self.namespace = namespace
        self.labelSelector = labelSelector
        self.nodeName = nodeName
    }

    /// What the API server would return for this query, applied to a list (fixtures, and a check
    /// on what a server sent).
    public func matches(_ pod: KubePod) -> Bool {
        if let namespace, pod.namespace != namespace { return false }
        if let nodeName, pod.nodeName != nodeName { return false }
        if let labelSelector, !labelSelector.matches(pod.labels) { return false }
        return true
    }

    /// The path and query of the list or watch request.
    public func path(watch: Bool = false, resourceVersion: String? = nil) -> String {
        var path = namespace.map { "/api/v1/namespaces/\(Self.escape($0))/pods" } ?? "/api/v1/pods"
        var query: [String] = []
        if let labelSelector { query.append("labelSelector=" + Self.escape(labelSelector.description)) }
        if let nodeName { query.append("fieldSelector=" + Self.escape("spec.nodeName=" + nodeName)) }
        if watch {
            query.append("watch=1")
            query.append("allowWatchBookmarks=true")
        }
        if let resourceVersion, !resourceVersion.isEmpty { query.append("resourceVersion=" + Self.escape(resourceVersion)) }
        if !query.isEmpty { path += "?" + query.joined(separator: "&") }
        return path
    }

    static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// The Kubernetes API as cluster mode needs it. `HTTPSKubernetesAPI` talks to a real API server;
/// tests and `--cluster-file` supply the same answers from recorded objects (`StaticKubernetesAPI`).
public protocol KubernetesAPI: Sendable {
    func pods(_ query: PodQuery) async throws(SondeError) -> [KubePod]
    func nodes() async throws(SondeError) -> [KubeNode]
    /// Changes to the pods of `query` from `resourceVersion` on (nil: from now), until the task is
    /// cancelled or the server ends the watch (then the stream finishes; resume from the last bookmark).
    func watchPods(_ query: PodQuery, resourceVersion: String?) -> AsyncThrowingStream<PodWatchEvent, any Error>
}

/// Decodes what the API server sends: lists, watch lines and `Status` errors. Only the fields
/// cluster mode uses are read; anything else in the objects is ignored, as kubectl does.
public enum KubeDecoder {
    public static func podList(_ data: Data) throws(SondeError) -> (pods: [KubePod], resourceVersion: String) {
        try podList(try object(data, what: "pod list"))
    }

    static func podList(_ root: [String: JSONValue]) throws(SondeError) -> (pods: [KubePod], resourceVersion: String) {
        try expectKind(root, "PodList")
        var pods: [KubePod] = []
        for item in root["items"]?.array ?? [] { pods.append(try pod(item)) }
        return (pods, root["metadata"]?["resourceVersion"]?.string ?? "")
    }

    public static func nodeList(_ data: Data) throws(SondeError) -> [KubeNode] {
        try nodeList(try object(data, what: "node list"))
    }

    static func nodeList(_ root: [String: JSONValue]) throws(SondeError) -> [KubeNode] {
        try expectKind(root, "NodeList")
        var nodes: [KubeNode] = []
        for item in root["items"]?.array ?? [] { nodes.append(try node(item)) }
        return nodes
    }

    /// One line of a watch stream: `{"type":"ADDED","object":{...}}`.
    public static func watchEvent(_ line: Data) throws(SondeError) -> PodWatchEvent {
        try watchEvent(try object(line, what: "watch event"), preview: preview(line))
    }

    static func watchEvent(_ root: [String: JSONValue], preview: String) throws(SondeError) -> PodWatchEvent {
        guard let type = root["type"]?.string, let object = root["object"] else {
            throw SondeError(.malformedInput, "watch event without type or object: \(preview)")
        }
        switch type {
        case "ADDED": return .added(try pod(object))
        case "MODIFIED": return .modified(try pod(object))
        case "DELETED": return .deleted(try pod(object))
        case "BOOKMARK":
            return .bookmark(resourceVersion: object["metadata"]?["resourceVersion"]?.string ?? "")
        case "ERROR":
            // The server ends a watch this way, e.g. 410 Gone when the resource version is too old.
            throw statusError(object.object ?? [:], httpStatus: nil)
        default:
            throw SondeError(.malformedInput, "watch event of unknown type '\(type)'")
        }
    }

    /// The error of a non-2xx answer: its `Status` object when it sent one, else the HTTP status.
    public static func failure(status: Int, body: Data) -> SondeError {
        if let root = (try? JSONValue.parse(body))?.object, root["kind"]?.string == "Status" {
            return statusError(root, httpStatus: status)
        }
        return statusError(["code": .number(Double(status)), "message": .string(String(decoding: body.prefix(200), as: UTF8.self))],
                           httpStatus: status)
    }

    static func statusError(_ status: [String: JSONValue], httpStatus: Int?) -> SondeError {
        let code = status["code"]?.integer.map { Int($0) } ?? httpStatus ?? 0
        let reason = status["reason"]?.string ?? ""
        let message = status["message"]?.string ?? ""
        let what = "the Kubernetes API server answered \(code)\(reason.isEmpty ? "" : " " + reason)\(message.isEmpty ? "" : ": " + message)"
        switch code {
        case 401:
            return SondeError(.notPrivileged, what, hint: "the credentials were refused: check the kubeconfig's user (client certificate or token), or the service account token")
        case 403:
            return SondeError(.notPrivileged, what, hint: "kubectl-sonde needs get, list and watch on pods and nodes (deploy/kubernetes/rbac.yaml)")
        case 404:
            return SondeError(.notFound, what)
        default:
            return SondeError(.kubernetesAPI, what)
        }
    }

    static func pod(_ value: JSONValue) throws(SondeError) -> KubePod {
        guard let metadata = value["metadata"], let name = metadata["name"]?.string else {
            throw SondeError(.malformedInput, "a pod without metadata.name in the API server's answer")
        }
        let spec = value["spec"], status = value["status"]
        var containers: [KubeContainer] = []
        let statuses = status?["containerStatuses"]?.array ?? []
        // Spec order, with each container's runtime id from its status (absent until created).
        for specContainer in spec?["containers"]?.array ?? [] {
            guard let containerName = specContainer["name"]?.string else { continue }
            let state = statuses.first { $0["name"]?.string == containerName }
            let (runtime, id) = splitContainerID(state?["containerID"]?.string ?? "")
            containers.append(KubeContainer(name: containerName, id: id, runtime: runtime, ready: state?["ready"]?.bool ?? false))
        }
        return KubePod(name: name, namespace: metadata["namespace"]?.string ?? "default",
                       uid: metadata["uid"]?.string ?? "", labels: metadata["labels"]?.stringMap ?? [:],
                       nodeName: spec?["nodeName"]?.string ?? "", hostIP: status?["hostIP"]?.string ?? "",
                       phase: status?["phase"]?.string ?? "", containers: containers,
                       resourceVersion: metadata["resourceVersion"]?.string ?? "")
    }

    static func node(_ value: JSONValue) throws(SondeError) -> KubeNode {
        guard let metadata = value["metadata"], let name = metadata["name"]?.string else {
            throw SondeError(.malformedInput, "a node without metadata.name in the API server's answer")
        }
        let addresses = (value["status"]?["addresses"]?.array ?? []).compactMap { entry -> (type: String, address: String)? in
            guard let type = entry["type"]?.string, let address = entry["address"]?.string else { return nil }
            return (type, address)
        }
        return KubeNode(name: name, labels: metadata["labels"]?.stringMap ?? [:], addresses: addresses)
    }

    /// "containerd://0123abc" -> ("containerd", "0123abc").
    static func splitContainerID(_ text: String) -> (runtime: String, id: String) {
        guard let range = text.range(of: "://") else { return ("", text) }
        return (String(text[..<range.lowerBound]), String(text[range.upperBound...]))
    }

    static func object(_ data: Data, what: String) throws(SondeError) -> [String: JSONValue] {
        let parsed: JSONValue
        do {
            parsed = try JSONValue.parse(data)
        } catch {
            throw SondeError(.malformedInput, "the API server's \(what) is not JSON (\(data.count) bytes, truncated?): \(preview(data))")
        }
        guard let root = parsed.object else {
            throw SondeError(.malformedInput, "the API server's \(what) is not a JSON object: \(preview(data))")
        }
        if root["kind"]?.string == "Status", root["status"]?.string == "Failure" {
            throw statusError(root, httpStatus: nil)
        }
        return root
    }

    static func expectKind(_ root: [String: JSONValue], _ kind: String) throws(SondeError) {
        if let found = root["kind"]?.string, found != kind {
            throw SondeError(.malformedInput, "expected a \(kind) from the API server, got a \(found)")
        }
    }

    static func preview(_ data: Data) -> String {
        let text = String(decoding: data.prefix(120), as: UTF8.self)
        return data.count > 120 ? text + "..." : text
    }
}

/// Pods and nodes from recorded API objects (a PodList and a NodeList), answered as a server
/// would: the fixture of the tests, and `kubectl sonde --cluster-file` for offline use.
public struct StaticKubernetesAPI: KubernetesAPI {
    public var podList: [KubePod]
    public var nodeList: [KubeNode]
    /// Sent, in order, to every watch; the stream then stays open until cancelled, as a quiet server's.
    public var watchEvents: [PodWatchEvent]

    public init(pods: [KubePod], nodes: [KubeNode], watchEvents: [PodWatchEvent] = []) {
        self.podList = pods
        self.nodeList = nodes
        self.watchEvents = watchEvents
    }

    /// A JSON file `{"pods": <PodList>, "nodes": <NodeList>}` as `kubectl get pods,nodes -o json`
    /// items would give them; optionally `"watch": [<watch event>...]`, the lines a pod watch sends.
    public static func load(path: String) throws(SondeError) -> StaticKubernetesAPI {
        let data = try Files.readData(path)
        let root = try KubeDecoder.object(data, what: "cluster file \(path)")
        func section(_ key: String) throws(SondeError) -> [String: JSONValue] {
            guard let value = root[key] else { throw SondeError(.malformedInput, "\(path): no \"\(key)\" list") }
            guard let object = value.object else { throw SondeError(.malformedInput, "\(path): \(key): expected an object") }
            return object
        }
        var events: [PodWatchEvent] = []
        for line in root["watch"]?.array ?? [] {
            guard let event = line.object else { continue }
            events.append(try KubeDecoder.watchEvent(event, preview: "\(path): watch"))
        }
        return StaticKubernetesAPI(pods: try KubeDecoder.podList(try section("pods")).pods,
                                   nodes: try KubeDecoder.nodeList(try section("nodes")), watchEvents: events)
    }

    public func pods(_ query: PodQuery) async throws(SondeError) -> [KubePod] { podList.filter(query.matches) }
    public func nodes() async throws(SondeError) -> [KubeNode] { nodeList }

    public func watchPods(_ query: PodQuery, resourceVersion: String?) -> AsyncThrowingStream<PodWatchEvent, any Error> {
        let events = watchEvents
        return AsyncThrowingStream { continuation in
            for event in events {
                switch event {
                case .added(let pod), .modified(let pod), .deleted(let pod):
                    if query.matches(pod) { continuation.yield(event) }
                case .bookmark: continuation.yield(event)
                }
            }
        }
    }
}
