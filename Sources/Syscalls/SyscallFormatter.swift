/// Formats recorded syscalls as strace 6.1 prints them (the call line without pid or timestamp):
/// `openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3`.
///
/// Formatting works on bytes and table lookups only (no Foundation, no regexes), so that a dump of
/// tens of thousands of records stays in the tens of milliseconds.
///
/// What the formatter expects in `SyscallRecord.captured` (per the table's `captures`):
/// - `.string`: the bytes before the NUL (a NUL, if present, ends the string); `truncated` when
///   sonde's bound cut it.
/// - `.stringArray`: each element's bytes followed by a NUL; `truncated` when elements were left out.
/// - `.inputBuffer`, `.outputBuffer`: a prefix of the buffer (`truncated` or shorter than the call's
///   length when sonde kept less); output buffers are only looked at when the call succeeded.
/// - `.outputSockaddr`: the address as long as the socklen the kernel wrote back says (sonde shows
///   that length as the `=> N` of `[128 => 16]`).
/// - `.inputStruct`, `.outputStruct`: the structure's bytes; outputs only when the call succeeded.
/// - `faulted` (or no entry): the argument prints as its address, as strace prints unreadable memory.
public struct SyscallFormatter: Sendable {
    /// strace's default `-s`.
    public static let defaultStringLimit = 32

    public var table: SyscallTable
    /// strace's `-s`: how many bytes of a string or buffer are shown before `...`.
    public var stringLimit: Int
    /// When not 0, pads the call to this column before ` = ` as strace does (strace's column is 40,
    /// counted from the start of its line: subtract the width of any prefix such as the pid).
    public var alignmentColumn: Int

    public init(table: SyscallTable = .x86_64, stringLimit: Int = SyscallFormatter.defaultStringLimit,
                alignmentColumn: Int = 0) {
        self.table = table
        self.stringLimit = stringLimit
        self.alignmentColumn = alignmentColumn
    }

    /// The record as strace prints it, with strace's default string limit, on x86_64.
    public static func format(_ record: SyscallRecord, stringLimit: Int = defaultStringLimit) -> String {
        SyscallFormatter(stringLimit: stringLimit).format(record)
    }

    /// The record as strace prints it.
    public func format(_ record: SyscallRecord) -> String {
        var out = Output()
        write(record, to: &out)
        return out.string()
    }

    /// As strace -y prints it: file descriptors followed by the path they stand for, `3</etc/hosts>`,
    /// where `fdPaths` knows it.
    public func format(_ record: SyscallRecord, fdPaths: [Int64: String]) -> String {
        var out = Output()
        write(record, to: &out, fdPaths: fdPaths)
        return out.string()
    }

    /// The second half of a call whose entry is unknown (it was overwritten, or came before
    /// recording began), as strace prints a resumed call: `<... read resumed>) = 5`. The result is
    /// rendered by the syscall's own rules (mmap's address in hex, fcntl's flags...).
    public func formatResumed(_ record: SyscallRecord, fdPaths: [Int64: String]? = nil) -> String {
        var out = Output()
        out.append("<... ")
        if let syscall = table[record.number] {
            out.append(syscall.name)
        } else {
            out.append("syscall_0x")
            out.hexDigits(UInt64(UInt(bitPattern: record.number)))
        }
        out.append(" resumed>)")
        finish(Call(record: record, limit: max(0, stringLimit), fdPaths: fdPaths), syscall: table[record.number], out: &out, lineStart: 0)
        return out.string()
    }

    /// Appends the record's line (without a newline) as UTF-8 to `bytes`: the cheapest way to dump
    /// many records.
    public func append(_ record: SyscallRecord, to bytes: inout [UInt8]) {
        var out = Output(capacity: 0)
        swap(&out.bytes, &bytes)
        let start = out.count
        write(record, to: &out, lineStart: start)
        swap(&out.bytes, &bytes)
    }

    func write(_ record: SyscallRecord, to out: inout Output, lineStart: Int = 0, fdPaths: [Int64: String]? = nil) {
        let call = Call(record: record, limit: max(0, stringLimit), fdPaths: fdPaths)
        guard let syscall = table[record.number] else {
            // strace's form for a number it does not know: six raw arguments.
            out.append("syscall_0x")
            out.hexDigits(UInt64(UInt(bitPattern: record.number)))
            out.byte(0x28)
            for i in 0..<6 {
                if i > 0 { out.append(", ") }
                out.hex(call.arg(i))
            }
            if record.completion == .unfinished {
                out.append(" <unfinished ...>")
                return
            }
            out.byte(0x29)
            finish(call, syscall: nil, out: &out, lineStart: lineStart)
            return
        }
        out.append(syscall.name)
        out.byte(0x28)
        let schema = syscall.schema
        let stopped: Bool
        if let special = schema.special {
            stopped = call.writeSpecial(special, to: &out)
        } else {
            stopped = call.writeArguments(schema.arguments, to: &out)
        }
        if record.completion == .unfinished {
            out.append(stopped ? ",  <unfinished ...>" : " <unfinished ...>")
            return
        }
        out.byte(0x29)
        finish(call, syscall: syscall, out: &out, lineStart: lineStart)
    }

