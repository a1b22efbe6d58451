import Foundation
import LinuxKit

/// A unix datagram socket bound at a path or an abstract name ("@..."), standing in for a peer
/// sonde talks to by datagrams: systemd's NOTIFY_SOCKET, say.
public final class DatagramSocket: @unchecked Sendable {
    public let path: String
    let fd: Int32

    public init(_ path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(Errno.current)") }
        let address = try UnixSocketAddress(path)
        guard address.withSockaddr({ bind(fd, $0, $1) }) == 0 else {
            close(fd)
            throw TestFailure("bind \(path): \(Errno.current)")
        }
    }

    /// The next datagram as text, or nil when none came within `seconds`.
    public func receive(within seconds: Int = 30) -> String? {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = retryingInterrupted { recv(fd, &buffer, buffer.count, 0) }
        return n >= 0 ? String(decoding: buffer[..<n], as: UTF8.self) : nil
    }

    /// Closes the socket and removes its file (a path, not an abstract name).
    public func remove() {
        close(fd)
        if !path.hasPrefix("@") { unlink(path) }
    }
}
