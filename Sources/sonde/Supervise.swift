import ArgumentParser
@preconcurrency import Dispatch
import Events
import Foundation
import LinuxKit
import GadgetCatalog
import Supervisor
import Synchronization

struct Supervise: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Seccomp agent: perform mknod, mount and setxattr for containers under a policy.",
        discussion: """
        The runtime sends each container's seccomp notify fd to --socket (config.json's \
        linux.seccomp.listenerPath; `sonde supervise profile` prints that section). Every notified \
        call is checked against the policy, performed in the caller's place when allowed, and \
        answered with its result or an errno. The policy is re-read when its file changes (or on SIGHUP) \
        without dropping containers; \
        --takeover restarts the agent without losing them.
        """,
        subcommands: [SuperviseServe.self, SuperviseRun.self, SuperviseProfile.self],
        defaultSubcommand: SuperviseServe.self)
}

struct PolicyOption: ParsableArguments {
    @Option(help: "The policy file (JSON; see docs/supervisor.md).")
    var policy: String

    func load() throws -> Policy {
        try Policy.load(path: policy)
    }
}

struct SuperviseEventOptions: ParsableArguments {
    @Flag(help: "Print every decision as an event.")
    var events = false

    @OptionGroup var output: OutputOptions

    static let columns: [Column] = [.time, .container, .pid, .comm] + DecisionColumns.verdict
        + [DecisionColumns.latency, DecisionColumns.call]

    /// The event sink, or nil without --events (no event is even built then).
    func sink() -> (@Sendable (Event) -> Void)? {
        guard events else { return nil }
        let out = DetachedLines()
        switch output.output {
        case .columns:
            let table = TableRenderer(columns: Self.columns)
            out.line(table.header())
            return { out.line(table.render($0)) }
        case .json:
            let json = JSONRenderer()
            return { out.line(json.render($0)) }
        }
    }
}

/// Supervisor events reach stdout through a bounded queue and one writer: a session thread answers
/// its container's call whatever the reader does. Written from the session thread, a paused pager
/// would hold every container's calls in write(2), and a reader that went away would raise SIGPIPE
/// and end the agent (every notified call then fails with ENOSYS). Lines that do not fit, or that
/// come after the reader left, are counted and said once.
final class DetachedLines: Sendable {
    private struct State {
        var pending = 0
        var dropped: UInt64 = 0
        var readerGone = false
    }
    private let writer = DispatchQueue(label: "sonde.supervise.events")
    private let state = Mutex(State())
    static let bound = 4096

    init() {
        signal(SIGPIPE, SIG_IGN) // EPIPE from write instead
    }

    func line(_ text: String) {
        let (accepted, firstDrop) = state.withLock { state -> (Bool, Bool) in
            guard !state.readerGone, state.pending < Self.bound else {
                state.dropped += 1
                return (false, state.dropped == 1)
            }
            state.pending += 1
            return (true, false)
        }
        if firstDrop { Output.notice("warning: supervisor events are being dropped (stdout is too slow or gone); the agent goes on") }
        guard accepted else { return }
        writer.async { [self] in
            let written = (try? writeAll(STDOUT_FILENO, text + "\n")) != nil
            state.withLock { state in
                state.pending -= 1
                if !written { state.readerGone = true }
            }
        }
    }
}

struct SuperviseServe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the OCI seccomp agent protocol on a unix socket (the default subcommand).")

    @Option(help: "The unix socket runtimes connect to (listenerPath).")
    var socket: String

    @OptionGroup var policy: PolicyOption
    @OptionGroup var events: SuperviseEventOptions

    @Flag(help: "Take the socket and every container over from the agent running on --socket (a restart without losing containers).")
    var takeover = false

    func run() throws {
        let supervisor = Supervisor(policy: try policy.load(), policyPath: policy.policy,
                                    log: { Output.notice($0) }, onEvent: events.sink())
        _ = SupervisorSignals(supervisor: supervisor)
        supervisor.watchPolicyFile()
        let inherited = takeover ? try supervisor.takeOver(socketPath: socket) : nil
        try supervisor.serve(socketPath: socket, inherited: inherited) {
            Output.notice("supervising on \(socket) with policy \(policy.policy)")
        }
    }
}

