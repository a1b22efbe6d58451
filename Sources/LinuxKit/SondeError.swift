/// The one error type sonde shows to people: what failed, why, and what to do about it.
/// Lower layers throw it with their own `Code`; the CLI prints `description`, the daemon maps
/// the code to a gRPC status in one place.
public struct SondeError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let notPrivileged = Code("not privileged")
        public static let kernelFeatureMissing = Code("kernel feature missing")
        public static let bpfLoadFailed = Code("BPF load failed")
        public static let bpfAttachFailed = Code("BPF attach failed")
        public static let notFound = Code("not found")
        public static let invalidArgument = Code("invalid argument")
        public static let malformedInput = Code("malformed input")
        public static let system = Code("system call failed")
        /// A limit was reached (a client's concurrent streams, say): try again later.
        public static let resourceExhausted = Code("resource exhausted")
    }

    public let code: Code
    /// One line: what failed.
    public let message: String
    /// What to do about it, when sonde knows.
    public let hint: String?
    /// The errno behind it, for failed system calls.
    public let errno: Errno?
    /// Extra lines worth showing (the verifier's log tail, say).
    public let details: [String]

    public init(_ code: Code, _ message: String, hint: String? = nil, errno: Errno? = nil, details: [String] = []) {
        self.code = code
        self.message = message
        self.hint = hint
        self.errno = errno
        self.details = details
    }

    public var description: String {
        var text = message
        if let errno { text += ": \(errno)" }
        if let hint { text += "\n  hint: \(hint)" }
        for line in details { text += "\n  | \(line)" }
        return text
    }

    /// A failed system or library call, with the errno it reported.
    public static func system(_ what: String, _ errno: Errno, hint: String? = nil) -> SondeError {
        SondeError(.system, what, hint: hint, errno: errno)
    }
}
