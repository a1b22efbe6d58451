import LinuxKit

/// The pods and containers a command targets: kubectl's selection flags.
public struct PodSelection: Sendable {
    /// nil: every namespace (`-A`).
    public var namespace: String?
    /// `-p`: pod names (any of them); empty: every pod of the namespace(s).
    public var podNames: [String]
    public var labelSelector: LabelSelector?
    /// `--node`: only pods scheduled there.
    public var node: String?
    /// `-c`: container names within the pods (any of them); empty: every container.
    public var containerNames: [String]

    public init(namespace: String?, podNames: [String] = [], labelSelector: LabelSelector? = nil, node: String? = nil,
                containerNames: [String] = []) {
        self.namespace = namespace
        self.podNames = podNames
        self.labelSelector = labelSelector
        self.node = node
        self.containerNames = containerNames
    }

    public var query: PodQuery { PodQuery(namespace: namespace, labelSelector: labelSelector, nodeName: node) }

    /// Whether a pod the API returned for `query` is one of ours (the pod names and containers
    /// are chosen on this side: the API has no "any of these names" query).
    public func selects(_ pod: KubePod) -> Bool {
        query.matches(pod) && (podNames.isEmpty || podNames.contains(pod.name))
    }

    public var summary: String {
        var parts: [String] = [namespace.map { "namespace \($0)" } ?? "all namespaces"]
        if !podNames.isEmpty { parts.append("pods " + podNames.joined(separator: ",")) }
        if let labelSelector { parts.append("labels \(labelSelector)") }
        if let node { parts.append("node \(node)") }
        if !containerNames.isEmpty { parts.append("containers " + containerNames.joined(separator: ",")) }
        return parts.joined(separator: ", ")
    }
}

/// One container of a selected pod, where it runs.
public struct PodContainer: Sendable, Equatable {
    public var node: String
    public var pod: KubePod
    public var container: KubeContainer

    public init(node: String, pod: KubePod, container: KubeContainer) {
        self.node = node
        self.pod = pod
        self.container = container
    }
}

/// A node to reach, and the containers of the selection it runs.
public struct NodePlan: Sendable, Equatable {
    public var node: String
    /// The node's address for a direct dial (its InternalIP, else the pods' hostIP); nil when unknown.
    public var host: String?
    public var containers: [PodContainer]

    public init(node: String, host: String?, containers: [PodContainer]) {
        self.node = node
        self.host = host
        self.containers = containers
    }
}

/// Which nodes to ask about which containers.
public struct ClusterPlan: Sendable {
    public var nodes: [NodePlan]
    /// Selected pods or containers that cannot be traced now (not scheduled, not started).
    public var skipped: [String]

    /// Resolves the selection through the API: pods, then the nodes they run on.
    public static func resolve(_ selection: PodSelection, api: any KubernetesAPI) async throws(SondeError) -> ClusterPlan {
        let pods = try await api.pods(selection.query).filter(selection.selects)
        guard !pods.isEmpty else {
            throw SondeError(.notFound, "no pod matches (\(selection.summary))",
                             hint: "check with `kubectl get pods` and the same -n/-A/-l/--node; -p takes exact pod names")
        }
        // Node addresses: listing nodes needs its own permission; without it, the pods' hostIP serves.
        var addresses: [String: String] = [:]
        if let nodes = try? await api.nodes() {
            for node in nodes { if let host = node.daemonHost { addresses[node.name] = host } }
        }
        return plan(pods: pods, selection: selection, nodeAddresses: addresses)
    }

    public static func plan(pods: [KubePod], selection: PodSelection, nodeAddresses: [String: String]) -> ClusterPlan {
        var byNode: [String: NodePlan] = [:]
        var skipped: [String] = []
        for pod in pods.sorted(by: { ($0.namespace, $0.name) < ($1.namespace, $1.name) }) {
            guard !pod.nodeName.isEmpty else {
                skipped.append("\(pod.namespace)/\(pod.name): not scheduled on a node yet")
                continue
            }
            var matched = false
            for container in pod.containers where selection.containerNames.isEmpty || selection.containerNames.contains(container.name) {
                matched = true
                guard !container.id.isEmpty else {
                    skipped.append("\(pod.namespace)/\(pod.name) container \(container.name): not created yet (\(pod.phase))")
                    continue
                }
                let host = nodeAddresses[pod.nodeName] ?? (pod.hostIP.isEmpty ? nil : pod.hostIP)
                byNode[pod.nodeName, default: NodePlan(node: pod.nodeName, host: host, containers: [])]
                    .containers.append(PodContainer(node: pod.nodeName, pod: pod, container: container))
                if byNode[pod.nodeName]?.host == nil { byNode[pod.nodeName]?.host = host }
            }
            if !matched {
                skipped.append("\(pod.namespace)/\(pod.name): no container named " + selection.containerNames.joined(separator: " or ")
                               + " (it has " + pod.containers.map(\.name).joined(separator: ", ") + ")")
            }
        }
        return ClusterPlan(nodes: byNode.values.sorted { $0.node < $1.node }, skipped: skipped)
    }
}