/// SIGHUP reloads the policy; SIGINT/SIGTERM print the totals and end the agent. The containers'
/// notify fds close with the process: their later notified calls fail with ENOSYS (docs/supervisor.md).
///
/// The three signals are blocked before the agent starts any thread (threads inherit the mask) and
/// taken by one thread with sigwait. A dispatch signal source would need fds (its event loop's epoll
/// and signalfd, set up asynchronously): an agent whose fds a flood of silent clients had exhausted
/// could then never be stopped but by SIGKILL. Helpers are spawned with the mask cleared
/// (Supervisor.spawnAttributes).
final class SupervisorSignals: Sendable {
    init(supervisor: Supervisor, onStop: (@Sendable () -> Void)? = nil) {
        var handled = Supervisor.stopSignals
        pthread_sigmask(SIG_BLOCK, &handled, nil)
        let stop: @Sendable () -> Void = {
            let c = supervisor.statistics
            Output.notice("stopping: \(c.containers) containers, \(c.notifications) notifications, \(c.allowed) allowed, "
                          + "\(c.denied) denied, \(c.logged) logged only, \(c.gone) gone before the answer, "
                          + "\(c.rejectedMessages) runtime messages rejected")
            onStop?()
            exit(0)
        }
        Thread.detachNewThread {
            var waitFor = Supervisor.stopSignals
            while true {
                var number: Int32 = 0
                guard sigwait(&waitFor, &number) == 0 else { continue }
                if number == SIGHUP { supervisor.reloadPolicy() } else { stop() }
            }
        }
    }
}

struct SuperviseProfile: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Print the OCI linux.seccomp section that sends the policy's syscalls to the agent.",
        discussion: """
        The section denies by default: sonde's own default profile (every syscall allowed but those a \
        runtime's default profile refuses to unprivileged containers), or the --base profile with the \
        policy's syscalls merged in. Either way the new mount API answers ENOSYS (callers fall back to \
        mount(2), which the agent sees), clone3 answers ENOSYS, clone/unshare may not create namespaces \
        and seccomp() may not install a listener of the container's own.
        """)

    @OptionGroup var policy: PolicyOption

    @Option(help: "The agent's socket (listenerPath).")
    var socket = "/run/sonde/supervise.sock"

    @Option(help: "listenerMetadata: the policy matches entries on it (match.metadata).")
    var metadata: String?

    @Option(help: "A profile to merge the notify rules into (a config.json or its linux.seccomp section); it must deny by default.")
    var base: String?

    func run() throws {
        let loaded = try policy.load()
        let baseProfile = try base.map { path throws(SondeError) in try SeccompProfile.loadBase(path: path) }
        print(try SeccompProfile.ociSection(policy: loaded, socket: socket, metadata: metadata, base: baseProfile))
    }
}

struct SuperviseRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a command under a seccomp filter (libseccomp) that sends the policy's syscalls to sonde.",
        discussion: "Without a container runtime: the command runs in sonde's namespaces; its exit status is sonde's.")

    @OptionGroup var policy: PolicyOption
    @OptionGroup var events: SuperviseEventOptions

    @Option(help: "The metadata the policy's entries match (match.metadata).")
    var metadata = "run"

    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments (after --).")
    var command: [String] = []

    func validate() throws {
        if command.drop(while: { $0 == "--" }).isEmpty { throw ValidationError("give the command to run after --") }
    }

    func run() throws {
        var command = self.command
        if command.first == "--" { command.removeFirst() }
        let loaded = try policy.load()
        let supervisor = Supervisor(policy: loaded, policyPath: policy.policy, log: { Output.notice($0) },
                                    onEvent: events.sink())
        _ = SupervisorSignals(supervisor: supervisor)
        let supervised = try supervisor.runSupervised(command: command, syscalls: loaded.interceptedSyscalls.isEmpty
                                                      ? ["mknod", "mknodat"] : loaded.interceptedSyscalls, metadata: metadata)
        let status = waitForChild(supervised.pid) ?? 0
        // Descendants may still use the filter; the session ends when the last of them exits.
        while supervisor.activeSessions > 0 { usleep(10_000) }
        let exited = status & 0x7f == 0
        throw ExitCode(exited ? (status >> 8) & 0xff : 128 + (status & 0x7f))
    }
}
