import Containers
import DaemonAPI
import Events
import Foundation
import GRPCCore
import LinuxKit
import Synchronization

/// What to run on every node's daemon.
public enum ClusterOperation: Sendable {
    /// A trace gadget (RunGadget) on the node's selected containers.
    case gadget(String)
    /// The seccomp agent's decisions (WatchSupervisor), kept for the selected containers.
    case supervisorEvents
    /// The flight recorder's dump of each selected container (DumpRecorder).
    case recorderDump(last: UInt32, json: Bool, reading: Sonde_V1_DumpReading = Sonde_V1_DumpReading())
}

/// What the merged stream carries; every record names its node.
public enum ClusterRecord: Sendable {
    /// An event, its container named as the API knows it (pod, namespace, the pod's container name).
    case event(node: String, Event)
    /// A line of a recorder dump (strace text or a JSON object).
    case dumpLine(PodContainer, String)
    /// The node's daemon runs the operation (the gadget is attached, the watch subscribed).
    case ready(node: String)
    /// Something to tell the user about a node that is still there (losses, a skipped container).
    case notice(node: String, String)
    /// The node could not take part, or dropped out: its events are missing from the output.
    case nodeFailed(node: String, reason: String)
}

/// Runs one operation on the daemons of every node of a plan at once and merges their streams. A
/// node that is down or slow costs its own records only: each node has its own task, its daemon
/// must answer within `connectTimeout`, and its failure is one `nodeFailed` record.
public struct ClusterFanOut: Sendable {
    public var dialer: any DaemonDialer
    /// Connect, TLS and the daemon's first answer (Status) must fit in this.
    public var connectTimeout: Duration
    /// Streams end after this (0: until cancelled); the daemons are told, and the client gives
    /// them a few seconds more before it cancels.
    public var timeoutSeconds: Double
    /// The Kubernetes user (and groups) to act as, sent with every call: daemons honour it only
    /// from a certificate they let impersonate (docs/daemon-security.md).
    public var impersonate: Impersonation?

    public struct Impersonation: Sendable {
        public var user: String
        public var groups: [String]

        public init(user: String, groups: [String] = []) {
            self.user = user
            self.groups = groups
        }
    }

    public init(dialer: any DaemonDialer, connectTimeout: Duration = .seconds(3), timeoutSeconds: Double = 0, impersonate: Impersonation? = nil) {
        self.dialer = dialer
        self.connectTimeout = connectTimeout
        self.timeoutSeconds = timeoutSeconds
        self.impersonate = impersonate
    }

    /// The metadata of every call: who the client acts as, when it forwards a user.
    var metadata: Metadata {
        var metadata = Metadata()
        if let impersonate {
            metadata.addString(impersonate.user, forKey: "sonde-impersonate-user")
            for group in impersonate.groups { metadata.addString(group, forKey: "sonde-impersonate-group") }
        }
        return metadata
    }

