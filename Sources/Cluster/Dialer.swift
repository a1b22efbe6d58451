import DaemonAPI
import Foundation
import LinuxKit
import Synchronization

/// How the fan-out reaches a node's daemon. `DirectDialer` dials the node's address (the daemon's
/// TCP listener with mutual TLS, deploy/kubernetes/daemonset.yaml). Another route (through the API
/// server, `KubectlPortForwardDialer`) gives a local endpoint instead; the fan-out does not care.
public protocol DaemonDialer: Sendable {
    /// The endpoint for `node`. Throws when the node cannot be reached that way at all.
    func dial(_ node: NodePlan) async throws(SondeError) -> DaemonEndpoint
    /// Called once the fan-out is done with `node` (a tunnel ends here).
    func hangUp(_ node: NodePlan) async
}

extension DaemonDialer {
    /// One forward per stream: a node gets a second stream when new pods appear on it.
    static func key(_ node: NodePlan) -> String {
        node.node + "/" + node.containers.map(\.container.id).joined(separator: ",")
    }

    public func hangUp(_ node: NodePlan) async {}
}

/// Dials each node's daemon at the node's address: InternalIP from the Node object (or the pod's
/// hostIP) and the daemon's port. Every daemon presents a certificate naming `tls.serverName`
/// (one certificate for the DaemonSet), checked against `tls.ca`.
public struct DirectDialer: DaemonDialer {
    public var port: Int
    public var tls: DaemonEndpoint.ClientTLS
    /// Node name -> address, overriding what the API says (tests, NAT).
    public var addresses: [String: String]

    public init(port: Int, tls: DaemonEndpoint.ClientTLS, addresses: [String: String] = [:]) {
        self.port = port
        self.tls = tls
        self.addresses = addresses
    }

    public func dial(_ node: NodePlan) async throws(SondeError) -> DaemonEndpoint {
        guard let host = addresses[node.node] ?? node.host else {
            throw SondeError(.notFound, "node \(node.node) has no address (no InternalIP, no pod hostIP)")
        }
        return .tcp(host: host, port: port, tls: tls.forNode(node.node))
    }
}

extension DaemonEndpoint.ClientTLS {
    /// With per-node daemon certificates, `{node}` in the server name becomes the node's name: a
    /// key stolen from one node then cannot pass for another node's daemon.
    func forNode(_ node: String) -> Self {
        var tls = self
        tls.serverName = serverName?.replacingOccurrences(of: "{node}", with: node)
        return tls
    }
}

/// Reaches each node's daemon through the API server: `kubectl port-forward` to the sonde pod on
/// that node (found by the DaemonSet's label), so no node port needs to be reachable from the
/// client, as with any `kubectl port-forward`. The daemon's certificate is still checked (by its
/// name, `tls.serverName`, since the dialled host is 127.0.0.1).
public final class KubectlPortForwardDialer: DaemonDialer, Sendable {
    let api: any KubernetesAPI
    let namespace: String
    let labelSelector: LabelSelector
    let port: Int
    let tls: DaemonEndpoint.ClientTLS
    let kubectl: [String]
    private let forwards = Mutex([String: Process]())

    /// `kubectl`: the command and its global flags (--kubeconfig, --context).
    public init(api: any KubernetesAPI, namespace: String, labelSelector: LabelSelector, port: Int, tls: DaemonEndpoint.ClientTLS,
                kubectl: [String] = ["kubectl"]) {
        self.api = api
        self.namespace = namespace
        self.labelSelector = labelSelector
        self.port = port
        self.tls = tls
        self.kubectl = kubectl
    }

    public func dial(_ node: NodePlan) async throws(SondeError) -> DaemonEndpoint {
        let daemons = try await api.pods(PodQuery(namespace: namespace, labelSelector: labelSelector, nodeName: node.node))
        guard let daemon = daemons.first(where: { $0.phase == "Running" }) else {
            throw SondeError(.notFound, "no running sonde daemon pod on node \(node.node) (namespace \(namespace), \(labelSelector))",
                             hint: "kubectl sonde deploy --apply")
        }
        let process = Process()
        let path = kubectl[0].hasPrefix("/") ? kubectl[0] : "/usr/bin/env"
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = (path == "/usr/bin/env" ? [kubectl[0]] : []) + Array(kubectl.dropFirst())
            + ["port-forward", "-n", namespace, "pod/\(daemon.name)", ":\(port)"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw SondeError(.system, "cannot run kubectl port-forward: \(error)")
        }
        // kubectl prints "Forwarding from 127.0.0.1:41234 -> 7443" once the local port listens; a
        // kubectl that says nothing in 15 s is ended, which ends the read below.
        let watchdog = Task { [process] in
            try? await Task.sleep(for: .seconds(15))
            if !Task.isCancelled, process.isRunning { process.terminate() }
        }
        defer { watchdog.cancel() }
        let handle = output.fileHandleForReading
        let local: Int? = await Task.detached {
            var text = ""
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { return nil }
                text += String(decoding: chunk, as: UTF8.self)
                if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Forwarding from 127.0.0.1:") }),
                   let portText = line.dropFirst("Forwarding from 127.0.0.1:".count).split(separator: " ").first {
                    return Int(portText)
                }
            }
        }.value
        guard let local else {
            if process.isRunning { process.terminate() }
            throw SondeError(.daemonUnavailable, "kubectl port-forward to \(daemon.name) on node \(node.node) failed")
        }
        forwards.withLock { $0[Self.key(node)] = process }
        return .tcp(host: "127.0.0.1", port: local, tls: tls.forNode(node.node))
    }

    /// One forward per stream: a node gets a second stream when new pods appear on it.
    static func key(_ node: NodePlan) -> String {
        node.node + "/" + node.containers.map(\.container.id).joined(separator: ",")
    }

    public func hangUp(_ node: NodePlan) async {
        guard let process = forwards.withLock({ $0.removeValue(forKey: Self.key(node)) }), process.isRunning else { return }
        // SIGTERM, then SIGKILL after 2 s: a child started from a worker thread inherits its
        // blocked signals, and one that ignores SIGTERM must not keep the plugin from exiting.
        kill(process.processIdentifier, SIGTERM)
        for _ in 0..<100 where process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
    }
}
