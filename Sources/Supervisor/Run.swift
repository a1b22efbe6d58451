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
        var pair: [Int32] = [-1, -1]
        try systemCall("socketpair") { socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) }
        defer { close(pair[0]) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = Supervisor.spawnAttributes()
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawn_file_actions_adddup2(&actions, pair[1], 3)
        let arguments = [helperExecutable, "exec-filtered", numbers.joined(separator: ","), "--"] + command
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, helperExecutable, &actions, &attributes, argv, environ)
        close(pair[1])
        if spawned != 0 {
            throw SondeError.system("starting \(helperExecutable)", Errno(rawValue: spawned), hint: "it is built beside sonde by `swift build`")
        }
        // The notify fd, or an errno from the filter setup; EOF if the helper died first.
        var poller = pollfd(fd: pair[0], events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, 10_000) == 1 else {
            var status: Int32 = 0
            kill(child, SIGKILL)
            waitpid(child, &status, 0)
            throw SondeError(.system, "the helper that installs the seccomp filter for \(command[0]) did not answer within 10 s")
        }
        var code: Int32 = 0
        var fds: [Int32] = [-1]
        var count: Int32 = 0, truncated: Int32 = 0
        let got = withUnsafeMutableBytes(of: &code) { bytes in
            fds.withUnsafeMutableBufferPointer { sonde_recv_with_fds(pair[0], bytes.baseAddress, 4, $0.baseAddress, 1, &count, &truncated) }
        }
        guard got == 4, code == 0, count == 1 else {
            if count == 1 { close(fds[0]) }
            var status: Int32 = 0
            kill(child, SIGKILL)
            waitpid(child, &status, 0)
            throw SondeError(.system, "installing the seccomp filter for \(command[0]) failed",
                             errno: got == 4 && code != 0 ? Errno(rawValue: code) : nil)
        }
        let identity = ContainerIdentity(id: "\(URL(fileURLWithPath: command[0]).lastPathComponent)-\(child)", metadata: metadata)
        return Supervised(pid: child, session: adopt(notifyFD: fds[0], identity: identity, pid: child))
    }
}
