// sonde-hook: the OCI hook that tells `sonde daemon` about a container before its process runs.
//
//   sonde-hook prestart|createRuntime|poststart|poststop [--socket PATH] [--timeout SECONDS]
//              [--runtime runc|podman|containerd] [--log FILE] [--strict]
//
// The runtime writes the container's state (runtime-spec "state" JSON) on stdin. prestart (and
// createRuntime, poststart) register the container (AddContainer), poststop removes it.
//
// A hook must never hold a container back for long, and a failing prestart hook makes the runtime
// fail the container. So: every wait is bounded (stdin and the call together by --timeout, 2 s by
// default, with a watchdog behind them), and problems - no daemon, a daemon that does not answer,
// malformed state - are logged (stderr, syslog when /dev/log exists, --log FILE) and end with exit
// status 0, letting the container start unrecorded-by-name (the kernel still records its cgroup
// from the pool; the daemon names it when the runtime's state appears). --strict makes them exit 1,
// so that the runtime refuses containers the daemon could not register. Wrong arguments (an
// installation mistake, seen on the first container) exit 2.
import DaemonAPI
import Foundation
import LinuxKit

enum HookKind: String {
    case prestart, createRuntime, poststart, poststop
    var registers: Bool { self != .poststop }
}

struct HookArguments {
    var kind: HookKind
    var socket = DaemonClient.defaultSocket
    var timeout: Double = 2
    var runtime = ""
    var logFile: String?
    var strict = false

    static let usage = "usage: sonde-hook prestart|createRuntime|poststart|poststop [--socket PATH] [--timeout SECONDS] [--runtime NAME] [--log FILE] [--strict]"

    init(_ arguments: [String]) throws(SondeError) {
        guard let first = arguments.first, let kind = HookKind(rawValue: first) else {
            throw SondeError(.invalidArgument, "which hook? " + Self.usage)
        }
        self.kind = kind
        var rest = arguments.dropFirst()
        func value(_ flag: String) throws(SondeError) -> String {
            guard let v = rest.popFirst() else { throw SondeError(.invalidArgument, "\(flag) needs a value; " + Self.usage) }
            return v
        }
        while let flag = rest.popFirst() {
            switch flag {
            case "--socket": socket = try value(flag)
            case "--timeout":
                let text = try value(flag)
                guard let seconds = Double(text), seconds > 0, seconds <= 60 else {
                    throw SondeError(.invalidArgument, "--timeout takes seconds from 0 to 60, not \(text)")
                }
                timeout = seconds
            case "--runtime": runtime = try value(flag)
            case "--log": logFile = try value(flag)
            case "--strict": strict = true
            default: throw SondeError(.invalidArgument, "unknown argument \(flag); " + Self.usage)
            }
        }
    }
}

/// One line per hook run, where an operator finds it: the runtime usually discards a successful
/// hook's stderr, so syslog and the optional file matter.
struct HookLog {
    let file: String?

    func write(_ message: String, warning: Bool) {
        let line = "sonde-hook[\(getpid())]: \(message)"
        writeBestEffort(STDERR_FILENO, line + "\n")
        syslog(line, severity: warning ? 4 : 6)
        // A log that cannot be written (full disk, a FIFO, a closed stderr) must not fail the hook,
        // and so the container: plain write(2), errors ignored (FileHandle traps on them).
        if let file {
            let fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return }
            defer { close(fd) }
            writeBestEffort(fd, ISO8601DateFormatter().string(from: Date()) + " " + line + "\n")
        }
    }

    /// RFC 3164 datagram to /dev/log, facility daemon; silently nothing when no syslog listens.
    private func syslog(_ line: String, severity: Int) {
        guard Files.exists("/dev/log"), let address = try? UnixSocketAddress("/dev/log") else { return }
        address.send(datagram: Array("<\(3 * 8 + severity)>\(line)".utf8), flags: Int32(MSG_DONTWAIT))
    }
}

/// Reads stdin to its end, at most `limit` bytes, giving up at the deadline (a runtime that never
/// closes the pipe must not hold the container).
func readState(deadline: ContinuousClock.Instant, limit: Int = 1 << 20) throws(SondeError) -> Data {
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
        let left = deadline - .now
        guard left > .zero else { throw SondeError(.malformedInput, "the runtime did not close the hook's stdin in time") }
        var poller = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
        let ready = try systemCall("cannot poll the hook's stdin") { poll(&poller, 1, milliseconds) }
        if ready == 0 { continue }
        let count = retryingInterrupted { buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) } }
        if count < 0 {
            if errno == EAGAIN { continue }
            throw SondeError.system("cannot read the hook's stdin", Errno.current)
        }
        if count == 0 { return data }
        data.append(contentsOf: buffer[0..<count])
        if data.count > limit { throw SondeError(.malformedInput, "the OCI state on stdin is larger than \(limit) bytes") }
    }
}

