import LinuxKit

/// A siginfo as the kernel fills it (struct kernel_siginfo, x86_64), printed as strace prints the
/// `--- SIGSEGV {...} ---` line of a signal and siginfo_t arguments: the fields that matter for
/// the signal and its code, nothing else.
public struct SignalInfo: Sendable, Hashable {
    /// The 48 bytes: si_signo, si_errno, si_code at 0, 4, 8, then the union at 16.
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    public var signal: Int64 { bytes.i32(0) }
    public var errorNumber: Int64 { bytes.i32(4) }
    public var code: Int64 { bytes.i32(8) }
    /// si_pid and si_uid (kill, tkill, sigqueue, SIGCHLD): at the union's start.
    public var senderPID: Int64 { bytes.i32(16) }
    public var senderUID: UInt64 { bytes.u32(20) }
    /// si_addr of a fault.
    public var address: UInt64 { bytes.u64(16) }

    /// strace's text, `{si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL}`.
    public var text: String {
        var out = Output(capacity: 96)
        write(to: &out)
        return out.string()
    }

    /// Codes at or below 0 come from user space (kill, sigqueue, tkill...), as SI_FROMUSER says.
    private var fromUser: Bool { code <= 0 }

    func write(to out: inout Output) {
        out.byte(0x7B)
        defer { out.byte(0x7D) }
        guard signal != 0 else { return }
        out.append("si_signo=")
        Call.writeSignalName(signal, to: &out)
        out.append(", si_code=")
        writeCode(to: &out)
        guard code != Self.noInfo else { return }
        if errorNumber != 0 {
            out.append(", si_errno=")
            out.append(Errno(rawValue: Int32(truncatingIfNeeded: errorNumber)).name)
        }
        if fromUser {
            switch code {
            case Self.timer:
                out.append(", si_timerid=0x")
                out.hexDigits(bytes.u32(16))
                out.append(", si_overrun=")
                out.signed(bytes.i32(20))
                writeValue(to: &out)
            case Self.sigio:
                writeBandAndFD(to: &out)
            case 0, Self.tkill:
                writeSource(to: &out)
            default:
                writeSource(to: &out)
                if bytes.u64(24) != 0 { writeValue(to: &out) }
            }
            return
        }
        switch signal {
        case 17: // SIGCHLD
            writeSource(to: &out)
            out.append(", si_status=")
            if code == 1 { // CLD_EXITED: an exit status, else a signal
                out.signed(bytes.i32(24))
            } else {
                Call.writeSignalName(bytes.i32(24), to: &out)
            }
            out.append(", si_utime=")
            Call.writeClockTicks(bytes.i64(32), to: &out)
            out.append(", si_stime=")
            Call.writeClockTicks(bytes.i64(40), to: &out)
        case 4, 8, 5: // SIGILL, SIGFPE, SIGTRAP
            writeAddress(to: &out)
        case 7: // SIGBUS
            writeAddress(to: &out)
            if code == 4 || code == 5 { // BUS_MCEERR_AR, BUS_MCEERR_AO
                out.append(", si_addr_lsb=0x")
                out.hexDigits(bytes.u16(24))
            }
        case 11: // SIGSEGV
            writeAddress(to: &out)
            if code == 3 { // SEGV_BNDERR
                out.append(", si_lower=")
                out.pointer(bytes.u64(32))
                out.append(", si_upper=")
                out.pointer(bytes.u64(40))
            } else if code == 4 { // SEGV_PKUERR
                out.append(", si_pkey=")
                out.unsigned(bytes.u32(32))
            }
        case 29: // SIGIO
            if (1...6).contains(code) { writeBandAndFD(to: &out) }
        case 31: // SIGSYS
            out.append(", si_call_addr=")
            out.pointer(bytes.u64(16))
            out.append(", si_syscall=")
            let number = bytes.i32(24)
            if bytes.u32(28) == Self.auditArchX86_64, let name = SyscallTable.x86_64[Int(number)]?.name {
                out.append("__NR_" + name)
            } else {
                out.signed(number)
            }
            out.append(", si_arch=")
            if bytes.u32(28) == Self.auditArchX86_64 {
                out.append("AUDIT_ARCH_X86_64")
            } else {
                out.append("0x")
                out.hexDigits(bytes.u32(28))
                out.append(" /* AUDIT_ARCH_??? */")
            }
        default:
            if bytes.i32(16) != 0 || bytes.u32(20) != 0 { writeSource(to: &out) }
            if bytes.u64(24) != 0 { writeValue(to: &out) }
        }
    }