    /// Runs `operation` on every node of `plan`; `sink` gets every record, from any node's task
    /// (it must be thread-safe). With `follow`, streams (gadgets, supervisor events) also pick up
    /// containers of pods that appear, or start, while they run: the API's pod watch gives them,
    /// and each gets its own stream on its node. Returns when every node is done, failed, or the
    /// task is cancelled.
    public func run(_ plan: ClusterPlan, _ operation: ClusterOperation, follow: Follow? = nil,
                    sink: @escaping @Sendable (ClusterRecord) -> Void) async {
        let started = ContinuousClock.now
        let newNodes = follow.flatMap { follow -> AsyncStream<NodePlan>? in
            if case .recorderDump = operation { return nil }
            return Self.follow(follow, known: plan, timeoutSeconds: timeoutSeconds, sink: sink)
        }
        await withTaskGroup(of: Void.self) { group in
            for node in plan.nodes {
                group.addTask { await self.runNode(node, operation, sink: sink) }
            }
            guard let newNodes else { return }
            for await node in newNodes {
                // What is left of the run's time, for a stream that starts late.
                var late = self
                if timeoutSeconds > 0 {
                    let elapsed = ContinuousClock.now - started
                    let left = timeoutSeconds - (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
                    guard left > 0.5 else { continue }
                    late.timeoutSeconds = left
                }
                let fanOut = late
                group.addTask { await fanOut.runNode(node, operation, sink: sink) }
            }
        }
    }

    /// Where new pods come from: the API and the selection that chose the plan.
    public struct Follow: Sendable {
        public var api: any KubernetesAPI
        public var selection: PodSelection

        public init(api: any KubernetesAPI, selection: PodSelection) {
            self.api = api
            self.selection = selection
        }
    }

    /// Plans for containers the watch reports that `known` does not stream yet. The stream ends at
    /// the timeout, or when the watch does (its end is a notice: what runs goes on).
    static func follow(_ follow: Follow, known: ClusterPlan, timeoutSeconds: Double,
                       sink: @escaping @Sendable (ClusterRecord) -> Void) -> AsyncStream<NodePlan> {
        let (stream, continuation) = AsyncStream.makeStream(of: NodePlan.self)
        var addresses: [String: String] = [:]
        for node in known.nodes { if let host = node.host { addresses[node.node] = host } }
        let initial = Set(known.nodes.flatMap { $0.containers.map(\.container.id) })
        let watcher = Task { [addresses] in
            var streamed = initial
            do {
                // ADDED for a new pod (and, on a watch without a resource version, for every
                // existing one: those are already streamed); MODIFIED when its containers start.
                for try await event in follow.api.watchPods(follow.selection.query, resourceVersion: nil) {
                    switch event {
                    case .added(let pod), .modified(let pod): emit(pod)
                    case .deleted, .bookmark: break
                    }
                }
            } catch {
                if !Task.isCancelled { sink(.notice(node: "-", "the pod watch ended, new pods are not followed: \(ClusterFanOut.reason(error, endpoint: .unix("-")))")) }
            }
            continuation.finish()

            func emit(_ pod: KubePod) {
                guard follow.selection.selects(pod) else { return }
                let fresh = ClusterPlan.plan(pods: [pod], selection: follow.selection, nodeAddresses: addresses)
                for var node in fresh.nodes {
                    node.containers.removeAll { streamed.contains($0.container.id) }
                    guard !node.containers.isEmpty else { continue }
                    for container in node.containers { streamed.insert(container.container.id) }
                    sink(.notice(node: node.node, "following " + node.containers.map { "\($0.pod.namespace)/\($0.pod.name) \($0.container.name)" }.joined(separator: ", ")))
                    continuation.yield(node)
                }
            }
        }
        let timer = Task {
            guard timeoutSeconds > 0 else { return }
            try? await Task.sleep(for: .milliseconds(Int64(timeoutSeconds * 1000)))
            continuation.finish()
        }
        continuation.onTermination = { _ in
            watcher.cancel()
            timer.cancel()
        }
        return stream
    }

    func runNode(_ node: NodePlan, _ operation: ClusterOperation, sink report: @escaping @Sendable (ClusterRecord) -> Void) async {
        let endpoint: DaemonEndpoint
        do {
            endpoint = try await dialer.dial(node)
        } catch {
            report(.nodeFailed(node: node.node, reason: error.message))
            return
        }
        let connectTimeout = self.connectTimeout
        let byID = Dictionary(node.containers.map { ($0.container.id, $0) }) { first, _ in first }
        let streaming = ReadyFlag()
        let sink: @Sendable (ClusterRecord) -> Void = { record in
            if case .ready = record { streaming.set() }
            report(record)
        }
        do {
            try await DaemonClient.with(endpoint: endpoint) { client in
                // A node that accepts but never answers (or whose TLS stalls) must not hold the
                // others: its first answer has a deadline, both as the call's and as a timer's.
                let silent = SondeError(.daemonUnavailable, "no answer within \(Self.seconds(connectTimeout)) (connect, TLS and Status)")
                do {
                    _ = try await withDeadline(connectTimeout, orFail: silent) {
                        try await client.status(Sonde_V1_StatusRequest(), metadata: metadata, options: DaemonClient.options(timeout: connectTimeout))
                    }
                } catch let error as RPCError {
                    // The call's deadline and the timer are the same limit; whichever fires first.
                    throw error.code == .deadlineExceeded ? silent : SondeError(rpc: error, socket: endpoint.description)
                }
                switch operation {
                case .gadget(let gadget): try await runGadget(gadget, node, byID, client, sink)
                case .supervisorEvents: try await watchSupervisor(node, byID, client, sink)
                case .recorderDump(let last, let json, let reading): try await dump(node, last: last, json: json, reading: reading, client, sink)
                }
            }
            // Awaited, not deferred to a task: a tunnel must end before the plugin exits.
            await dialer.hangUp(node)
        } catch {
            await dialer.hangUp(node)
            if Task.isCancelled { return }
            let reason = Self.reason(error, endpoint: endpoint)
            // After `ready` the node was there: say that its stream was cut, not that it was absent.
            sink(.nodeFailed(node: node.node, reason: streaming.isSet ? "its stream was cut after it started: " + reason : reason))
        }
    }

    /// Stream options: the daemon ends the stream at the timeout, then sends what it still holds
    /// (a backlog when the client reads slower than the node produces); the client gives it as
    /// long again (10 s at least), then cuts.
    private var streamOptions: CallOptions {
        DaemonClient.options(timeout: timeoutSeconds > 0 ? .milliseconds(Int64(timeoutSeconds * 1000 * 2)) + .seconds(10) : nil)
    }

    private func runGadget(_ gadget: String, _ node: NodePlan, _ byID: [String: PodContainer], _ client: SondeAPIClient,
                           _ sink: @escaping @Sendable (ClusterRecord) -> Void) async throws {
        let request = Sonde_V1_RunGadgetRequest.with {
            $0.gadget = gadget
            // Runtime ids: exact on the node whatever name the runtime gave the container.
            $0.selector.names = node.containers.map(\.container.id)
            $0.timeoutSeconds = timeoutSeconds
        }
        try await client.runGadget(request, metadata: metadata, options: streamOptions) { response in
            for try await reply in response.messages {
                switch reply.kind {
                case .event(let message):
                    if let event = Self.enrich(message.event, byID) { sink(.event(node: node.node, event)) }
                case .notice(let text): sink(.notice(node: node.node, text))
                case .stats(let stats):
                    if !stats.lossSummary.isEmpty { sink(.notice(node: node.node, "warning: " + stats.lossSummary)) }
                case .ready: sink(.ready(node: node.node))
                case nil: break
                }
            }
        }
    }

    private func watchSupervisor(_ node: NodePlan, _ byID: [String: PodContainer], _ client: SondeAPIClient,
                                 _ sink: @escaping @Sendable (ClusterRecord) -> Void) async throws {
        let request = Sonde_V1_WatchSupervisorRequest.with { $0.timeoutSeconds = timeoutSeconds }
        try await client.watchSupervisor(request, metadata: metadata, options: streamOptions) { response in
            var reported = ""
            for try await reply in response.messages {
                switch reply.kind {
                case .event(let message):
                    // The agent streams every supervised container's decisions; keep the selection's.
                    if let event = Self.enrich(message.event, byID) { sink(.event(node: node.node, event)) }
                case .stats(let stats):
                    if !stats.lossSummary.isEmpty && stats.lossSummary != reported {
                        reported = stats.lossSummary
                        sink(.notice(node: node.node, "warning: " + stats.lossSummary))
                    }
                case .ready: sink(.ready(node: node.node))
                case nil: break
                }
            }
        }
    }

    private func dump(_ node: NodePlan, last: UInt32, json: Bool, reading: Sonde_V1_DumpReading, _ client: SondeAPIClient,
                      _ sink: @escaping @Sendable (ClusterRecord) -> Void) async throws {
        sink(.ready(node: node.node))
        for container in node.containers {
            let request = Sonde_V1_DumpRecorderRequest.with {
                $0.container = container.container.id
                $0.last = last
                $0.format = json ? .json : .text
                $0.reading = reading
            }
            do {
                try await client.dumpRecorder(request, metadata: metadata, options: DaemonClient.options(timeout: .seconds(60))) { response in
                    for try await reply in response.messages {
                        for line in reply.lines { sink(.dumpLine(container, line)) }
                        if reply.hasSummary, reply.summary.overwritten + reply.summary.dropped + reply.summary.corrupt > 0 {
                            let s = reply.summary
                            sink(.notice(node: node.node, "\(container.pod.namespace)/\(container.pod.name) \(container.container.name): "
                                         + "\(s.overwritten) calls overwritten, \(s.dropped) dropped, \(s.corrupt) corrupt"))
                        }
                    }
                }
            } catch let error as RPCError where error.code == .notFound || error.code == .permissionDenied {
                // One container the daemon does not record, or does not let this client read, is a
                // notice; the node and its others go on.
                sink(.notice(node: node.node, "\(container.pod.namespace)/\(container.pod.name) \(container.container.name): \(error.message)"))
            }
        }
    }

    /// The event with its container named as the cluster knows it; nil for a container that is
    /// not in the selection.
    static func enrich(_ event: Event, _ byID: [String: PodContainer]) -> Event? {
        guard let container = event.container, let selected = byID[container.id] else { return nil }
        var event = event
        var named = container
        named.name = selected.container.name
        named.pod = Pod(name: selected.pod.name, namespace: selected.pod.namespace,
                        uid: selected.pod.uid.isEmpty ? nil : selected.pod.uid, labels: selected.pod.labels)
        event.container = named
        return event
    }

    static func reason(_ error: any Error, endpoint: DaemonEndpoint) -> String {
        switch error {
        case let error as SondeError: error.message
        case let error as RPCError: SondeError(rpc: error, socket: endpoint.description).message
        default: "\(error)"
        }
    }

    static func seconds(_ duration: Duration) -> String {
        let value = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }
}

/// Set once, read from any task.
private final class ReadyFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
