import Foundation
import LinuxKit
#if canImport(Glibc)
import Glibc
import Synchronization
#endif

/// A failure of the harness itself (a tool that would not start, a workload that printed nonsense).
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A child process started with posix_spawnp: stdin and stdout are pipes the harness holds,
/// stderr goes to a file (read back when something fails). Every child is registered with
/// `Cleanup` so an interrupted run kills it.
final class Child {
    let command: [String]
    let pid: pid_t
    /// Write end of the child's stdin; -1 once closed.
    private(set) var stdinFD: Int32
    let stdout: LineReader
    let stderrPath: String
    private(set) var exitStatus: Int32?

    init(_ command: [String], stderrPath: String) throws {
        precondition(!command.isEmpty)
        self.command = command
        self.stderrPath = stderrPath
        // O_CLOEXEC: no other child inherits these pipes, so end of file means this child is gone.
        var input: [Int32] = [-1, -1]
        var output: [Int32] = [-1, -1]
        guard pipe(&input) == 0, pipe(&output) == 0 else {
            throw BenchError("pipe: \(Errno.current)")
        }
        for fd in input + output { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let errFD = open(stderrPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard errFD >= 0 else { throw BenchError("cannot create \(stderrPath): \(Errno.current)") }
        defer {
            close(input[0])
            close(output[1])
            close(errFD)
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errFD, 2)

        // The harness ignores SIGPIPE and handles SIGINT itself; ignored signals survive exec, so
        // give the child the defaults back (bpftrace must stop on SIGINT).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGINT, SIGTERM, SIGPIPE, SIGCHLD] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        var child: pid_t = 0
        let rc = posix_spawnp(&child, command[0], &actions, &attributes, argv, environ)
        guard rc == 0 else {
            close(input[1])
            close(output[0])
            throw BenchError("cannot start \(command[0]): \(Errno(rawValue: rc))")
        }
        pid = child
        stdinFD = input[1]
        stdout = LineReader(fd: output[0])
        Cleanup.shared.add(pid: child)
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            _ = waitFor(timeout: 5)
        }
        closeStdin()
    }

    /// Writes command bytes to the child's stdin.
    func send(_ text: String) throws {
        guard stdinFD >= 0 else { throw BenchError("\(command[0]): stdin already closed") }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = retryingInterrupted { bytes.withUnsafeBytes { write(stdinFD, $0.baseAddress, $0.count) } }
            guard n > 0 else { throw BenchError("\(command[0]): cannot write to stdin: \(Errno.current)") }
            bytes = bytes.dropFirst(n)
        }
    }

    func closeStdin() {
        if stdinFD >= 0 {
            close(stdinFD)
            stdinFD = -1
        }
    }

    func signal(_ number: Int32) {
        if exitStatus == nil { kill(pid, number) }
    }

    /// Waits for the child to end; the raw wait status, or nil on timeout.
    @discardableResult
    func waitFor(timeout seconds: Double) -> Int32? {
        if let exitStatus { return exitStatus }
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            var status: Int32 = 0
            let rc = retryingInterrupted { waitpid(pid, &status, WNOHANG) }
            if rc == pid {
                exitStatus = status
                Cleanup.shared.remove(pid: pid)
                return status
            }
            if rc < 0 {
                exitStatus = -1
                Cleanup.shared.remove(pid: pid)
                return -1
            }
            if Date() >= deadline { return nil }
            usleep(10_000)
        }
    }

    /// Waits, and kills the child if it does not end in time.
    func finish(timeout seconds: Double, signal number: Int32 = SIGKILL) {
        if waitFor(timeout: seconds) == nil {
            kill(pid, number)
            if waitFor(timeout: 5) == nil {
                kill(pid, SIGKILL)
                waitFor(timeout: 5)
            }
        }
    }

    /// The last lines of the child's stderr, for error messages.
    func stderrTail(_ lines: Int = 5) -> String {
        let text = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: " | ")
    }
}

/// Lines from a pipe, with a timeout on each wait.
final class LineReader {
    let fd: Int32
    private var buffer: [UInt8] = []
    private(set) var atEnd = false

    init(fd: Int32) { self.fd = fd }
    deinit { close(fd) }

    /// The next line without its newline; nil at end of file. Throws on timeout.
    func nextLine(timeout seconds: Double) throws -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            if atEnd {
                guard !buffer.isEmpty else { return nil }
                defer { buffer.removeAll() }
                return String(decoding: buffer, as: UTF8.self)
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw BenchError("timed out waiting for output") }
            var request = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = retryingInterrupted { poll(&request, 1, Int32(min(left, 1) * 1000) + 1) }
            if ready < 0 { throw BenchError("poll: \(Errno.current)") }
            guard ready > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = retryingInterrupted { chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }
            if n < 0 {
                if errno == EAGAIN { continue }
                throw BenchError("read: \(Errno.current)")
            }
            if n == 0 { atEnd = true } else { buffer.append(contentsOf: chunk[..<n]) }
        }
    }

    /// Reads lines until one satisfies `match`; throws at end of file or on timeout.
    func waitFor(timeout seconds: Double, what: String, _ match: (String) -> Bool) throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw BenchError("timed out waiting for \(what)") }
            guard let line = try nextLine(timeout: left) else {
                throw BenchError("output ended before \(what)")
            }
            if match(line) { return line }
        }
    }
}

/// Runs a command to completion and returns its stdout (stderr discarded); nil if it failed.
func runQuietly(_ command: [String], timeout: Double = 60) -> String? {
    let errPath = Workspace.scratchFile("quiet.err")
    guard let child = try? Child(command, stderrPath: errPath) else { return nil }
    child.closeStdin()
    var lines: [String] = []
    while let line = try? child.stdout.nextLine(timeout: timeout) { lines.append(line) }
    child.finish(timeout: timeout)
    guard let status = child.exitStatus, status == 0 else { return nil }
    return lines.joined(separator: "\n")
}

/// Whether an executable of that name is on PATH.
func onPath(_ name: String) -> Bool {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
    return path.split(separator: ":").contains { access("\($0)/\(name)", X_OK) == 0 }
}

/// What an interrupted or failed run must undo: child processes and containers. The temporary
/// directory is removed by `Workspace`.
final class Cleanup: Sendable {
    static let shared = Cleanup()
    private let left = Mutex((pids: Set<pid_t>(), containers: Set<String>()))

    func add(pid: pid_t) { left.withLock { _ = $0.pids.insert(pid) } }
    func remove(pid: pid_t) { left.withLock { _ = $0.pids.remove(pid) } }
    func add(container: String) { left.withLock { _ = $0.containers.insert(container) } }
    func remove(container: String) { left.withLock { _ = $0.containers.remove(container) } }

    /// Kills what is left, each by its pid, and force-deletes the containers.
    func run() {
        let (pids, containers) = left.withLock { left in
            defer { left = ([], []) }
            return (left.pids, left.containers)
        }
        for pid in pids {
            kill(pid, SIGKILL)
            waitForChild(pid)
        }
        for name in containers { deleteContainer(name) }
    }
}

/// `runc delete -f NAME`; quiet when the container is already gone.
func deleteContainer(_ name: String) {
    var pid: pid_t = 0
    let command: [String] = ["runc", "delete", "-f", name]
    let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
    defer { for arg in argv { free(arg) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    guard posix_spawnp(&pid, "runc", &actions, nil, argv, environ) == 0 else { return }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    Cleanup.shared.remove(container: name)
}
