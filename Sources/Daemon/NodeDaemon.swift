import Containers
import DaemonAPI
import Foundation
import Gadgets
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import LinuxKit
import Recorder
import Synchronization
import Syscalls

/// What the daemon's parts share: the configuration, the container collection (runtimes' state
/// plus hook registrations), the flight recorder and its service.
public final class NodeState: Sendable {
    public static let version = "sonde.v1"

    public let config: DaemonConfig
    public let cgroups: CgroupV2
    public let hooks: HookRegistrations
    public let collection: ContainerCollection
    public let recorder: FlightRecorder?
    public let recorderService: RecorderService?
    /// The seccomp agent (config key "supervise"), nil when the config has none.
    public let supervise: DaemonSupervisor?
    /// The Prometheus metrics (config key "metrics") and their one registry, nil without the key.
    public let metrics: DaemonMetrics?
    /// What sonde's BPF programs cost (config key "bpfStats").
    public let bpfCost: BPFCostSampler
    /// Nanoseconds since the Unix epoch.
    public let startedAt: Int64
    let watchers = Mutex<[String]>([])
    /// Serving: every part started, not yet stopping (`/readyz`, systemd's READY=1).
    public let isReady = Atomic(false)
    /// RunGadget streams being served (each holds its own BPF object until it ends).
    let gadgetSessions = Mutex(0)
    let notice: @Sendable (String) -> Void

    init(config: DaemonConfig, notice: @escaping @Sendable (String) -> Void) throws(SondeError) {
        self.config = config
        self.notice = notice
        startedAt = Int64(Date().timeIntervalSince1970 * 1e9)
        let bpfCost = BPFCostSampler(settings: config.bpfStats, notice: notice)
        self.bpfCost = bpfCost
        cgroups = try CgroupV2.find()
        hooks = HookRegistrations(stateDirectory: config.stateDirectory)
        // The policy is read here, so a bad one stops the daemon at start with the file's error.
        supervise = try config.supervise.map { settings throws(SondeError) in try DaemonSupervisor(settings: settings, notice: notice) }
        let collection = ContainerCollection(cgroups: cgroups, sources: Self.sources(config, hooks: hooks, extraCgroups: []))
        self.collection = collection
        let cgroupRoot = self.cgroups
        guard config.recordEnabled else {
            recorder = nil
            recorderService = nil
            metrics = config.metrics.map { listener in
                DaemonMetrics(collection: collection, cgroups: cgroupRoot, recorder: nil, syscallLatency: listener.syscallLatency,
                              bpfCost: bpfCost, reconcile: .seconds(config.reconcileSeconds), notice: notice)
            }
            return
        }
        // Joins the recorder a previous daemon left pinned (after a crash or `kill -9`): what it
        // recorded stays, and so does the recording of running containers meanwhile.
        let recorder = try FlightRecorder.start(config.recorder, captures: { SyscallTable.x86_64[$0]?.captures ?? [] })
        if let warning = recorder.warning { notice(warning) }
        var options = RecorderService.Options(selector: config.recordSelection.selector, crashDirectory: config.crashDirectory)
        options.retention = .seconds(config.retentionSeconds)
        options.refreshInterval = .seconds(config.reconcileSeconds)
        let selection = config.recordSelection
        if !selection.labels.isEmpty || !selection.podNamespaces.isEmpty { options.filter = { selection.matches($0) } }
        let renderer = DumpRenderer.strace
        self.recorder = recorder
        metrics = config.metrics.map { listener in
            DaemonMetrics(collection: collection, cgroups: cgroupRoot, recorder: recorder, syscallLatency: listener.syscallLatency,
                          bpfCost: bpfCost, reconcile: .seconds(config.reconcileSeconds), notice: notice)
        }
        recorderService = RecorderService(recorder: recorder, collection: collection, options: options, notice: notice,
                                          render: { dump, _ in renderer.text(dump).joined(separator: "\n") + "\n" })
    }

    /// Hook registrations first: a runtime's own entry for the same container replaces it.
    static func sources(_ config: DaemonConfig, hooks: HookRegistrations, extraCgroups: [String]) -> [any ContainerSource] {
        [
            hooks,
            RuncSource(root: config.runcRoot),
            PodmanSource(runcRoot: config.runcRoot),
            ContainerdSource(runcRoot: config.containerdRuncRoot, address: config.containerdAddress),
            CgroupSource(paths: config.recordSelection.selector.cgroupPaths + extraCgroups),
        ]
    }

