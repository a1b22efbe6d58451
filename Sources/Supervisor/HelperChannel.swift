#if canImport(Glibc)
import Glibc
#endif
import CSonde
import LinuxKit

/// The agent's channels to its helper processes and to a successor agent: SOCK_SEQPACKET sockets
/// whose messages carry file descriptors (SCM_RIGHTS).
public enum HelperChannel {
    /// One received message: its bytes and the descriptors that came with it (close-on-exec).
    public struct Message {
        public var bytes: [UInt8]
        public var fds: [Int32]
    }

    /// Receives one message of at most `capacity` bytes and `maxFDs` descriptors, through EINTR.
    /// nil at end of file or on an error (errno tells which); descriptors of a message too large
    /// to take whole are closed, and the message is refused.
    public static func receive(_ socket: Int32, capacity: Int, maxFDs: Int) -> Message? {
        var bytes = [UInt8](repeating: 0, count: capacity)
        var fds = [Int32](repeating: -1, count: maxFDs)
        var count: Int32 = 0, truncated: Int32 = 0
        let got = retryingInterrupted {
            bytes.withUnsafeMutableBytes { raw in
                fds.withUnsafeMutableBufferPointer {
                    sonde_recv_with_fds(socket, raw.baseAddress, raw.count, $0.baseAddress, Int32(maxFDs), &count, &truncated)
                }
            }
        }
        let received = Array(fds.prefix(Int(max(0, count))))
        guard got > 0, truncated == 0 else {
            for fd in received { close(fd) }
            return nil
        }
        return Message(bytes: Array(bytes[..<got]), fds: received)
    }

    /// Starts `executable` with one end of a new socketpair as its fd 3 (the helpers' convention),
    /// the agent's signal settings, and `environment`; stdio from /dev/null unless `inheritStdio`.
    /// Returns the child and the agent's end of the socket.
    static func spawn(_ executable: String, arguments: [String], environment: UnsafePointer<UnsafeMutablePointer<CChar>?>?,
                      inheritStdio: Bool) throws(Errno) -> (pid: pid_t, channel: Int32) {
        var pair: [Int32] = [-1, -1]
        if socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) != 0 { throw Errno.current }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = Supervisor.spawnAttributes()
        defer { posix_spawnattr_destroy(&attributes) }
        if !inheritStdio {
            for fd: Int32 in [0, 1, 2] { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_RDWR, 0) }
        }
        // dup2 clears close-on-exec on the copy: fd 3 is the only end the child keeps.
        posix_spawn_file_actions_adddup2(&actions, pair[1], 3)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, executable, &actions, &attributes, argv, environment)
        close(pair[1])
        if spawned != 0 {
            close(pair[0])
            throw Errno(rawValue: spawned)
        }
        return (child, pair[0])
    }
}
