import Containers
import DaemonAPI
import Events
import Foundation
import Gadgets
import GRPCCore
import LinuxKit
import Recorder
import Synchronization
import Syscalls

/// The gRPC API of `sonde daemon` (proto/sonde.proto): a plain struct over the daemon's shared
/// state. Every handler turns errors into gRPC status codes (`answering`); none can take the
/// daemon down. On TCP every call runs as an authorised client (TCPAuthorization) and sees only
/// the containers its grant permits; mutating calls are the unix socket's only.
public struct SondeService: Sonde_V1_Sonde.SimpleServiceProtocol {
    /// Which listener this instance serves.
    enum Access: Sendable {
        /// The root-only unix socket: everything.
        case local
        /// The TCP listener: each call's client is APIClient.current, its streams counted here.
        case tcp(StreamQuota)
    }

    let node: NodeState
    let access: Access

    init(node: NodeState, access: Access) {
        self.node = node
        self.access = access
    }

    /// The client of the running call. On TCP a call without an authorised client is refused
    /// (fails closed should the interceptor ever be missing).
    func client() throws(SondeError) -> APIClient {
        switch access {
        case .local: return .local
        case .tcp:
            guard let client = APIClient.current, !client.isLocal else {
                throw SondeError(.notPrivileged, "this call has no authorised client")
            }
            return client
        }
    }

    /// Refuses calls that change the daemon's state over TCP.
    func requireLocal(_ call: String) throws(SondeError) {
        guard case .local = try client() else {
            throw SondeError(.notPrivileged, "\(call) is served on the node's unix socket only",
                             hint: "OCI hooks call it as root on the node; TCP clients may only read")
        }
    }

    /// Whether the client may see an event. The agent describes a container by what the runtime
    /// sent it (no pod): the daemon's collection, which knows the pod, decides.
    func permits(_ event: Event, _ grant: Grant) -> Bool {
        guard !grant.wholeNode else { return true }
        guard let container = event.container else { return false }
        return grant.permits(node.collection.container(cgroupID: container.cgroupID) ?? container)
    }

    /// Runs a stream, counted against its client's quota on TCP.
    func stream(_ client: APIClient, _ body: () async throws -> Void) async throws {
        switch access {
        case .local: try await body()
        case .tcp(let quota): try await quota.run(client, body)
        }
    }

    public func status(request: Sonde_V1_StatusRequest, context: ServerContext) async throws -> Sonde_V1_StatusReply {
        try await answering {
            let recorded = try node.recorder?.recorded() ?? []
            return .with {
                $0.version = NodeState.version
                $0.pid = getpid()
                $0.startedNs = node.startedAt
                $0.containers = UInt32(node.collection.all.count)
                $0.recorded = UInt32(recorded.filter { !$0.ended }.count)
                $0.watchers = node.watchers.withLock { $0 }
                $0.pinDirectory = node.recorder?.settings.pinDirectory ?? ""
                $0.stateDirectory = node.recorder?.settings.stateDirectory ?? ""
                $0.configSummary = node.config.recordEnabled ? "recording " + node.config.recordSelection.summary : "recording off"
                $0.gadgets = GadgetRegistry.names
                $0.gadgetSessions = UInt32(node.gadgetSessions.withLock { $0 })
                $0.bpfStats = Self.bpfStats(node.bpfCost)
            }
        }
    }

