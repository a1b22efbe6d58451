/// What the flight recorder copies from user memory for one syscall argument, besides the raw
/// register value. The BPF program reads this table (one entry per syscall number, set before
/// load) so that user space alone decides what is worth capturing.
public enum ArgumentCapture: Sendable, Hashable {
    /// Only the register value (integers, flags, fds, and pointers not worth following).
    case value
    /// A NUL-terminated string, read at entry (paths, names).
    case string
    /// A NUL-terminated array of string pointers (execve's argv), read at entry.
    case stringArray
    /// A buffer the caller passes in (write, sendto): read at entry, length from argument `lengthArgument`.
    case inputBuffer(lengthArgument: Int)
    /// A buffer the kernel fills (read, recvfrom): read at exit, length = the return value
    /// (bounded by argument `lengthArgument`).
    case outputBuffer(lengthArgument: Int)
    /// A socket address passed in (connect, bind, sendto): length from argument `lengthArgument`.
    case inputSockaddr(lengthArgument: Int)
    /// A socket address the kernel fills (accept, getsockname): read at exit; its length is
    /// in the socklen_t that argument `lengthPointerArgument` points to.
    case outputSockaddr(lengthPointerArgument: Int)
    /// A fixed-size struct passed in (struct timespec, struct open_how...).
    case inputStruct(size: Int)
    /// A fixed-size struct the kernel fills (struct stat...), read at exit when the call succeeded.
    case outputStruct(size: Int)
}

/// One argument's captured bytes, as the recorder found them.
///
/// Strings come without their NUL. A string array (`.stringArray`, execve's argv) comes as its
/// entries, each followed by one NUL byte (`"ls\0-l\0"`); `truncated` then means that entries or
/// the end of one were not kept.
public struct CapturedData: Sendable, Hashable {
    public var bytes: [UInt8]
    /// The data went on beyond what was kept (sonde's bound), or the string had no NUL within it.
    public var truncated: Bool
    /// Reading user memory failed (a bad pointer: strace prints the address instead).
    public var faulted: Bool

    public init(bytes: [UInt8], truncated: Bool = false, faulted: Bool = false) {
        self.bytes = bytes
        self.truncated = truncated
        self.faulted = faulted
    }
}

/// One syscall as recorded: entry and, when it returned, exit.
public struct SyscallRecord: Sendable, Hashable {
    public enum Completion: Sendable, Hashable {
        /// Returned with this value (negative: -errno).
        case returned(Int64)
        /// Still running when the buffer was read (strace's `<unfinished ...>`).
        case unfinished
        /// Never returns by design: exit, exit_group, a successful execve (seen as the new image).
        case noReturn
    }

    public var number: Int
    /// The six raw argument registers.
    public var arguments: [UInt64]
    /// Captured memory, by argument index (0...5).
    public var captured: [Int: CapturedData]
    public var completion: Completion

    public init(number: Int, arguments: [UInt64], captured: [Int: CapturedData] = [:], completion: Completion) {
        self.number = number
        self.arguments = arguments
        self.captured = captured
        self.completion = completion
    }
}
