#if canImport(Glibc)
import Glibc
#endif
import Containers
import CSonde
import Events
import Foundation
import LinuxKit
import Synchronization

/// The seccomp agent: takes notify fds from OCI runtimes (or `supervise run`), answers every
/// notified call under the policy, and reports each decision as an Event.
///
/// Threads: one accept loop; one short-lived thread per runtime connection (a slow or silent client
/// cannot hold up the others); one thread per notify fd, so one container never waits for another
/// (a mount in container A does not delay a mknod in container B).
public final class Supervisor: Sendable {
    public struct Counters: Sendable, Equatable {
        public var containers = 0
        public var notifications = 0
        public var allowed = 0
        public var denied = 0
        public var logged = 0
        /// Calls whose target vanished (killed, interrupted) before the answer.
        public var gone = 0
        public var rejectedMessages = 0
    }

    /// What threads share: the policy (reloaded on SIGHUP), the sessions, the counters and the
    /// handover's bookkeeping. (The rest is set once in init.)
    private struct State {
        var policy: Policy
        var sessions: [ObjectIdentifier: Session] = [:]
        var counters = Counters()
        var connectionsInFlight = 0
        var listenerFD: Int32 = -1
    }
    private let state: Mutex<State>
    private let policyPath: String?
    let helperExecutable: String
    let log: @Sendable (String) -> Void
    let onEvent: (@Sendable (Event) -> Void)?
    /// Whether a `--takeover` successor may take everything and end this process (not in the daemon,
    /// whose process does more than supervise).
    let handsOver: Bool
    private let cgroups = try? CgroupV2.find()
    /// Handover state (Takeover.swift): the accept loop's wake-up, and runtime connections in flight.
    let acceptWake = sonde_eventfd()
    let acceptStopped = DispatchSemaphore(value: 0)
    var currentListener: Int32 { state.withLock { $0.listenerFD } }

    func connectionStarted() { state.withLock { $0.connectionsInFlight += 1 } }
    func connectionEnded() { state.withLock { $0.connectionsInFlight -= 1 } }
    var pendingConnections: Int { state.withLock { $0.connectionsInFlight } }
    var allSessions: [Session] { state.withLock { Array($0.sessions.values) } }

    public init(policy: Policy, policyPath: String? = nil, helperExecutable: String = Supervisor.defaultHelper,
                log: @escaping @Sendable (String) -> Void, onEvent: (@Sendable (Event) -> Void)? = nil, handsOver: Bool = true) {
        self.handsOver = handsOver
        self.state = Mutex(State(policy: policy))
        self.policyPath = policyPath
        self.helperExecutable = helperExecutable
        self.log = log
        self.onEvent = onEvent
    }

