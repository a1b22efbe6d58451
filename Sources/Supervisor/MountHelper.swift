#if canImport(Glibc)
import Glibc
#endif
import CSonde
import Foundation
import LinuxKit

/// The agent's side of a container's mount helper: a single-threaded process (the
/// `sonde-supervise-helper` executable) that joined the container's namespaces once, and performs
/// mounts on fds the agent resolved. One per (mount namespace, pid namespace) of a session, spawned
/// at its first mount, ended with the session.
///
/// What a process of the container can do to it (the helper is privileged and sits in its
/// namespaces, CVE-2016-9962's class): it starts with an empty environment, /dev/null as stdio and
/// no fd but its socket; it is non-dumpable before it joins anything, so ptrace and /proc/PID access
/// need CAP_SYS_PTRACE in the host's user namespace; it keeps only CAP_SYS_ADMIN and
/// CAP_DAC_READ_SEARCH. In a container with its own user namespace it becomes that namespace's root
/// and holds capabilities only there. In a container without one it stays out of the container's pid
/// namespace, so no process of the container can even name it (such containers get no proc mounts).
///
/// Wire protocol over a SOCK_SEQPACKET socketpair (message boundaries kept, fds with SCM_RIGHTS):
///  1. agent -> helper: "ns:" and the namespace names, with their fds in that order (user first, pid
///     last when joined); helper -> agent: Int32 errno (0: joined).
///  2. per mount: agent -> helper: the encoded Request with fds [target] or [target, bind source];
///     helper -> agent: Int32 errno of the mount (0: mounted).
/// The helper exits when its socket closes.
public final class MountHelper: @unchecked Sendable {
    public struct Request: Equatable, Sendable {
        public var bind: Bool
        public var fstype: String?
        public var source: String?
        public var flags: UInt64
        public var data: String?

        public init(bind: Bool, fstype: String?, source: String?, flags: UInt64, data: String?) {
            self.bind = bind
            self.fstype = fstype
            self.source = source
            self.flags = flags
            self.data = data
        }

        /// Fields separated by NUL; an absent string is a field holding one 0xFF byte (never valid UTF-8,
        /// so distinct from every string a caller can pass).
        public func encode() -> [UInt8] {
            func field(_ s: String?) -> [UInt8] { s.map { Array($0.utf8) } ?? [0xFF] }
            var out: [UInt8] = Array((bind ? "bind" : "mount").utf8)
            for part in [field(fstype), field(source), Array(String(flags).utf8), field(data)] {
                out.append(0)
                out += part
            }
            return out
        }

        public static func decode(_ bytes: [UInt8]) -> Request? {
            let parts = bytes.split(separator: 0, omittingEmptySubsequences: false)
            guard parts.count == 5, let flags = UInt64(String(decoding: parts[3], as: UTF8.self)) else { return nil }
            func field(_ part: ArraySlice<UInt8>) -> String? { part == [0xFF] ? nil : String(decoding: part, as: UTF8.self) }
            let kind = String(decoding: parts[0], as: UTF8.self)
            guard kind == "bind" || kind == "mount" else { return nil }
            return Request(bind: kind == "bind", fstype: field(parts[1]), source: field(parts[2]), flags: flags,
                           data: field(parts[4]))
        }
    }

    public let pid: pid_t
    private let socket: Int32
    /// The helper stopped answering (killed or stopped from inside its container): the session
    /// replaces it rather than failing, or waiting on, every later mount.
    public private(set) var broken = false
    /// How long a mount may take before the helper is judged stuck.
    static let answerTimeout = timeval(tv_sec: 10, tv_usec: 0)

    /// The namespaces the helper joins, in order: the user namespace first (it gives the capabilities
    /// the others need), the pid namespace last (it only applies to children).
    public static func namespaces(joinPidNamespace: Bool) -> [String] {
        ["user", "mnt", "net", "ipc", "uts", "cgroup"] + (joinPidNamespace ? ["pid"] : [])
    }

    /// Spawns the helper and has it join the namespaces of `target` (a process of the container).
    /// `validate` is called after the namespace fds are open: only if the notification is still valid
    /// do they belong to the caller.
    public init(executable: String, target: Int32, joinPidNamespace: Bool, validate: () -> Bool) throws(Errno) {
        var namespaceFDs: [Int32] = []
        defer { for fd in namespaceFDs { close(fd) } }
        let names = Self.namespaces(joinPidNamespace: joinPidNamespace)
        for name in names {
            let fd = open("/proc/\(target)/ns/\(name)", O_RDONLY | O_CLOEXEC)
            if fd < 0 { throw Errno.current }
            namespaceFDs.append(fd)
        }
        guard validate() else { throw Errno(rawValue: ESRCH) }

        // No environment, stdio from /dev/null; the helper closes everything above fd 3 first thing.
        let emptyEnvironment: [UnsafeMutablePointer<CChar>?] = [nil]
        (pid, socket) = try HelperChannel.spawn(executable, arguments: [], environment: emptyEnvironment, inheritStdio: false)
        var timeout = Self.answerTimeout
        _ = setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        do throws(Errno) {
            let joined = try exchange(Array(("ns:" + names.joined(separator: ",")).utf8), fds: namespaceFDs)
            if joined != 0 { throw Errno(rawValue: joined) }
        } catch {
            stop()
            throw error
        }
    }

    /// Asks the helper to mount; returns the mount's errno (0: success).
    public func perform(_ request: Request, fds: [Int32]) throws(Errno) -> Int32 {
        try exchange(request.encode(), fds: fds)
    }

    private func exchange(_ message: [UInt8], fds: [Int32]) throws(Errno) -> Int32 {
        let sent = message.withUnsafeBytes { bytes in
            fds.withUnsafeBufferPointer { sonde_send_with_fds(socket, bytes.baseAddress, bytes.count, $0.baseAddress, Int32(fds.count)) }
        }
        // A helper that died (its container's pid namespace ended) cannot mount: the call fails, the
        // session spawns a new helper for the next mount.
        if sent < 0 {
            broken = true
            throw Errno(rawValue: EIO)
        }
        var reply: Int32 = 0
        if retryingInterrupted({ recv(socket, &reply, 4, 0) }) == 4 { return reply }
        broken = true // gone (EOF), or no answer within answerTimeout (EAGAIN)
        throw Errno(rawValue: EIO)
    }

    /// Ends the helper: closing its socket makes it exit; it is reaped here so nothing is left over.
    public func stop() {
        close(socket)
        kill(pid, SIGKILL)
        waitForChild(pid)
    }
}
