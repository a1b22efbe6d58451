#if canImport(Glibc)
import Glibc
#endif
import Containers
import CSonde
import Dispatch
import Events
import GadgetCatalog
import LinuxKit

/// One notify fd (one container's filter) and the thread that answers its calls.
public final class Session: @unchecked Sendable {
    unowned let supervisor: Supervisor
    let notify: NotifyFD
    public let identity: ContainerIdentity
    let container: Container
    let mountNamespaceID: UInt64
    /// The container's user namespace: decides what may be mounted for it, and who counts as its root.
    let userNamespace: ContainerUserNamespace
    /// Mount helpers by (mount namespace, pid namespace) of their callers. Only the session thread
    /// touches it.
    private var helpers: [String: MountHelper] = [:]
    /// The session thread's fs ids and umask; created on that thread.
    private var credentials = ThreadCredentials()
    private let processFiles = ProcessFiles()
    /// When the current call's answer was sent: an event's latency ends there, not after the kernel
    /// (with synchronous wake-up) has let the caller run on.
    private var answering: Int64 = 0

    /// Written to stop the session thread for a handover (see Takeover.swift).
    let wake = sonde_eventfd()
    /// Signalled once the thread has stopped between two calls, never to touch the fd again.
    let paused = DispatchSemaphore(value: 0)
    /// The pid the runtime named; kept for a successor agent.
    let pid: Int32

    init(supervisor: Supervisor, notify: NotifyFD, identity: ContainerIdentity, container: Container, mountNamespaceID: UInt64,
         userNamespace: ContainerUserNamespace, pid: Int32) {
        self.pid = pid
        self.userNamespace = userNamespace
        self.supervisor = supervisor
        self.notify = notify
        self.identity = identity
        self.container = container
        self.mountNamespaceID = mountNamespaceID
    }