    private func finish(_ call: Call, syscall: Syscall?, out: inout Output, lineStart: Int) {
        let width = out.count - lineStart
        if alignmentColumn > 0 && width < alignmentColumn {
            out.spaces(alignmentColumn - width)
        } else {
            out.byte(0x20)
        }
        out.append("= ")
        switch call.record.completion {
        case .noReturn:
            if syscall?.returnBehavior == .neverOnSuccess { out.byte(0x30) } else { out.byte(0x3F) }
        case .unfinished:
            out.byte(0x3F)
        case .returned(let value):
            call.writeReturn(value, ret: syscall?.schema.ret ?? .int, to: &out)
            if syscall != nil, Self.resultIsDescriptor(call.record), value >= 0 { call.writeFDPath(value, to: &out) }
        }
    }
}

extension SyscallFormatter {
    /// Calls whose result is a new descriptor (open, openat, openat2, creat, dup, dup2, dup3):
    /// strace -y shows its path.
    public static let returnsDescriptor: Set<Int> = [2, 257, 437, 85, 32, 33, 292]
    /// Calls whose result is a new descriptor that is not a path (socket, accept, accept4,
    /// epoll_create, epoll_create1, eventfd, eventfd2, timerfd_create, signalfd, signalfd4,
    /// inotify_init, inotify_init1, memfd_create, pidfd_open, userfaultfd): strace -y shows what
    /// it is (`socket:[4862765]`), which only /proc knows.
    public static let returnsOtherDescriptor: Set<Int> = [41, 43, 288, 213, 291, 284, 290, 283, 282, 289, 253, 294, 319, 434, 323]
    /// Calls that fill an int pair with two new descriptors (pipe, pipe2, socketpair), by number,
    /// with the argument that points to the pair.
    public static let returnsDescriptorPair: [Int: Int] = [22: 0, 293: 0, 53: 3]

    /// The descriptors a successful call made that are not paths (socket's result, pipe's pair).
    public static func madeDescriptors(_ record: SyscallRecord) -> [Int64] {
        guard case .returned(let value) = record.completion, value >= 0 else { return [] }
        if returnsOtherDescriptor.contains(record.number) { return [value] }
        if let pair = returnsDescriptorPair[record.number], let bytes = record.captured[pair]?.bytes, bytes.count >= 8 {
            return [bytes.i32(0), bytes.i32(4)]
        }
        return []
    }

    /// Whether the call's result is a new descriptor (fcntl F_DUPFD and F_DUPFD_CLOEXEC too).
    public static func resultIsDescriptor(_ record: SyscallRecord) -> Bool {
        if returnsDescriptor.contains(record.number) || returnsOtherDescriptor.contains(record.number) { return true }
        guard record.number == 72, record.arguments.count > 1 else { return false } // fcntl
        return record.arguments[1] & 0xFFFF_FFFF == 0 || record.arguments[1] & 0xFFFF_FFFF == 1030
    }
}

/// One record being formatted.
struct Call {
    let record: SyscallRecord
    let limit: Int
    /// strace -y: the paths of descriptors, when asked for.
    let fdPaths: [Int64: String]?

    init(record: SyscallRecord, limit: Int, fdPaths: [Int64: String]? = nil) {
        self.record = record
        self.limit = limit
        self.fdPaths = fdPaths
    }

    /// `<path>` after a descriptor, as strace -y prints it, when the path is known.
    func writeFDPath(_ fd: Int64, to out: inout Output) {
        guard let path = fdPaths?[fd] else { return }
        out.byte(0x3C)
        out.append(path)
        out.byte(0x3E)
    }

    /// Argument register `i` (0 when the record has fewer).
    @inline(__always)
    func arg(_ i: Int) -> UInt64 { i < record.arguments.count ? record.arguments[i] : 0 }

    @inline(__always)
    func int(_ i: Int) -> Int64 { Int64(Int32(truncatingIfNeeded: arg(i))) }

    var unfinished: Bool { record.completion == .unfinished }

    /// The return value, when the call returned.
    var returnValue: Int64? {
        if case .returned(let v) = record.completion { return v }
        return nil
    }

    /// The call returned and did not fail.
    var succeeded: Bool {
        guard let v = returnValue else { return false }
        return v >= 0 || v < -4095
    }

    /// The bytes captured for argument `i`, unless missing or faulted.
    func data(_ i: Int) -> CapturedData? {
        guard let captured = record.captured[i], !captured.faulted else { return nil }
        return captured
    }

    /// Writes the arguments; returns true when an unfinished call stopped, after printing some
    /// arguments, before one strace only prints at exit (strace then ends the line with `, `).
    func writeArguments(_ arguments: [Arg], to out: inout Output) -> Bool {
        var first = true
        for (i, argument) in arguments.enumerated() {
            if unfinished && argument.decodedAtExit { return !first }
            guard present(argument) else { continue }
            if !first { out.append(", ") }
            first = false
            write(argument, index: i, to: &out)
        }
        return false
    }

    /// Optional arguments strace leaves out.
    func present(_ argument: Arg) -> Bool {
        switch argument {
        case .openMode(let f):
            let flags = arg(f)
            return flags & 0o100 != 0 || flags & 0o20000000 != 0
        case .device(let m):
            let type = arg(m) & 0o170000
            return type == 0o020000 || type == 0o060000
        case .remapAddress(let f):
            return arg(f) & 2 != 0
        case .omitted:
            return false
        default:
            return true
        }
    }
}