/// The runtime-spec state: {"ociVersion", "id", "status", "pid", "bundle", "annotations"}.
func parseState(_ data: Data) throws(SondeError) -> Sonde_V1_OCIState {
    guard !data.isEmpty else { throw SondeError(.malformedInput, "no OCI state on stdin (is this run as an OCI hook?)") }
    let document: JSONValue
    do {
        document = try JSONValue.parse(data)
    } catch {
        throw SondeError(.malformedInput, "the OCI state on stdin is not JSON: \(error.message)")
    }
    guard let object = document.object else {
        throw SondeError(.malformedInput, "the OCI state on stdin is not a JSON object")
    }
    guard let id = object["id"]?.string, !id.isEmpty else {
        throw SondeError(.malformedInput, "the OCI state on stdin has no \"id\"")
    }
    var state = Sonde_V1_OCIState()
    state.id = id
    state.ociVersion = object["ociVersion"]?.string ?? ""
    state.status = object["status"]?.string ?? ""
    state.bundle = object["bundle"]?.string ?? ""
    if let pid = object["pid"] {
        guard let number = pid.number, let value = Int32(exactly: number), value >= 0 else {
            throw SondeError(.malformedInput, "the OCI state's \"pid\" is not a process id")
        }
        state.pid = value
    }
    if let annotations = object["annotations"] {
        guard let map = annotations.stringMap else {
            throw SondeError(.malformedInput, "the OCI state's \"annotations\" is not an object of strings")
        }
        state.annotations = map
    }
    return state
}

func runHook(_ arguments: HookArguments, log: HookLog) async throws(SondeError) {
    let deadline = ContinuousClock.now + .milliseconds(Int64(arguments.timeout * 1000))
    let state = try parseState(try readState(deadline: deadline))
    guard Files.exists(arguments.socket) else {
        throw SondeError(.daemonUnavailable, "no sonde daemon at \(arguments.socket); container \(state.id) starts without registration")
    }
    let left = max(deadline - .now, .milliseconds(100))
    let options = DaemonClient.options(timeout: left)
    if arguments.kind.registers {
        let request = Sonde_V1_AddContainerRequest.with {
            $0.state = state
            $0.runtime = arguments.runtime
        }
        let reply = try await DaemonClient.with(socket: arguments.socket) { client in
            try await client.addContainer(request, options: options)
        }
        let named = reply.container.name == state.id ? "" : "\(reply.container.name), id "
        log.write("\(arguments.kind.rawValue): registered \(reply.container.runtime) container \(named)\(state.id) (pid \(state.pid), cgroup \(reply.container.cgroupPath))\(reply.recording ? ", recording" : ", not selected for recording")", warning: false)
    } else {
        let request = Sonde_V1_RemoveContainerRequest.with {
            $0.id = state.id
            $0.runtime = arguments.runtime
        }
        let reply = try await DaemonClient.with(socket: arguments.socket) { client in
            try await client.removeContainer(request, options: options)
        }
        log.write("poststop: container \(state.id) \(reply.known ? "removed" : "was not registered")", warning: false)
    }
}

/// Writes what it can of `text`; a hook never fails for its own logging.
func writeBestEffort(_ fd: Int32, _ text: String) {
    try? writeAll(fd, text)
}

let arguments: HookArguments
do {
    arguments = try HookArguments(Array(CommandLine.arguments.dropFirst()))
} catch {
    writeBestEffort(STDERR_FILENO, "sonde-hook: \(error)\n")
    exit(2)
}
let log = HookLog(file: arguments.logFile)
let failure: Int32 = arguments.strict ? 1 : 0

// Behind every bounded wait: whatever hangs, the container is not held longer than this.
let watchdog = DispatchSource.makeTimerSource(queue: .global())
watchdog.schedule(deadline: .now() + arguments.timeout + 1)
watchdog.setEventHandler {
    log.write("\(arguments.kind.rawValue): gave up after \(arguments.timeout + 1) s; the container goes on", warning: true)
    exit(failure)
}
watchdog.resume()

do {
    try await runHook(arguments, log: log)
    exit(0)
} catch {
    log.write("\(arguments.kind.rawValue): \(error)", warning: true)
    exit(failure)
}