    /// The session thread: answer notifications until no process uses the filter (POLLHUP).
    func run() {
        // A private fs_struct, so the caller's umask can be taken for one call without touching the
        // rest of the agent (umask is per fs_struct, shared by all threads otherwise).
        if sonde_unshare(Int32(SONDE_CLONE_FS)) != 0 {
            supervisor.log("container \(identity.id): unshare(CLONE_FS) failed (\(Errno.current)); created nodes get the agent's umask")
        }
        credentials = ThreadCredentials()
        _ = sonde_notif_set_sync_wakeup(notify.raw)
        var pollers = [pollfd(fd: notify.raw, events: Int16(POLLIN), revents: 0), pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
        loop: while true {
            pollers[0].revents = 0
            pollers[1].revents = 0
            if retryingInterrupted({ poll(&pollers, 2, -1) }) < 0 {
                supervisor.log("container \(identity.id): poll failed: \(Errno.current)")
                break
            }
            if pollers[1].revents & Int16(POLLIN) != 0 {
                // Handing over: the fd now belongs to the successor. Stop here, between two calls, so
                // no notification is left received but unanswered; this process ends shortly.
                paused.signal()
                while true { pause() }
            }
            let poller = pollers[0]
            if poller.revents & Int16(POLLIN) != 0 {
                do {
                    if let notification = try notify.receive() { handle(notification) }
                    else { supervisor.count { $0.gone += 1 } }
                } catch {
                    supervisor.log("container \(identity.id): \(error)")
                    break loop
                }
                continue
            }
            // POLLHUP: the filter's last task is gone; nothing can arrive any more.
            if poller.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 { break }
        }
        for helper in helpers.values { helper.stop() }
        helpers.removeAll()
        processFiles.closeAll()
        close(notify.raw)
        close(wake)
        supervisor.ended(self)
    }

    func handle(_ notification: seccomp_notif) {
        let started = monotonicNanoseconds()
        let id = notification.id
        let tid = Int32(bitPattern: notification.pid)
        let data = notification.data
        let arguments = [data.args.0, data.args.1, data.args.2, data.args.3, data.args.4, data.args.5]
        supervisor.count { $0.notifications += 1 }

        let policy = supervisor.currentPolicy
        let entry = policy.entry(for: identity)
        var call: InterceptedCall?
        var decision: Decision
        var outcome: Emulator.Outcome
        var syscallName: String { SupervisedSyscall(rawValue: data.nr)?.name ?? "syscall \(data.nr)" }
        let wantsEvents = supervisor.onEvent != nil

        if data.arch == SupervisedSyscall.architecture, let syscall = SupervisedSyscall(rawValue: data.nr) {
            do {
                call = try CallDecoder.decode(syscall, arguments: arguments, memory: ProcessMemory(pid: tid))
            } catch {
                // Unreadable argument: the call fails the way the kernel would fail it (EFAULT...).
                let status = (wantsEvents ? try? processFiles.read(tid: tid) : nil) ?? TargetStatus()
                guard notify.isValid(id) else { finishGone(); return }
                decision = Decision(verdict: .deny, rule: "argument unreadable", action: .errno(error), logOnly: false)
                outcome = .failure(error)
                reply(id, outcome)
                emit(status: status, tid: tid, syscall: syscallName, arguments: "?", decision: decision, outcome: outcome, started: started)
                return
            }
        }

        if let call {
            decision = Decision.decide(call, policy: policy, entry: entry, ownUserNamespace: userNamespace.own)
        } else {
            // Not a call sonde emulates (another ABI, or a profile that sends more syscalls than the
            // policy knows): the default answer, never CONTINUE.
            let action = entry?.defaultAction ?? policy.defaultAction
            decision = Decision(verdict: .deny, rule: "\(syscallName) (arch 0x\(String(data.arch, radix: 16))) is not emulated",
                                action: action, logOnly: false)
        }

        // The caller's credentials, umask and name from /proc/PID/status - read only when the call is
        // allowed (who asks decides), killed or reported: a plain denial needs none of it.
        var status = TargetStatus()
        let kills: Bool
        if case .kill? = decision.action { kills = true } else { kills = false }
        if wantsEvents || kills || decision.verdict == .allow {
            do { status = try processFiles.read(tid: tid) } catch {
                // Normally the caller is gone (ESRCH). If it still waits, the agent is short of
                // something (fds, memory): said as what it is, and the caller gets an errno, never a hang.
                if notify.isValid(id) {
                    let answer = Errno(rawValue: error.rawValue == ESRCH ? EPERM : ENOMEM)
                    supervisor.log("container \(identity.id): cannot read /proc/\(tid) (\(error)); the call fails with \(answer)")
                    reply(id, .failure(answer))
                    supervisor.count { $0.denied += 1 }
                } else {
                    finishGone()
                }
                return
            }
            if let call { decision = decision.checked(call, caller: caller(status), entry: entry) }
        }
        // What was read from /proc/PID and its memory counts only if PID is still the caller. The
        // emulator and kill() check again after their own last read and before acting (a
        // notification that is valid then was valid at every earlier moment); a plain denial needs
        // the check only for the event to be true (an answer to a stale id is refused by the kernel).
        let acts = decision.verdict == .allow && !decision.logOnly
        if wantsEvents && !acts && !kills { guard notify.isValid(id) else { finishGone(); return } }

        if decision.logOnly {
            // Log-only: nothing is done in the caller's place; the kernel runs the call with the
            // caller's own rights, exactly as without supervision. CONTINUE is safe here because the
            // supervisor grants nothing.
            outcome = .result(0)
            answering = monotonicNanoseconds()
            if !notify.respond(id: id, continueCall: true) { finishGone(); return }
        } else if decision.verdict == .allow, let call {
            outcome = perform(call, id: id, tid: tid, status: status)
            if outcome == .gone { finishGone(); return }
            if !reply(id, outcome) { finishGone(); return }
        } else if case .kill? = decision.action {
            outcome = kill(id: id, tgid: status.tgid)
            if outcome == .gone { finishGone(); return }
        } else {
            if case .errno(let error)? = decision.action { outcome = .failure(error) } else { outcome = .failure(Errno(rawValue: EPERM)) }
            if !reply(id, outcome) { finishGone(); return }
        }
        supervisor.count {
            if decision.logOnly { $0.logged += 1 } else if decision.verdict == .allow { $0.allowed += 1 } else { $0.denied += 1 }
        }
        emit(status: status, tid: tid, syscall: call?.syscallName ?? syscallName, arguments: call?.argumentText ?? "",
             decision: decision, outcome: outcome, started: started)
    }

    /// Who the caller is, for Decision.checked.
    func caller(_ status: TargetStatus) -> Caller {
        Caller(uid: status.euid, isContainerRoot: userNamespace.rootUID == status.euid, capabilities: status.capEff,
               userNamespace: status.userNamespace, containerUserNamespace: userNamespace.inode)
    }

    func perform(_ call: InterceptedCall, id: UInt64, tid: Int32, status: TargetStatus) -> Emulator.Outcome {
        // The caller's capabilities act on the host only where they are host capabilities.
        let hostCapabilities = !userNamespace.own && status.userNamespace == userNamespace.inode ? status.capEff : 0
        let emulator = Emulator(notify: notify, id: id, pid: tid, status: status, callerCapabilities: hostCapabilities,
                                credentials: credentials, procDirectory: processFiles.directory(tid: tid))
        switch call {
        case .mknod(let path, let dirfd, let mode, let device):
            return emulator.mknod(path: path, dirfd: dirfd, mode: mode, device: device)
        case .setxattr(let target, let name, let value, let flags):
            return emulator.setxattr(target: target, name: name, value: value, flags: flags)
        case .mount(let source, let target, let fstype, let flags, let data):
            return emulator.mount(source: source, target: target, fstype: fstype, flags: flags, data: data) { () throws(Errno) -> MountHelper in
                try helper(for: tid, id: id)
            }
        }
    }

    /// The helper for the caller's namespaces, spawned at the first mount from them. The namespaces
    /// are read from /proc/TID, so they are the caller's only if the notification is still valid
    /// after the read (TID may be another process by now).
    func helper(for tid: Int32, id: UInt64) throws(Errno) -> MountHelper {
        let key = (try? Files.inode("/proc/\(tid)/ns/mnt")).map(String.init) ?? "?"
        let pidKey = (try? Files.inode("/proc/\(tid)/ns/pid")).map(String.init) ?? "?"
        guard notify.isValid(id) else { throw Errno(rawValue: ESRCH) }
        if let helper = helpers[key + ":" + pidKey] {
            if !helper.broken { return helper }
            helper.stop() // killed or stopped from inside the container: a new one serves this call
            helpers[key + ":" + pidKey] = nil
        }
        let helper = try MountHelper(executable: supervisor.helperExecutable, target: tid,
                                     joinPidNamespace: userNamespace.own) { notify.isValid(id) }
        helpers[key + ":" + pidKey] = helper
        return helper
    }

    func kill(id: UInt64, tgid: Int32) -> Emulator.Outcome {
        let pidfd = sonde_pidfd_open(tgid)
        defer { if pidfd >= 0 { close(pidfd) } }
        guard notify.isValid(id) else { return .gone }
        // The pidfd was opened while the caller (a thread of tgid) was still blocked in its call.
        if pidfd < 0 || sonde_pidfd_send_signal(pidfd, SIGKILL) != 0 {
            supervisor.log("container \(identity.id): cannot kill \(tgid) (\(Errno.current)); its call fails with ENOSYS")
        }
        answering = monotonicNanoseconds()
        // The answer is never seen (SIGKILL wins); it releases the notification at once.
        notify.respond(id: id, error: ENOSYS)
        return .failure(Errno(rawValue: ENOSYS))
    }

    @discardableResult
    func reply(_ id: UInt64, _ outcome: Emulator.Outcome) -> Bool {
        answering = monotonicNanoseconds()
        switch outcome {
        case .result(let value): return notify.respond(id: id, value: value)
        case .failure(let error): return notify.respond(id: id, error: error.rawValue)
        case .gone: return false
        }
    }

    func finishGone() { supervisor.count { $0.gone += 1 } }

    func emit(status: TargetStatus, tid: Int32, syscall: String, arguments: String, decision: Decision,
              outcome: Emulator.Outcome, started: Int64) {
        guard let onEvent = supervisor.onEvent else { return }
        let latency = answering - started
        let verdict: String
        if decision.logOnly { verdict = decision.verdict == .allow ? "would-allow" : "would-deny" }
        else if decision.verdict == .allow { verdict = "allow" }
        else if case .kill? = decision.action { verdict = "kill" }
        else { verdict = "deny" }
        let result: Int64
        switch outcome {
        case .result(let value): result = value
        case .failure(let error): result = -Int64(error.rawValue)
        case .gone: result = -Int64(ESRCH)
        }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let process = ProcessRef(pid: status.tgid, tid: tid, ppid: status.ppid, uid: status.uid, gid: status.gid, comm: status.name)
        onEvent(Event(timestamp: Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec), source: GadgetDescription.supervise.name, process: process,
                      cgroupID: container.cgroupID, mountNamespaceID: mountNamespaceID, container: container,
                      fields: [("syscall", .string(syscall)), ("args", .string(arguments)), ("verdict", .string(verdict)),
                               ("ret", .result(decision.logOnly ? 0 : result)), ("latency_us", .uint(UInt64(max(0, latency)) / 1000)),
                               ("rule", .string(decision.rule))]))
    }
}

func monotonicNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}
