import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

extension SondeError.Code {
    /// A runtime's or kubectl's CLI failed, timed out or could not be started.
    public static let runtimeCommandFailed = SondeError.Code("runtime command failed")
}

/// Runs another program's CLI with a deadline: a hung podman, a containerd that does not answer
/// or a kubectl waiting on its API server must not hang sonde (container discovery, cluster mode).
package struct ExternalCommand: Sendable {
    package typealias Runner = @Sendable (_ arguments: [String]) throws(SondeError) -> Data

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
