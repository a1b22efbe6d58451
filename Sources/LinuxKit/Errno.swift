#if canImport(Glibc)
import Glibc
#endif

/// A Linux errno value with its symbolic name (`ENOENT`) and its text ("No such file or directory").
public struct Errno: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The errno of a failed syscall's result (-errno). Results come from the kernel, a record or
    /// a peer: any Int64, Int64.min included, gives an Errno rather than a trap.
    public init(negativeResult result: Int64) {
        self.init(rawValue: Int32(clamping: result == .min ? Int64.max : -result))
    }

    /// The calling thread's errno, read right after a failed call.
    public static var current: Errno { Errno(rawValue: errno) }

    public static let interrupted = Errno(rawValue: EINTR)
    public static let notFound = Errno(rawValue: ENOENT)
    public static let permissionDenied = Errno(rawValue: EPERM)

    /// `ENOENT`, or `E123` for a number the table does not know.
    public var name: String { Errno.names[rawValue] ?? "E\(rawValue)" }

    /// The C library's text for it (strerror).
    public var message: String { String(cString: strerror(rawValue)) }

    /// `ENOENT (No such file or directory)`, as strace writes it.
    public var description: String { "\(name) (\(message))" }

    /// The errno whose symbolic name is `name`, if the table has it.
    public init?(name: String) {
        guard let number = Errno.names.first(where: { $0.value == name })?.key else { return nil }
        self.rawValue = number
    }
}

/// Thrown by code whose failure is exactly an errno to pass on (the supervisor answers calls with it).
extension Errno: Error {}