    /// `sonde-supervise-helper` beside the running executable.
    public static var defaultHelper: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("sonde-supervise-helper").path
    }

    public var currentPolicy: Policy { state.withLock { $0.policy } }
    public var statistics: Counters { state.withLock { $0.counters } }
    public var activeSessions: Int { state.withLock { $0.sessions.count } }

    func count(_ body: (inout Counters) -> Void) { state.withLock { body(&$0.counters) } }

    /// Re-reads the policy file. Running containers keep their fds and get the new rules from their
    /// next call on; a file with errors is reported and the old policy stays.
    @discardableResult
    public func reloadPolicy() -> Bool {
        guard let policyPath else { return false }
        do {
            let fresh = try Policy.load(path: policyPath)
            state.withLock { $0.policy = fresh }
            log("policy reloaded from \(policyPath) (\(fresh.entries.count) entries)")
            return true
        } catch {
            log("policy reload failed, keeping the previous policy: \(error)")
            return false
        }
    }

    /// Reloads the policy when its file changes (checked every `interval`; an editor's write-and-rename
    /// counts as a change too, by inode). Polling keeps it simple and cannot miss a replaced file.
    public func watchPolicyFile(interval: Double = 1) {
        guard let policyPath else { return }
        @Sendable func signature() -> [Int] {
            var info = stat()
            guard stat(policyPath, &info) == 0 else { return [] }
            return [Int(info.st_ino), Int(info.st_size), Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec)]
        }
        let thread = Thread { [self] in
            var last = signature()
            while true {
                Thread.sleep(forTimeInterval: interval)
                let now = signature()
                if now != last && !now.isEmpty {
                    last = now
                    reloadPolicy()
                }
            }
        }
        thread.start()
    }

    // MARK: - The OCI agent socket

    /// Listens on `path` and serves runtimes until the process ends (or hands over to a successor).
    /// A stale socket file is replaced. `inherited` is a listening socket taken over from a previous agent.
    public func serve(socketPath path: String, inherited: Int32? = nil, ready: (() -> Void)? = nil) throws(SondeError) {
        try NotifyFD.checkKernelSizes()
        if !FileManager.default.isExecutableFile(atPath: helperExecutable) {
            log("warning: \(helperExecutable) is missing: allowed mounts will fail with ENOENT (install it beside sonde)")
        }
        let listener: Int32
        if let inherited { listener = inherited } else { listener = try bindListener(path) }
        defer { close(listener) }
        state.withLock { $0.listenerFD = listener }
        // Non-blocking, polled with the handover wake-up: a predecessor that hands the listener over
        // must stop accepting on it (the socket is shared), and accept() cannot be interrupted otherwise.
        _ = fcntl(listener, F_SETFL, fcntl(listener, F_GETFL) | O_NONBLOCK)
        ready?()
        var pollers = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0), pollfd(fd: acceptWake, events: Int16(POLLIN), revents: 0)]
        var shortage = ResourceShortage()
        while true {
            if retryingInterrupted({ poll(&pollers, 2, -1) }) < 0 {
                throw SondeError.system("poll on \(path)", Errno.current)
            }
            if pollers[1].revents & Int16(POLLIN) != 0 {
                // Handing over: the successor accepts from now on; this thread only waits for the end.
                acceptStopped.signal()
                while true { pause() }
            }
            let connection = sonde_accept_cloexec(listener)
            if connection < 0 {
                // Nothing to accept after all (EAGAIN: non-blocking), a signal, or a peer that left.
                if errno == EAGAIN || errno == EINTR || errno == ECONNABORTED { continue }
                if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM {
                    // Out of fds or memory: the runtime waits in the backlog; try again later, say so once.
                    shortage.wait(Errno.current) { log("accept on \(path): \($0); runtimes wait in the backlog, retrying") }
                    continue
                }
                throw SondeError.system("accept on \(path)", Errno.current)
            }
            shortage.recovered { log("accept on \(path): accepting again after \($0)") }
            connectionStarted()
            Thread.detachNewThread { [self] in
                defer { connectionEnded() }
                self.handleConnection(connection)
            }
        }
    }

    func bindListener(_ path: String) throws(SondeError) -> Int32 {
        let listener = try systemCall("socket(AF_UNIX)") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        let address: UnixSocketAddress
        do throws(SondeError) { address = try UnixSocketAddress(path) } catch {
            close(listener)
            throw error
        }
        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFSOCK else {
                close(listener)
                throw SondeError(.invalidArgument, "\(path) exists and is not a socket", hint: "give a new path with --socket")
            }
            // A socket someone still listens on belongs to a running agent: replacing its path would
            // leave two agents. Only a stale one (connection refused) is removed.
            if address.answers() {
                close(listener)
                throw SondeError(.invalidArgument, "an agent is already serving \(path)",
                                 hint: "stop it, or replace it without losing its containers with --takeover")
            }
            unlink(path)
        }
        do throws(SondeError) {
            try systemCall("bind \(path)") {
                address.withSockaddr { bind(listener, $0, $1) }
            }
        } catch {
            close(listener)
            throw error
        }
        // Only root (the runtime) may hand us fds.
        chmod(path, 0o600)
        do throws(SondeError) { try systemCall("listen \(path)") { listen(listener, 128) } } catch {
            close(listener)
            throw error
        }
        return listener
    }

    /// Reads one runtime message (JSON + fds), checks it, and adopts the notify fd. Anything wrong is
    /// one log line; the fds that came are closed and the agent goes on serving.
    func handleConnection(_ connection: Int32) {
        defer { close(connection) }
        // A client that connects and says nothing must not keep this thread forever.
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var data = Data()
        var fds: [Int32] = []
        var message: AgentMessage?
        var failure: SondeError?
        let limit = 1 << 20
        var chunk = [UInt8](repeating: 0, count: 65536)
        while data.count < limit {
            var received = [Int32](repeating: -1, count: 16)
            var count: Int32 = 0, truncated: Int32 = 0
            let got = retryingInterrupted {
                chunk.withUnsafeMutableBytes { bytes in
                    received.withUnsafeMutableBufferPointer { sonde_recv_with_fds(connection, bytes.baseAddress, bytes.count, $0.baseAddress, 16, &count, &truncated) }
                }
            }
            fds += received[..<Int(count)]
            if got < 0 {
                failure = SondeError.system("reading the runtime's message", Errno.current)
                break
            }
            if got == 0 { break }
            data.append(contentsOf: chunk[..<got])
            // runc and crun close after one message; a client that keeps the connection open is served
            // as soon as what it sent parses.
            if let parsed = try? AgentMessage.parse(data, receivedFDs: fds.count) { message = parsed; break }
            if fds.isEmpty, Takeover.isRequest(data) {
                guard handsOver else {
                    failure = SondeError(.invalidArgument, "a successor asked to take over; this agent runs in the sonde daemon and does not hand over")
                    break
                }
                handOver(to: connection)   // does not return
            }
        }
        if message == nil && failure == nil {
            if data.count >= limit { failure = SondeError(.malformedInput, "agent message larger than \(limit) bytes") }
            else {
                do { message = try AgentMessage.parse(data, receivedFDs: fds.count) } catch { failure = error }
            }
        }
        guard let message else {
            for fd in fds { close(fd) }
            count { $0.rejectedMessages += 1 }
            log("rejected a runtime connection: \(failure.map { $0.description } ?? "empty message")")
            return
        }
        for (index, fd) in fds.enumerated() where index != message.seccompFDIndex { close(fd) }
        adopt(notifyFD: fds[message.seccompFDIndex], identity: message.identity, pid: message.pid)
    }

    // MARK: - Sessions

    /// Starts supervising a notify fd (owned from now on: closed when no process uses the filter).
    @discardableResult
    public func adopt(notifyFD: Int32, identity: ContainerIdentity, pid: Int32) -> Session {
        let container = describe(identity, pid: pid)
        let userNamespace = ContainerUserNamespace.of(pid: pid)
        let session = Session(supervisor: self, notify: NotifyFD(notifyFD), identity: identity, container: container,
                              mountNamespaceID: (try? Namespaces.mountNamespaceID(pid: pid)) ?? 0,
                              userNamespace: userNamespace, pid: pid)
        if userNamespace.inode == 0 {
            log("container \(identity.id): cannot read the user namespace of pid \(pid); no caller of it counts as privileged")
        }
        state.withLock {
            $0.sessions[ObjectIdentifier(session)] = session
            $0.counters.containers += 1
        }
        let entry = currentPolicy.entry(for: identity)
        log("supervising container \(identity.id) (pid \(pid), metadata \"\(identity.metadata)\"): "
            + (entry.map { "policy entry \($0.name)" } ?? "no policy entry matches, every call gets the default"))
        let thread = Thread { session.run() }
        thread.name = "supervise \(identity.id)"
        thread.start()
        return session
    }

    func ended(_ session: Session) {
        state.withLock { _ = $0.sessions.removeValue(forKey: ObjectIdentifier(session)) }
        log("container \(session.identity.id): no process uses its filter any more; released")
    }

    /// The Container that events carry, from what the runtime said and the process's cgroup.
    func describe(_ identity: ContainerIdentity, pid: Int32) -> Container {
        let cgroupPath = (try? CgroupV2.cgroupOfProcess(pid)) ?? ""
        let cgroupID = cgroupPath.isEmpty ? 0 : (try? cgroups?.id(of: cgroupPath)) ?? 0
        let runtime: RuntimeName = Files.exists("/run/runc/\(identity.id)") ? .runc : RuntimeName(rawValue: "oci")
        return Container(runtime: runtime, id: identity.id, name: identity.id, initPID: pid, cgroupPath: cgroupPath,
                         cgroupID: cgroupID, bundle: identity.bundle, annotations: identity.annotations)
    }
}

