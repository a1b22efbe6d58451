import Foundation
import LinuxKit
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Containers run by podman. podman runs them through runc, whose state files (under runc's default
/// root, shared with plain runc) give the cgroup, init pid and OCI annotations; `podman ps` adds what
/// only podman knows: the name, the image and the labels. podman marks its containers with the OCI
/// annotation io.container.manager=libpod, which is how both this source and RuncSource tell them apart.
public struct PodmanSource: ContainerSource {
    public let runtime = RuntimeName.podman
    /// The root of the runc that podman runs (`runc --root`): /run/runc for root's podman.
    public let runcRoot: String
    let run: RuntimeCommand.Runner
    let metadata = MetadataCache<PodmanPSEntry>()

    /// - Parameters:
    ///   - podman: the podman executable, a path or a name looked up in PATH.
    ///   - timeout: how long one `podman ps` may take before it is killed.
    public init(runcRoot: String = "/run/runc", podman: String = "podman", timeout: Double = 10) {
        self.runcRoot = runcRoot
        self.run = RuntimeCommand(executable: podman, timeout: timeout).run
    }

    /// For tests: `run` stands in for podman and gets its arguments.
    init(runcRoot: String, run: @escaping RuntimeCommand.Runner) {
        self.runcRoot = runcRoot
        self.run = run
    }

    static let managerAnnotation = "io.container.manager"

    public func containers(cgroups: CgroupV2, problems: inout [String]) -> [Container] {
        let entries = RuncStateReader(root: runcRoot, namespaced: false).read(problems: &problems)
            .filter { $0.annotations[Self.managerAnnotation] == "libpod" }
        let ids = entries.map(\.state.id)
        // podman is asked only when a container appears that it has not named yet.
        let known = metadata.values(for: ids, problems: &problems) { () throws(SondeError) in
            try Self.parsePS(try run(["ps", "--all", "--format", "json"]))
        }
        var result: [Container] = []
        for entry in entries {
            do {
                var container = try RuncStateReader.container(from: entry, runtime: .podman, cgroups: cgroups)
                if let ps = known[entry.state.id] {
                    if let name = ps.names?.first, !name.isEmpty { container.name = name }
                    if let image = ps.image, !image.isEmpty { container.image = image }
                    container.labels = ps.labels ?? [:]
                }
                result.append(container)
            } catch {
                if error.code != .notFound { problems.append(error.description) } // exited meanwhile
            }
        }
        return result
    }

    /// Parses `podman ps --all --format json` (a JSON array) into entries by full container id.
    static func parsePS(_ data: Data) throws(SondeError) -> [String: PodmanPSEntry] {
        let list: [PodmanPSEntry]
        do {
            list = try JSONDecoder().decode([PodmanPSEntry].self, from: data)
        } catch {
            throw SondeError(.malformedInput, "malformed output of podman ps: \(error)",
                             details: [String(decoding: data.prefix(200), as: UTF8.self)])
        }
        var byID: [String: PodmanPSEntry] = [:]
        for entry in list { byID[entry.id] = entry }
        return byID
    }
}

/// One container as `podman ps --format json` lists it (podman 4); only the fields sonde uses.
struct PodmanPSEntry: Decodable, Sendable, Equatable {
    var id: String
    var names: [String]?
    var image: String?
    /// null, not {}, when the container has none.
    var labels: [String: String]?

    enum CodingKeys: String, CodingKey {
        case id = "Id", names = "Names", image = "Image", labels = "Labels"
    }
}

// MARK: - Shared by the runtime sources

/// Metadata that a runtime's CLI gives per container id, kept while the container lives so that
/// the CLI runs only when a new container shows up, not on every refresh.
final class MetadataCache<Value: Sendable>: Sendable {
    struct State {
        var values: [String: Value] = [:]
        /// Ids the CLI did not know (or a failed call) and when: asked again only after `retryAfter`.
        var misses: [String: ContinuousClock.Instant] = [:]
    }
    private let state = Mutex(State())
    let retryAfter: Duration

    init(retryAfter: Duration = .seconds(5)) { self.retryAfter = retryAfter }

    /// The values for `keys`. When some key is neither known nor recently missed, `fetch` lists every
    /// container once; its failure becomes one problem, and the keys are retried later. Entries of
    /// keys no longer asked for are dropped.
    func values(for keys: [String], problems: inout [String],
                fetch: () throws(SondeError) -> [String: Value]) -> [String: Value] {
        let now = ContinuousClock.now
        let wanted = Set(keys)
        let missing = state.withLock { state -> Bool in
            state.values = state.values.filter { wanted.contains($0.key) }
            state.misses = state.misses.filter { wanted.contains($0.key) && now - $0.value < retryAfter }
            return wanted.contains { state.values[$0] == nil && state.misses[$0] == nil }
        }
        if missing {
            // Fetched outside the lock: a CLI call takes a while and must not block readers.
            var fetched: [String: Value] = [:]
            do {
                fetched = try fetch()
            } catch {
                problems.append(error.description)
            }
            state.withLock { state in
                for key in wanted where state.values[key] == nil {
                    if let value = fetched[key] {
                        state.values[key] = value
                        state.misses[key] = nil
                    } else {
                        state.misses[key] = now // created after the listing, or the call failed
                    }
                }
            }
        }
        return state.withLock { state in state.values.filter { wanted.contains($0.key) } }
    }

    /// The value for one key, fetched alone when unknown (for CLIs that describe one container per call).
    func value(for key: String, problems: inout [String], fetch: () throws(SondeError) -> Value) -> Value? {
        let now = ContinuousClock.now
        let cached = state.withLock { state -> (value: Value?, recentlyMissed: Bool) in
            if let value = state.values[key] { return (value, false) }
            if let missed = state.misses[key], now - missed < retryAfter { return (nil, true) }
            return (nil, false)
        }
        if let value = cached.value { return value }
        if cached.recentlyMissed { return nil }
        do {
            let value = try fetch()
            state.withLock { state in
                state.values[key] = value
                state.misses[key] = nil
            }
            return value
        } catch {
            problems.append(error.description)
            state.withLock { state in state.misses[key] = now }
            return nil
        }
    }

    /// The value for one key if it is known, without fetching.
    func cached(_ key: String) -> Value? {
        state.withLock { $0.values[key] }
    }

    /// Forgets every key not in `keys` (containers that are gone).
    func retain(_ keys: Set<String>) {
        state.withLock { state in
            state.values = state.values.filter { keys.contains($0.key) }
            state.misses = state.misses.filter { keys.contains($0.key) }
        }
    }
}

extension SondeError.Code {
    /// A runtime's CLI (podman, ctr) failed, timed out or could not be started.
    public static let runtimeCommandFailed = SondeError.Code("runtime command failed")
}

/// Runs a container runtime's CLI with a deadline: a hung podman or a containerd that does not
/// answer must not hang sonde's container discovery. (Also kubectl's, for cluster mode.)
package struct RuntimeCommand: Sendable {
    typealias Runner = @Sendable (_ arguments: [String]) throws(SondeError) -> Data

    let executable: String
    let timeout: Double
    /// Output beyond this is an error rather than memory sonde keeps growing.
    var maxOutput = 64 << 20

    package init(executable: String, timeout: Double) {
        self.executable = executable
        self.timeout = timeout
    }

    /// Runs the executable with `arguments`; returns its standard output when it exits with status 0.
    @Sendable package func run(_ arguments: [String]) throws(SondeError) -> Data {
        let commandLine = ([executable] + arguments).joined(separator: " ")
        guard let path = Self.resolve(executable) else {
            throw SondeError(.runtimeCommandFailed, "cannot run \(commandLine): \(executable) is not installed",
                             hint: "install it, or tell sonde where it is")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        do {
            try process.run()
        } catch {
            throw SondeError(.runtimeCommandFailed, "cannot run \(commandLine): \(error)")
        }
        let pid = process.processIdentifier
        var ending: Ending?
        // Foundation reports the end only once every process that inherited its lifetime descriptor
        // is gone, and a daemon the command starts (podman's conmon) may keep it for good; so the
        // child itself is looked at too, with waitid(WNOWAIT), leaving the reaping to Foundation.
        func ended() -> Bool {
            if ending != nil { return true }
            if exited.wait(timeout: .now()) == .success {
                ending = process.terminationReason == .exit ? .exit(process.terminationStatus)
                    : .signal(process.terminationStatus)
            } else {
                ending = Self.peekEnding(pid)
            }
            return ending != nil
        }
        let deadline = DispatchTime.now() + timeout
        var output = Data()
        var errors = Data()
        var finished = Self.drain([stdout.fileHandleForReading.fileDescriptor,
                                   stderr.fileHandleForReading.fileDescriptor],
                                  deadline: deadline, limit: maxOutput, output: &output, errors: &errors,
                                  hasExited: ended)
        while finished && !ended() {
            // It closed its output but runs on: wait for its end, within the same deadline.
            if DispatchTime.now() >= deadline { finished = false } else { usleep(10_000) }
        }
        guard finished, let ending else {
            Self.stop(pid, ended: ended)
            let why = output.count + errors.count > maxOutput ? "printed more than \(maxOutput) bytes"
                : "did not finish within \(timeout) s"
            throw SondeError(.runtimeCommandFailed, "\(commandLine) \(why); killed it")
        }
        guard ending == .exit(0) else {
            let how = switch ending {
            case .exit(let status): "exit status \(status)"
            case .signal(let signal): "signal \(signal)"
            }
            let message = String(decoding: errors.prefix(2000), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            throw SondeError(.runtimeCommandFailed, "\(commandLine) failed (\(how))",
                             details: message.isEmpty ? [] : message.split(separator: "\n").prefix(5).map(String.init))
        }
        return output
    }

    /// How a command ended.
    enum Ending: Equatable {
        case exit(Int32)
        case signal(Int32)
    }

    /// The child's end if it has exited, without reaping it (waitid with WNOWAIT).
    static func peekEnding(_ pid: Int32) -> Ending? {
        var info = siginfo_t()
        guard waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0,
              info._sifields._sigchld.si_pid == pid else { return nil }
        let status = info._sifields._sigchld.si_status
        return info.si_code == Int32(CLD_EXITED) ? .exit(status) : .signal(status)
    }

    /// Reads both pipes until both reach end of file, or the command exited and the pipes hold no
    /// more (true: a daemon it started, like podman's conmon, may keep them open for good); false
    /// when the deadline passes or the output grows past `limit`. poll, not blocking reads: a child
    /// that stops writing cannot hang us.
    static func drain(_ fds: [Int32], deadline: DispatchTime, limit: Int, output: inout Data, errors: inout Data,
                      hasExited: () -> Bool) -> Bool {
        var polled = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while polled.contains(where: { $0.fd >= 0 }) {
            let now = DispatchTime.now()
            guard now < deadline, output.count + errors.count <= limit else { return false }
            let exited = hasExited()
            // Short waits while it runs, to notice its exit; none after it, just what is left.
            let milliseconds = exited ? 0
                : Int32(min((deadline.uptimeNanoseconds - now.uptimeNanoseconds) / 1_000_000 + 1, 50))
            let ready = retryingInterrupted { poll(&polled, nfds_t(polled.count), milliseconds) }
            if ready < 0 { return false }
            if ready == 0 && exited { return true }
            for index in polled.indices where polled[index].fd >= 0 && polled[index].revents != 0 {
                let count = retryingInterrupted { buffer.withUnsafeMutableBytes { read(polled[index].fd, $0.baseAddress, $0.count) } }
                if count > 0 {
                    if index == 0 { output.append(contentsOf: buffer[..<count]) }
                    else { errors.append(contentsOf: buffer[..<count]) }
                } else {
                    polled[index].fd = -1 // end of file (or a broken pipe): poll ignores negative fds
                }
            }
        }
        return true
    }

    /// SIGTERM, then SIGKILL if it is still there 200 ms later (a child started from a dispatch
    /// thread inherits that thread's mask, in which SIGTERM is blocked); waits (bounded) for its end.
    static func stop(_ pid: Int32, ended: () -> Bool) {
        func waitForEnd(_ tries: Int) -> Bool {
            for _ in 0..<tries {
                if ended() { return true }
                usleep(10_000)
            }
            return false
        }
        guard !ended() else { return }
        _ = kill(pid, SIGTERM)
        if waitForEnd(20) { return }
        _ = kill(pid, SIGKILL)
        _ = waitForEnd(100)
    }

    /// A path as given, or the first executable of that name in PATH.
    static func resolve(_ executable: String) -> String? {
        if executable.contains("/") { return access(executable, X_OK) == 0 ? executable : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(executable)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