    static func bpfStats(_ sampler: BPFCostSampler) -> Sonde_V1_BpfStats {
        let (sample, error) = sampler.current
        return .with { stats in
            stats.everySeconds = Self.seconds(sampler.settings.every)
            stats.windowSeconds = sample?.windowSeconds ?? Self.seconds(sampler.settings.window)
            stats.mode = !sampler.settings.enabled ? "off" : sample?.mode.rawValue ?? ""
            stats.error = error ?? ""
            guard let sample else { return }
            stats.windowEndNs = sample.endedAt
            stats.windows = sample.sequence
            stats.programs = sample.programs.map { program in
                .with {
                    $0.id = program.id
                    $0.name = program.name
                    $0.type = program.type
                    $0.runs = program.runs
                    $0.runTimeNs = program.runTimeNanoseconds
                }
            }
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    public func listContainers(request: Sonde_V1_ListContainersRequest, context: ServerContext) async throws -> Sonde_V1_ListContainersReply {
        try await answering {
            let grant = try client().grant
            let selection = try DaemonSelection(request.selector, cgroups: node.cgroups)
            if !grant.wholeNode && !selection.selector.cgroupPaths.isEmpty {
                throw SondeError(.notPrivileged, "selecting by cgroup path needs a grant of the whole node", hint: "this client has \(grant.summary)")
            }
            let collection = node.collection(extraCgroups: selection.selector.cgroupPaths)
            let change = collection.refresh()
            let recording = Set(try node.recorder?.recorded().filter { !$0.ended }.map { RecorderRegistryKey.of($0.container) } ?? [])
            return .with { reply in
                reply.problems = grant.wholeNode ? change.problems : []
                reply.containers = collection.all.filter { selection.matches($0) && grant.permits($0) }.map { c in
                    .with {
                        $0.container = Sonde_V1_Container(c)
                        $0.recording = recording.contains(RecorderRegistryKey.of(c))
                        $0.fromHook = node.hooks.contains(c)
                    }
                }
            }
        }
    }

    public func addContainer(request: Sonde_V1_AddContainerRequest, context: ServerContext) async throws -> Sonde_V1_AddContainerReply {
        try await answering {
            try requireLocal("AddContainer")
            guard request.hasState else { throw SondeError(.invalidArgument, "AddContainer needs the container's OCI state") }
            let container = try node.hooks.add(request.state, runtimeHint: request.runtime, cgroups: node.cgroups)
            // The kernel already writes the new cgroup's calls into a pool ring (cgroup_mkdir);
            // the recorder's step this wakes claims it for this container.
            node.runtimeChanged()
            let recording = node.config.recordEnabled && node.config.recordSelection.matches(container)
            node.notice("hook registered \(container.runtime) container \(container.name) (cgroup \(container.cgroupPath))\(recording ? ", recording" : "")")
            return .with {
                $0.container = Sonde_V1_Container(container)
                $0.recording = recording
            }
        }
    }

    public func removeContainer(request: Sonde_V1_RemoveContainerRequest, context: ServerContext) async throws -> Sonde_V1_RemoveContainerReply {
        try await answering {
            try requireLocal("RemoveContainer")
            guard !request.id.isEmpty else { throw SondeError(.invalidArgument, "RemoveContainer needs a container id") }
            let known = node.hooks.remove(id: request.id, runtime: request.runtime)
            node.recorderService?.requestRefresh()
            if known { node.notice("hook removed container \(request.id)") }
            return .with { $0.known = known }
        }
    }

    public func dumpRecorder(request: Sonde_V1_DumpRecorderRequest, response: RPCWriter<Sonde_V1_DumpRecorderReply>,
                             context: ServerContext) async throws {
        try await answering {
            let caller = try client()
            try await stream(caller) { try await dumpRecorder(request, caller.grant, response) }
        }
    }

    private func dumpRecorder(_ request: Sonde_V1_DumpRecorderRequest, _ grant: Grant,
                              _ response: RPCWriter<Sonde_V1_DumpRecorderReply>) async throws {
        guard let recorder = node.recorder else {
            throw SondeError(.notFound, "this daemon does not record", hint: "its config has record.enabled false")
        }
        // A name used again (a container re-created under the same name): the running one first.
        let recorded = try recorder.recorded().sorted { !$0.ended && $1.ended }.map(\.container)
        func find(_ among: [Container]) throws(SondeError) -> Container? {
            if !request.container.isEmpty {
                // An exact name or id wins over another container's id prefix.
                return among.first { $0.name == request.container || $0.id == request.container }
                    ?? among.first { ContainerSelector.name(request.container, matches: $0) }
            } else if !request.cgroupPath.isEmpty {
                let path = try node.cgroups.normalize(request.cgroupPath)
                return among.first { $0.cgroupPath == path }
            }
            throw SondeError(.invalidArgument, "name a container or a cgroup path")
        }
        // Looked up among what the client may read first: a prefix never lands on another tenant's.
        let readable = recorded.filter(grant.permits)
        guard let wanted = try find(readable) else {
            if let foreign = try find(recorded) {
                throw SondeError(.notPrivileged, "the recording of \(foreign.name) is not this client's to read",
                                 hint: "this client may read \(grant.summary)")
            }
            let names = readable.map { "\($0.name) (\($0.runtime))" }.sorted()
            throw SondeError(.notFound, "\(request.container.isEmpty ? request.cgroupPath : request.container) was not recorded",
                             hint: names.isEmpty ? "nothing is recorded" : "recorded: " + names.joined(separator: ", "))
        }
        let options = try DumpOptions(reading: request.reading, last: request.last)
        let dump = try recorder.dump(wanted)
        let lines = request.format == .json && !options.summary
            ? DumpRenderer.strace.json(dump, container: wanted, options: options) : DumpRenderer.strace.text(dump, options: options)
        // Chunks well under gRPC's 4 MiB message limit, even with long lines.
        var start = 0
        repeat {
            let end = min(start + 256, lines.count)
            var reply = Sonde_V1_DumpRecorderReply()
            reply.lines = Array(lines[start..<end])
            if end == lines.count {
                reply.summary = .with {
                    $0.container = Sonde_V1_Container(wanted)
                    $0.calls = UInt64(lines.count)
                    $0.overwritten = dump.overwritten
                    $0.dropped = dump.dropped
                    $0.corrupt = dump.corrupt
                }
            }
            try await response.write(reply)
            start = end
        } while start < lines.count
    }

    public func runGadget(request: Sonde_V1_RunGadgetRequest, response: RPCWriter<Sonde_V1_RunGadgetReply>,
                          context: ServerContext) async throws {
        try await answering {
            let caller = try client()
            try await stream(caller) { try await runGadget(request, caller.grant, response) }
        }
    }

    /// A client that may not read the whole node names the containers of its grant, or none (then
    /// it gets the events of the containers it may read).
    func checkGadgetSelection(_ selection: DaemonSelection, _ grant: Grant) throws(SondeError) {
        guard !grant.wholeNode else { return }
        if selection.selector.host || !selection.selector.cgroupPaths.isEmpty {
            throw SondeError(.notPrivileged, "host processes and cgroup paths need a grant of the whole node",
                             hint: "this client may read \(grant.summary)")
        }
        let known = node.collection.all
        for name in selection.selector.names {
            let named = known.filter { ContainerSelector.name(name, matches: $0) }
            if let foreign = named.first(where: { !grant.permits($0) }) {
                throw SondeError(.notPrivileged, "\(name) names \(foreign.name), which is not this client's to trace",
                                 hint: "this client may read \(grant.summary)")
            }
        }
    }

    private func runGadget(_ request: Sonde_V1_RunGadgetRequest, _ grant: Grant,
                           _ response: RPCWriter<Sonde_V1_RunGadgetReply>) async throws {
        guard let gadget = GadgetRegistry.gadget(named: request.gadget) else {
            throw SondeError(.notFound, "no gadget named '\(request.gadget)'", hint: "known: " + GadgetRegistry.names.joined(separator: ", "))
        }
        let selection = try DaemonSelection(request.selector, cgroups: node.cgroups)
        if !selection.labels.isEmpty || !selection.podNamespaces.isEmpty {
            // GadgetSession selects in the kernel by ContainerSelector; labels would need it to
            // follow label changes of new containers, which it does not do yet.
            throw SondeError(.invalidArgument, "gadgets select by name, runtime, cgroup or host; labels and pod namespaces are for the recorder")
        }
        try checkGadgetSelection(selection, grant)
        // At most a year: a larger value would trap when made a Duration.
        guard request.timeoutSeconds >= 0, request.timeoutSeconds.isFinite, request.timeoutSeconds <= 366 * 86_400 else {
            throw SondeError(.invalidArgument, "timeout must be from 0 (none) to 31622400 seconds")
        }
        var options = GadgetOptions(selector: selection.selector)
        if request.timeoutSeconds > 0 { options.timeout = .milliseconds(Int64(request.timeoutSeconds * 1000)) }

        // The session's sink is synchronous and must never block the reader of the kernel's
        // ring: replies queue here, bounded; what a slow client makes overflow is counted.
        let (stream, continuation) = AsyncStream.makeStream(of: Sonde_V1_RunGadgetReply.self, bufferingPolicy: .bufferingOldest(50_000))
        let overflow = Counter()
        node.gadgetSessions.withLock { $0 += 1 }
        let run = Task {
            defer { node.gadgetSessions.withLock { $0 -= 1 } }
            let session = GadgetSession(gadget: gadget, collection: node.collection(extraCgroups: selection.selector.cgroupPaths),
                                        options: options, notice: { text in continuation.yield(.with { $0.notice = text }) })
            defer { continuation.finish() }
            let metrics = node.metrics, name = gadget.name
            let stats = try await session.run(ready: { continuation.yield(.with { $0.ready = true }) }) { event in
                // A container the client may not read (one that started since, or any
                // container when it named none) is none of its business.
                guard permits(event, grant) else { return }
                metrics?.gadgetEvent(name)
                if case .dropped = continuation.yield(.with { $0.event = Sonde_V1_Event(event) }) { overflow.add(1) }
            }
            return stats
        }
        do {
            for await reply in stream { try await response.write(reply) }
        } catch {
            run.cancel() // the client went away mid-stream: stop the gadget, detach its programs
            _ = try? await run.value
            throw error
        }
        let stats = try await withTaskCancellationHandler { try await run.value } onCancel: { run.cancel() }
        let dropped = overflow.value
        node.metrics?.gadgetEnded(gadget.name, stats: stats, notSent: dropped)
        try await response.write(.with {
            $0.stats = .with {
                $0.delivered = stats.delivered - dropped
                $0.lostRingBufferFull = stats.lostRingBufferFull
                $0.lostInFlight = stats.lostInFlight
                $0.corrupt = stats.corrupt
                $0.lostWhileResolving = stats.lostWhileResolving
                $0.unidentified = stats.unidentified
                var summary = stats.lossSummary ?? ""
                if dropped > 0 { summary += (summary.isEmpty ? "" : "; ") + "\(dropped) events not sent: the client read too slowly" }
                $0.lossSummary = summary
            }
        })
    }
}

extension SondeService {
    public func watchSupervisor(request: Sonde_V1_WatchSupervisorRequest, response: RPCWriter<Sonde_V1_WatchSupervisorReply>,
                                context: ServerContext) async throws {
        try await answering {
            let caller = try client()
            try await stream(caller) { try await watchSupervisor(request, caller.grant, response) }
        }
    }

    private func watchSupervisor(_ request: Sonde_V1_WatchSupervisorRequest, _ grant: Grant,
                                 _ response: RPCWriter<Sonde_V1_WatchSupervisorReply>) async throws {
        guard let supervise = node.supervise else {
            throw SondeError(.notFound, "this daemon runs no seccomp agent",
                             hint: "add \"supervise\": {\"socket\": ..., \"policy\": ...} to its config")
        }
        guard request.timeoutSeconds >= 0, request.timeoutSeconds.isFinite else {
            throw SondeError(.invalidArgument, "timeout must be a positive number of seconds")
        }
        // Subscribed before `ready`: every decision after it is either sent or counted.
        let subscription = supervise.feed.subscribe()
        defer { subscription.cancel() }
        try await response.write(.with { $0.ready = true })
        // Once a second the loop wakes to report new losses promptly; the timeout ends the stream.
        let timeout = request.timeoutSeconds
        let clock = Task {
            let started = ContinuousClock.now
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                if timeout > 0, ContinuousClock.now - started >= .milliseconds(Int64(timeout * 1000)) {
                    subscription.finish()
                    return
                }
                subscription.tick()
            }
        }
        defer { clock.cancel() }
        var delivered: UInt64 = 0
        var reported: UInt64 = 0
        func stats() -> Sonde_V1_WatchSupervisorReply {
            let lost = subscription.lost
            let counters = supervise.supervisor.statistics
            return .with {
                $0.stats = .with {
                    $0.delivered = delivered
                    $0.lostSlowClient = lost
                    $0.lossSummary = lost == 0 ? "" : "\(lost) decisions not sent: the client read too slowly (the calls were answered)"
                    // The agent's totals count every container's calls: the whole node's to know.
                    guard grant.wholeNode else { return }
                    $0.containers = UInt64(counters.containers)
                    $0.notifications = UInt64(counters.notifications)
                    $0.allowed = UInt64(counters.allowed)
                    $0.denied = UInt64(counters.denied)
                    $0.logged = UInt64(counters.logged)
                    $0.gone = UInt64(counters.gone)
                    $0.rejectedMessages = UInt64(counters.rejectedMessages)
                }
            }
        }
        // A client that goes away makes write throw (or cancels this task, which ends the
        // stream): the subscription is cancelled by the defer, and the agent never noticed.
        for await item in subscription.items {
            switch item {
            case .event(let event):
                guard permits(event, grant) else { break }
                try await response.write(.with { $0.event = Sonde_V1_Event(event) })
                delivered += 1
            case .tick:
                subscription.tickTaken()
            }
            if subscription.lost > reported {
                reported = subscription.lost
                try await response.write(stats())
            }
        }
        try Task.checkCancellation()
        try await response.write(stats())
    }
}

/// Keys as the recorder's registry keys containers (runtime/id).
enum RecorderRegistryKey {
    static func of(_ c: Container) -> String { c.runtime.rawValue + "/" + c.id }
}

final class Counter: Sendable {
    private let count = Mutex<UInt64>(0)
    func add(_ n: UInt64) { count.withLock { $0 += n } }
    /// Adds one and returns the new count.
    func increment() -> UInt64 { count.withLock { $0 += 1; return $0 } }
    var value: UInt64 { count.withLock { $0 } }
}
