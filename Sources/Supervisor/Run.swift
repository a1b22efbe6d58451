#if canImport(Glibc)
import Glibc
#endif
import CSonde
import Foundation
import LinuxKit

/// `sonde supervise run`: supervision without a container runtime. The command is started through
/// the helper executable, which - single-threaded, before exec - sets no_new_privs, loads a
/// libseccomp filter that notifies the policy's syscalls, and passes the notify fd back over a
/// socketpair; then it execs the command. (The agent itself is multithreaded, so it cannot safely
/// run libseccomp between fork and exec.)
extension Supervisor {
    public struct Supervised: Sendable {
        public let pid: pid_t
        public let session: Session
    }

    public func runSupervised(command: [String], syscalls: [String], metadata: String) throws(SondeError) -> Supervised {
        guard !command.isEmpty else { throw SondeError(.invalidArgument, "no command to run") }
        try NotifyFD.checkKernelSizes()
        var numbers: [String] = []
        for name in syscalls {
            let number = seccomp_syscall_resolve_name(name)
            guard number >= 0 else { throw SondeError(.invalidArgument, "libseccomp does not know the syscall \(name)") }
            numbers.append(String(number))
        }
        let child: pid_t, channel: Int32
        do {
            (child, channel) = try HelperChannel.spawn(helperExecutable, arguments: ["exec-filtered", numbers.joined(separator: ","), "--"] + command,
                                                       environment: environ, inheritStdio: true)
        } catch {
            throw SondeError.system("starting \(helperExecutable)", error, hint: "it is built beside sonde by `swift build`")
        }
        defer { close(channel) }
        // The notify fd, or an errno from the filter setup; EOF if the helper died first.
        var poller = pollfd(fd: channel, events: Int16(POLLIN), revents: 0)
        guard retryingInterrupted({ poll(&poller, 1, 10_000) }) == 1 else {
            kill(child, SIGKILL)
            waitForChild(child)
            throw SondeError(.system, "the helper that installs the seccomp filter for \(command[0]) did not answer within 10 s")
        }
        let answer = HelperChannel.receive(channel, capacity: 4, maxFDs: 1)
        let code = answer.flatMap { $0.bytes.count == 4 ? $0.bytes.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) } : nil }
        guard let answer, code == 0, answer.fds.count == 1 else {
            for fd in answer?.fds ?? [] { close(fd) }
            kill(child, SIGKILL)
            waitForChild(child)
            throw SondeError(.system, "installing the seccomp filter for \(command[0]) failed",
                             errno: code.flatMap { $0 != 0 ? Errno(rawValue: $0) : nil })
        }
        let identity = ContainerIdentity(id: "\(URL(fileURLWithPath: command[0]).lastPathComponent)-\(child)", metadata: metadata)
        return Supervised(pid: child, session: adopt(notifyFD: answer.fds[0], identity: identity, pid: child))
    }
}
