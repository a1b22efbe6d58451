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
    /// A struct iovec array of argument `countArgument` entries and the bytes behind each (writev).
    case inputIovec(countArgument: Int)
    /// The same read at exit, with as many bytes as the call returned spread over the entries (readv).
    case outputIovec(countArgument: Int)
    /// A struct msghdr with its msg_name and its iovecs (sendmsg).
    case inputMessage
    /// The same read at exit (recvmsg).
    case outputMessage
    /// An fd_set of argument `countArgument` descriptors (select): at entry, and the kernel's
    /// result at exit when descriptors were ready.
    case fdSet(countArgument: Int)
    /// A fixed-size struct read at entry and, when the call succeeded, at exit (`atExit`): an
    /// argument whose direction depends on another (ioctl's request, prctl's option).
    case inOutStruct(size: Int)
    /// An array of argument `countArgument` elements of `elementSize` bytes passed in (setgroups).
    case inputArray(countArgument: Int, elementSize: Int)
    /// An array the kernel fills, read at exit: as many elements as the call returned, at most
    /// argument `countArgument` (getgroups).
    case outputArray(countArgument: Int, elementSize: Int)
    /// One byte per page of the range argument `lengthArgument` long, read at exit when the call
    /// succeeded (mincore's vector).
    case outputPageVector(lengthArgument: Int)
    /// The signal mask rt_sigreturn restores, read at entry from the signal frame at the user
    /// stack pointer (the call has no arguments; it is shown as its first).
    case signalFrameMask
}

/// One argument's captured bytes, as the recorder found them.
///
/// Strings come without their NUL. A string array (`.stringArray`, execve's argv) comes as its
/// entries, each followed by one NUL byte (`"ls\0-l\0"`); `truncated` then means that entries or
/// the end of one were not kept.
///
/// An iovec array (`.inputIovec`) comes as the array's bytes, with the data behind each entry in
/// `elements`; a msghdr (`.inputMessage`) as the struct's bytes, its msg_name in `name` and its
/// iovec array in `iovecs`. What the kernel wrote back into an in-out argument (an fd_set) is
/// in `atExit`.
public struct CapturedData: Sendable, Hashable {
    public var bytes: [UInt8]
    /// The data went on beyond what was kept (sonde's bound), or the string had no NUL within it.
    public var truncated: Bool
    /// Reading user memory failed (a bad pointer: strace prints the address instead).
    public var faulted: Bool
    /// The bytes behind each iovec, in order.
    public var elements: [CapturedData] = []
    /// A msghdr's socket address.
    public var name: CapturedData? {
        get { nameStorage.first }
        set { nameStorage = newValue.map { [$0] } ?? [] }
    }
    /// A msghdr's iovec array (with the bytes behind each entry in its `elements`).
    public var iovecs: CapturedData? {
        get { iovecStorage.first }
        set { iovecStorage = newValue.map { [$0] } ?? [] }
    }
    /// The argument as the kernel left it, read at exit.
    public var atExit: CapturedData? {
        get { atExitStorage.first }
        set { atExitStorage = newValue.map { [$0] } ?? [] }
    }
    // Arrays: a struct cannot hold itself directly.
    private var nameStorage: [CapturedData] = []
    private var iovecStorage: [CapturedData] = []
    private var atExitStorage: [CapturedData] = []

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
