import Events
import LinuxKit
import Syscalls

/// A signal of a recorded thread, as the kernel generated or delivered it (bpf/recorder.h).
public struct RecordedSignal: Sendable, Hashable {
    /// What the kernel did with the signal when it was sent (its TRACE_SIGNAL_* result).
    public enum Generation: Int, Sendable, Hashable {
        case queued = 0, ignored = 1, alreadyPending = 2, overflow = 3, infoLost = 4
    }

    /// How the thread took a signal.
    public enum Disposition: Sendable, Hashable {
        case defaultAction
        case ignored
        case handler(UInt64)
    }

    public enum Event: Sendable, Hashable {
        /// Sent, in the sender's context.
        case generated(Generation)
        /// Taken by the thread.
        case delivered(Disposition)
    }

    public var number: Int
    public var event: Event
    /// The kernel's siginfo; nil when the kernel had none (a thread taken down by its process's
    /// group exit), or kept none.
    public var info: SignalInfo?
    /// Sent by the kernel (SEND_SIG_PRIV), without a siginfo of its own.
    public var fromKernel: Bool
    /// Sent to the whole process rather than one thread.
    public var toProcess: Bool

    /// Discarded when sent because the process ignores it (SIG_IGN). Signals ignored by default
    /// (SIGCHLD, SIGCONT, SIGURG, SIGWINCH) are not marked: strace shows them plainly, and so does sonde.
    public var explicitlyIgnored: Bool {
        guard case .generated(.ignored) = event else { return false }
        return ![17, 18, 23, 28].contains(number)
    }

    /// The siginfo strace shows: the kernel's, or for a signal the kernel sent with none, the one it
    /// makes up at delivery (`si_code=SI_KERNEL`).
    public var shownInfo: SignalInfo {
        if let info { return info }
        var bytes = [UInt8](repeating: 0, count: 48)
        withUnsafeBytes(of: Int32(number).littleEndian) { bytes.replaceSubrange(0..<4, with: $0) }
        withUnsafeBytes(of: Int32(fromKernel ? 0x80 : 0).littleEndian) { bytes.replaceSubrange(8..<12, with: $0) }
        return SignalInfo(bytes: bytes)
    }
}

/// The end of a recorded thread.
public struct ThreadExit: Sendable, Hashable {
    /// The wait status: signal in the low 7 bits, 0x80 core dumped, exit status in bits 8 to 15.
    public var status: Int32
    /// The process's last thread.
    public var lastThread: Bool

    /// The signal that ended it, if one did.
    public var signal: Int? { status & 0x7f == 0 ? nil : Int(status & 0x7f) }
    public var exitStatus: Int { Int((status >> 8) & 0xff) }
    public var coreDumped: Bool { status & 0x80 != 0 }

    /// strace's line: `exited with 3`, `killed by SIGSEGV (core dumped)`.
    public var text: String {
        guard let signal else { return "exited with \(exitStatus)" }
        return "killed by " + SymbolText.signal(Int64(signal)) + (coreDumped ? " (core dumped)" : "")
    }
}

/// The user stack of a thread that took a fault it did not handle, captured in the kernel.
public struct CrashStack: Sendable, Hashable {
    /// A frame: its address, the file the kernel named for it, and what the file says (filled in
    /// at dump time by StackSymbolizer, when the file is found and readable).
    public struct Frame: Sendable, Hashable {
        public var address: UInt64
        /// The build id of the file the frame falls in and the offset in it; nil for anonymous
        /// memory, or a file the kernel could not read the build id of.
        public var buildID: [UInt8]?
        public var fileOffset: UInt64?
        /// The file's path inside the container, found by its build id.
        public var module: String?
        /// The address as the module's own (its ELF virtual address): strace -k's `[0x...]`.
        public var moduleAddress: UInt64?
        public var symbol: String?
        public var symbolOffset: UInt64 = 0

        public var buildIDText: String? { buildID.map { $0.map { String($0, radix: 16).leftPadded(to: 2, with: "0") }.joined() } }
    }

    public var signal: Int
    /// The executable's path inside the container ("..." first when the kernel kept only its end).
    public var executable: String?
    /// Innermost first.
    public var frames: [Frame]

