#if canImport(Glibc)
import Glibc
#endif

/// A unix socket's address (`sockaddr_un`): a path, or with a leading "@" a name in the abstract
/// namespace (as systemd writes NOTIFY_SOCKET). The length is checked once, here: a path the
/// kernel would cut is refused rather than bound or connected under another name.
public struct UnixSocketAddress: Sendable {
    public let path: String
    private let address: sockaddr_un
    /// The address's length for bind/connect/sendto: an abstract name counts its bytes exactly (it
    /// may hold any byte, and no terminating NUL belongs to it).
    public let length: socklen_t

    public init(_ path: String) throws(SondeError) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        var bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        guard bytes.count > (abstract ? 1 : 0), bytes.count < capacity, abstract || !bytes.contains(0) else {
            throw SondeError(.invalidArgument, "socket path '\(path)' is empty, holds a NUL byte or is longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) } // the rest stays 0
        self.path = path
        self.address = address
        let offset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
        length = socklen_t(abstract ? offset + bytes.count : MemoryLayout<sockaddr_un>.size)
    }

    /// Whether something accepts stream connections here (a live server, not a stale socket file).
    public func answers() -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return withSockaddr { address, length in retryingInterrupted { connect(fd, address, length) } } == 0
    }

    /// Sends one datagram here from a socket of its own (syslog's /dev/log, systemd's
    /// NOTIFY_SOCKET); true when the whole datagram left. `flags`: sendto(2)'s, e.g. MSG_DONTWAIT.
    @discardableResult
    public func send(datagram: [UInt8], flags: Int32 = 0) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let sent = withSockaddr { target, length in
            datagram.withUnsafeBytes { bytes in
                retryingInterrupted { sendto(fd, bytes.baseAddress, bytes.count, flags | Int32(MSG_NOSIGNAL), target, length) }
            }
        }
        return sent == datagram.count
    }

    /// Calls `body` with the address as the socket calls take it.
    public func withSockaddr<T, E: Error>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(E) -> T) throws(E) -> T {
        var copy = address
        return try withUnsafePointer(to: &copy) { pointer throws(E) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddr throws(E) in try body(sockaddr, length) }
        }
    }
}