/// Backing off while a resource is short (EMFILE...): waits 10 ms, doubling up to 1 s, and says it
/// once when the shortage starts and once when it ends, not on every retry.
struct ResourceShortage {
    private var delay: UInt32 = 0
    private var error: Errno?

    mutating func wait(_ error: Errno, report: (Errno) -> Void) {
        if self.error == nil { report(error) }
        self.error = error
        delay = min(max(delay * 2, 10_000), 1_000_000)
        usleep(delay)
    }

    mutating func recovered(report: (Errno) -> Void) {
        guard let error else { return }
        report(error)
        self.error = nil
        delay = 0
    }
}

extension Supervisor {
    /// The signals the agent takes with sigwait (SIGHUP reloads, SIGINT/SIGTERM stop), blocked in all
    /// its threads.
    public static var stopSignals: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for number in [SIGHUP, SIGINT, SIGTERM] { sigaddset(&set, number) }
        return set
    }

    /// posix_spawn attributes for the agent's children: no signal blocked, and the agent's signals
    /// and SIGPIPE (ignored by the agent) back to their defaults - a mask and ignored dispositions
    /// survive exec, and the command of `supervise run` must be stoppable as usual. The caller
    /// destroys them.
    static func spawnAttributes() -> posix_spawnattr_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = stopSignals
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        return attributes
    }
}