    /// The daemon's collection, or one that also lists the given plain cgroups (a client's selection).
    func collection(extraCgroups: [String]) -> ContainerCollection {
        let extra = extraCgroups.filter { !config.recordSelection.selector.cgroupPaths.contains($0) }
        guard !extra.isEmpty else { return collection }
        return ContainerCollection(cgroups: cgroups, sources: Self.sources(config, hooks: hooks, extraCgroups: extra))
    }

    /// Something changed in a runtime's state: look again now rather than at the next reconcile.
    func runtimeChanged() {
        if let recorderService {
            recorderService.requestRefresh()
        } else {
            collection.refresh()
        }
    }
}

/// `sonde daemon`: records the configured containers, follows the runtimes, and serves the API on
/// a unix socket until cancelled. Recording itself lives in the kernel (pinned), so stopping or
/// killing the daemon loses nothing already recorded; the next daemon joins it.
public enum NodeDaemon {
    public static func run(config: DaemonConfig,
                           notice: @escaping @Sendable (String) -> Void,
                           ready: @Sendable (NodeState) -> Void = { _ in }) async throws(SondeError) {
        // Every TCP peer, gadget and container costs descriptors: take all the hard limit allows.
        let openFiles: UInt64
        do {
            openFiles = try OpenFileLimit.raiseToHardLimit()
        } catch {
            notice("cannot raise the open file limit: \(error)")
            openFiles = OpenFileLimit.current
        }
        let listener = try UnixListener.listen(path: config.socket)
        let node: NodeState
        do {
            node = try NodeState(config: config, notice: notice)
        } catch {
            close(listener)
            unlink(config.socket)
            throw error
        }
        let server = GRPCServer(
            transport: HTTP2ServerTransport.Posix(listeningSocketDescriptor: Int(listener), transportSecurity: .plaintext),
            services: [SondeService(node: node, access: .local)])
        var servers = [server]
        if let tcp = config.tcp {
            for file in [tcp.certificate, tcp.key, tcp.clientCA] where !Files.exists(file) {
                close(listener)
                unlink(config.socket)
                throw SondeError(.invalidArgument, "TLS file \(file) (config tcp) does not exist")
            }
            let address: SocketAddress = tcp.host.contains(":")
                ? .ipv6(host: tcp.host, port: tcp.port) : .ipv4(host: tcp.host, port: tcp.port)
            // Clients must present a certificate signed by clientCA (verified; their host name is not).
            let security = HTTP2ServerTransport.Posix.TransportSecurity.mTLS(
                certificateChain: [.file(path: tcp.certificate, format: .pem)],
                privateKey: .file(path: tcp.key, format: .pem)) { tls in
                    tls.trustRoots = .certificates([.file(path: tcp.clientCA, format: .pem)])
                    tls.clientCertificateVerification = .noHostnameVerification
                }
            let admission = TCPAdmission(limits: tcp.limits, openFileLimit: openFiles, notice: notice)
            let transportConfig = HTTP2ServerTransport.Posix.Config.defaults { transport in
                transport.channelDebuggingCallbacks.onAcceptTCPConnection = { admission.admit($0) }
                transport.connection.maxIdleTime = .milliseconds(Int64(tcp.limits.idleTimeoutSeconds * 1000))
                // A peer that vanishes mid-stream is found within 80 s rather than at the next write.
                transport.connection.keepalive.time = .seconds(60)
                transport.connection.keepalive.timeout = .seconds(20)
                transport.http2.maxConcurrentStreams = max(16, tcp.limits.streamsPerClient * 2)
            }
            servers.append(GRPCServer(transport: HTTP2ServerTransport.Posix(address: address, transportSecurity: security, config: transportConfig),
                                      services: [SondeService(node: node, access: .tcp(StreamQuota(limit: tcp.limits.streamsPerClient)))],
                                      interceptors: [TCPAuthorization(authorizer: Authorizer(rules: tcp.clients))]))
            if tcp.clients.isEmpty {
                notice("tcp: no clients in the config (tcp.clients): every TCP call will be refused")
            }
        }
        if let supervise = node.supervise {
            do throws(SondeError) {
                try await supervise.start()
            } catch {
                close(listener)
                unlink(config.socket)
                throw error
            }
        }
        var metricsServer: MetricsServer?
        if let metrics = node.metrics, let endpoint = config.metrics {
            do throws(SondeError) {
                metricsServer = try await MetricsServer.start(host: endpoint.host, port: endpoint.port, scrape: { metrics.scrape() },
                                                              ready: { node.isReady.load(ordering: .acquiring) })
            } catch {
                close(listener)
                unlink(config.socket)
                throw error
            }
        }
        let watcher = RuntimeWatcher(roots: [.init(path: config.runcRoot, namespaced: false),
                                             .init(path: config.containerdRuncRoot, namespaced: true)]) { node.runtimeChanged() }
        node.watchers.withLock {
            $0 = (node.supervise.map { ["seccomp agent on \($0.settings.socket) (policy \($0.settings.policy); WatchSupervisor)"] } ?? []) + ["runc state \(config.runcRoot) (inotify)", "podman (runc state, inotify; podman ps once per new container)",
                  "containerd task events \(config.containerdAddress) + shim state \(config.containerdRuncRoot) (inotify)",
                  "new cgroups (BPF cgroup_mkdir)", "OCI hooks (AddContainer)", "every \(config.reconcileSeconds) s (reconcile)"]
        }
        defer {
            watcher.stop()
            unlink(config.socket)
        }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for server in servers {
                    group.addTask { try await server.serve() }
                }
                if let service = node.recorderService {
                    // First pass records every selected container already running: those that started
                    // while no daemon ran are found here (reconcile), then it follows changes.
                    group.addTask {
                        // Stopped by `sonde record stop`: the daemon serves on without recording.
                        if try await service.run() == .stopped {
                            while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
                        }
                    }
                } else {
                    group.addTask {
                        // The watchers refresh the collection when something changes; this is the reconcile.
                        while !Task.isCancelled {
                            node.collection.refresh()
                            try await Task.sleep(for: .seconds(config.reconcileSeconds))
                        }
                    }
                }
                if let metrics = node.metrics, let metricsServer {
                    group.addTask { try await metricsServer.serve() }
                    group.addTask { try await metrics.runSyscallCounting() }
                    group.addTask { try await metrics.runStartupTimelines() }
                }
                group.addTask { try await node.bpfCost.run() }
                group.addTask {
                    await ContainerdEvents.follow(address: config.containerdAddress) { what in
                        if what.hasPrefix("containerd /tasks/") || what.hasPrefix("subscribed") { notice(what) }
                        node.runtimeChanged()
                    }
                }
                ready(node)
                node.isReady.store(true, ordering: .releasing)
                var listening = config.socket
                if servers.count > 1, let address = try await servers[1].listeningAddress {
                    listening += " and \(address) (mTLS)"
                }
                notice("daemon listening on \(listening); " + (config.recordEnabled
                    ? "recording \(config.recordSelection.summary)" : "recording off")
                    + (config.supervise.map { "; supervising on \($0.socket) with policy \($0.policy)" } ?? "")
                    + (metricsServer.map { "; metrics on http://\($0.address)/metrics" } ?? ""))
                // Under systemd (Type=notify) the unit is started from here on.
                ServiceManager.notify("READY=1\nSTATUS=serving on \(listening)")
                defer {
                    node.isReady.store(false, ordering: .releasing)
                    ServiceManager.notify("STOPPING=1")
                    for server in servers { server.beginGracefulShutdown() }
                }
                // Ends when cancelled (SIGTERM) or when a part fails.
                try await group.next()
                group.cancelAll()
            }
        } catch is CancellationError {
        } catch where Task.isCancelled {
            // After SIGTERM each part ends in its own words (the gRPC server throws a transport error
            // whose cause is CancellationError), and whichever ends first is what group.next() throws.
            // All of them are the stop, not a failure.
        } catch let error as SondeError {
            throw error
        } catch {
            throw SondeError(.system, "sonde daemon stopped: \(error)")
        }
    }
}

/// The daemon's unix socket: root-only (0600), and safe to restart over: a socket file left by a
/// killed daemon is replaced, a live daemon's is not.
enum UnixListener {
    static func listen(path: String) throws(SondeError) -> Int32 {
        let address = try UnixSocketAddress(path)
        if Files.exists(path) {
            if address.answers() {
                throw SondeError(.invalidArgument, "a sonde daemon already listens at \(path)",
                                 hint: "`sonde daemon status` tells about it; stop it first or use another --socket")
            }
            unlink(path) // left by a daemon that was killed
        }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                     attributes: [.posixPermissions: 0o755])
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SondeError.system("cannot make a unix socket", Errno.current) }
        do {
            try systemCall("bind \(path)") {
                address.withSockaddr { bind(fd, $0, $1) }
            }
            // Before listen: no one can connect while the file still has the umask's mode.
            try systemCall("chmod \(path)") { chmod(path, 0o600) }
            try systemCall("listen on \(path)") { Glibc.listen(fd, 128) }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }
}