    private func writeSource(to out: inout Output) {
        out.append(", si_pid=")
        out.signed(bytes.i32(16))
        out.append(", si_uid=")
        let uid = bytes.u32(20)
        if uid == 0xFFFF_FFFF { out.append("-1") } else { out.unsigned(uid) }
    }

    private func writeValue(to out: inout Output) {
        out.append(", si_int=")
        out.signed(bytes.i32(24))
        out.append(", si_ptr=")
        out.pointer(bytes.u64(24))
    }

    private func writeAddress(to out: inout Output) {
        out.append(", si_addr=")
        out.pointer(bytes.u64(16))
    }

    private func writeBandAndFD(to out: inout Output) {
        out.append(", si_band=")
        out.signed(bytes.i64(16))
        out.append(", si_fd=")
        out.signed(bytes.i32(24))
    }

    private func writeCode(to out: inout Output) {
        if let name = Self.genericCodes[code] ?? Self.codesBySignal[signal]?[code] {
            out.append(name)
        } else {
            out.signed(code)
        }
    }

    static let noInfo: Int64 = 32767
    static let timer: Int64 = -2
    static let sigio: Int64 = -5
    static let tkill: Int64 = -6
    static let auditArchX86_64: UInt64 = 0xC000_003E

    static let genericCodes: [Int64: String] = [
        0: "SI_USER", 0x80: "SI_KERNEL", -1: "SI_QUEUE", -2: "SI_TIMER", -3: "SI_MESGQ", -4: "SI_ASYNCIO",
        -5: "SI_SIGIO", -6: "SI_TKILL", -7: "SI_DETHREAD", -60: "SI_ASYNCNL", 32767: "SI_NOINFO",
    ]

    /// The codes the kernel gives per signal (asm-generic/siginfo.h), by signal number.
    static let codesBySignal: [Int64: [Int64: String]] = [
        5: [1: "TRAP_BRKPT", 2: "TRAP_TRACE", 3: "TRAP_BRANCH", 4: "TRAP_HWBKPT", 5: "TRAP_UNK", 6: "TRAP_PERF"],
        17: [1: "CLD_EXITED", 2: "CLD_KILLED", 3: "CLD_DUMPED", 4: "CLD_TRAPPED", 5: "CLD_STOPPED", 6: "CLD_CONTINUED"],
        29: [1: "POLL_IN", 2: "POLL_OUT", 3: "POLL_MSG", 4: "POLL_ERR", 5: "POLL_PRI", 6: "POLL_HUP"],
        27: [1: "PROF_SIG"],
        4: [1: "ILL_ILLOPC", 2: "ILL_ILLOPN", 3: "ILL_ILLADR", 4: "ILL_ILLTRP", 5: "ILL_PRVOPC", 6: "ILL_PRVREG",
            7: "ILL_COPROC", 8: "ILL_BADSTK"],
        8: [1: "FPE_INTDIV", 2: "FPE_INTOVF", 3: "FPE_FLTDIV", 4: "FPE_FLTOVF", 5: "FPE_FLTUND", 6: "FPE_FLTRES",
            7: "FPE_FLTINV", 8: "FPE_FLTSUB", 14: "FPE_FLTUNK", 15: "FPE_CONDTRAP"],
        11: [1: "SEGV_MAPERR", 2: "SEGV_ACCERR", 3: "SEGV_BNDERR", 4: "SEGV_PKUERR", 5: "SEGV_ACCADI",
             6: "SEGV_ADIDERR", 7: "SEGV_ADIPERR", 8: "SEGV_MTEAERR", 9: "SEGV_MTESERR", 10: "SEGV_CPERR"],
        7: [1: "BUS_ADRALN", 2: "BUS_ADRERR", 3: "BUS_OBJERR", 4: "BUS_MCEERR_AR", 5: "BUS_MCEERR_AO"],
        31: [1: "SYS_SECCOMP", 2: "SYS_USER_DISPATCH"],
    ]
}