    /// strace -k's lines: ` > /usr/bin/app(crash_here+0x12) [0x1139]`; a file not found is named by
    /// its build id, anonymous memory by the address alone.
    public var lines: [String] {
        frames.map { frame in
            let hex = { (value: UInt64) in "0x" + String(value, radix: 16) }
            if let module = frame.module {
                let symbol = frame.symbol.map { $0 + "+" + hex(frame.symbolOffset) } ?? ""
                return " > " + module + "(" + symbol + ") [" + hex(frame.moduleAddress ?? frame.fileOffset ?? frame.address) + "]"
            }
            if let buildID = frame.buildIDText, let offset = frame.fileOffset {
                return " > build-id " + buildID + " [" + hex(offset) + "]"
            }
            return " > ? [" + hex(frame.address) + "]"
        }
    }
}

/// A signal, a thread's end or a crash stack, in its place among the syscalls of a dump.
public struct ProcessEvent: Sendable {
    public enum Kind: Sendable {
        case signal(RecordedSignal)
        case exit(ThreadExit)
        case stack(CrashStack)
    }

    public var pid: UInt32
    public var tid: UInt32
    public var bootNanoseconds: UInt64
    public var kind: Kind
}

extension RingReader {
    /// The fixed-size records of bpf/recorder.h beside the syscalls: signals, thread exits, stacks.
    static func decodeEvent(type: UInt8, number: Int, size: Int, load: (Int) -> UInt8, bytes: (Int, Int) -> [UInt8])
        -> RawRecord.Kind?
    {
        func u16(_ at: Int) -> UInt16 { UInt16(load(at)) | UInt16(load(at + 1)) << 8 }
        func u32(_ at: Int) -> UInt32 { UInt32(u16(at)) | UInt32(u16(at + 2)) << 16 }
        func u64(_ at: Int) -> UInt64 { UInt64(u32(at)) | UInt64(u32(at + 4)) << 32 }
        typealias S = RingLayout.Signal
        switch type {
        case RingLayout.Record.typeSignal:
            guard size >= S.size else { return nil }
            let flags = load(S.flags)
            let event: RecordedSignal.Event
            switch load(S.event) {
            case S.generated:
                event = .generated(RecordedSignal.Generation(rawValue: Int(load(S.result))) ?? .queued)
            case S.delivered:
                let handler = u64(S.handler)
                event = .delivered(handler == 0 ? .defaultAction : handler == 1 ? .ignored : .handler(handler))
            default:
                return nil
            }
            return .signal(RecordedSignal(number: number, event: event,
                                          info: flags & S.hasInfo != 0 ? SignalInfo(bytes: bytes(S.info, S.infoSize)) : nil,
                                          fromKernel: flags & S.fromKernel != 0, toProcess: flags & S.group != 0))
        case RingLayout.Record.typeThreadExit:
            guard size >= RingLayout.ThreadExit.size else { return nil }
            return .threadExit(ThreadExit(status: Int32(bitPattern: u32(RingLayout.ThreadExit.exitCode)),
                                          lastThread: load(RingLayout.ThreadExit.groupDead) != 0))
        case RingLayout.Record.typeStack:
            typealias K = RingLayout.Stack
            guard size >= K.size else { return nil }
            let frameCount = min(Int(u32(K.frameCount)), K.maxFrames)
            let fileCount = min(Int(u32(K.fileCount)), K.maxFrames)
            let pathStart = min(Int(u16(K.exePathStart)), K.pathMax)
            let path = bytes(K.exePath + pathStart, K.pathMax - pathStart)
            let truncated = u16(K.exeFlags) & K.pathTruncated != 0
            let frames = (0..<frameCount).map { index -> CrashStack.Frame in
                var frame = CrashStack.Frame(address: u64(K.frames + 8 * index))
                let file = K.files + index * K.File.size
                if index < fileCount, Int32(bitPattern: u32(file + K.File.status)) == K.File.valid {
                    frame.buildID = bytes(file + K.File.buildID, K.File.buildIDSize)
                    frame.fileOffset = u64(file + K.File.offset)
                }
                return frame
            }
            return .stack(CrashStack(signal: number,
                                     executable: path.isEmpty ? nil : (truncated ? "..." : "") + String(decoding: path, as: UTF8.self),
                                     frames: frames))
        default:
            return nil
        }
    }
}
