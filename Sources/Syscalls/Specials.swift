/// Syscalls whose printed argument list depends on the arguments themselves, and return values.
extension Call {
    /// Returns true when an unfinished call stopped after some arguments (see `writeArguments`).
    func writeSpecial(_ special: Special, to out: inout Output) -> Bool {
        switch special {
        case .restartSyscall:
            // strace names the interrupted call, which only the previous record of the thread knows.
            out.append("<... resuming interrupted call ...>")
        case .fcntl: return writeFcntl(to: &out)
        case .ioctl: return writeIoctl(to: &out)
        case .prctl: writePrctl(to: &out)
        case .futex: writeFutex(to: &out)
        case .clone: writeClone(to: &out)
        case .clone3: writeClone3(to: &out)
        case .archPrctl:
            Names.archPrctl.write(int(0), to: &out)
            let code = arg(0) & 0xFFFF_FFFF
            if code == 0x1003 || code == 0x1004 { // ARCH_GET_FS, ARCH_GET_GS
                if unfinished { return true }
                out.append(", ")
                write(.outputLong, index: 1, to: &out)
            } else {
                out.append(", ")
                out.hex(arg(1))
            }
        case .mount: writeMount(to: &out)
        }
        return false
    }

    private func writeFcntl(to out: inout Output) -> Bool {
        write(.fd, index: 0, to: &out)
        out.append(", ")
        let command = int(1)
        Names.fcntlCommands.write(command, to: &out)
        let v = arg(2)
        switch command {
        case 1, 3, 9, 11, 1025, 1032, 1034: // F_GETFD F_GETFL F_GETOWN F_GETSIG F_GETLEASE F_GETPIPE_SZ F_GET_SEALS
            break
        case 0, 1030, 8, 1031: // F_DUPFD F_DUPFD_CLOEXEC F_SETOWN F_SETPIPE_SZ
            out.append(", ")
            out.signed(int(2))
        case 2: // F_SETFD
            out.append(", ")
            Names.fdFlags.write(v & 0xFFFF_FFFF, to: &out)
        case 4: // F_SETFL
            out.append(", ")
            writeOpenFlags(v & 0xFFFF_FFFF, to: &out)
        case 10: // F_SETSIG
            out.append(", ")
            writeSignal(int(2), to: &out)
        case 1024: // F_SETLEASE
            out.append(", ")
            Names.lockTypes.write(int(2), to: &out)
        case 1026: // F_NOTIFY
            out.append(", ")
            Names.notify.write(v & 0xFFFF_FFFF, to: &out)
        case 1033: // F_ADD_SEALS
            out.append(", ")
            Names.seals.write(v & 0xFFFF_FFFF, to: &out)
        case 6, 7, 37, 38: // F_SETLK F_SETLKW F_OFD_SETLK F_OFD_SETLKW
            out.append(", ")
            if let b = structure(2, 24) { writeFlock(b, to: &out) } else { out.pointer(v) }
        case 5, 36: // F_GETLK F_OFD_GETLK: strace shows what the kernel wrote back
            if unfinished { return true }
            out.append(", ")
            if let b = atExit(2, 32) { writeFlock(b, pid: true, to: &out) } else { out.pointer(v) }
        case 15, 16: // F_SETOWN_EX F_GETOWN_EX
            out.append(", ")
            out.pointer(v)
        default:
            out.append(", ")
            out.hex(v)
        }
        return false
    }

    /// Returns true when an unfinished call stopped before an argument strace prints at exit.
    private func writeIoctl(to out: inout Output) -> Bool {
        write(.fd, index: 0, to: &out)
        out.append(", ")
        let request = arg(1) & 0xFFFF_FFFF
        writeIoctlRequest(request, to: &out)
        switch request {
        case 0x5451, 0x5450, 0x5422, 0x540C, 0x540D, 0x5427, 0x5428, 0x5437:
            // FIOCLEX FIONCLEX TIOCNOTTY TIOCEXCL TIOCNXCL TIOCSBRK TIOCCBRK TIOCVHANGUP: no argument
            return false
        case 0x5421, 0x5452, 0x5410: // FIONBIO FIOASYNC TIOCSPGRP: an int passed in
            out.append(", ")
            writeIntPointer(2, to: &out)
        case 0x541B, 0x540F, 0x5429: // FIONREAD TIOCGPGRP TIOCGSID: an int the kernel writes
            if unfinished { return true }
            out.append(", ")
            if let b = atExit(2, 4) {
                out.byte(0x5B)
                out.signed(b.i32(0))
                out.byte(0x5D)
            } else {
                out.pointer(arg(2))
            }
        case 0x5413: // TIOCGWINSZ: the kernel fills a struct winsize
            if unfinished { return true }
            out.append(", ")
            if let b = atExit(2, 8) { writeWinsize(b, to: &out) } else { out.pointer(arg(2)) }
        case 0x5414: // TIOCSWINSZ
            out.append(", ")
            if let b = structure(2, 8) { writeWinsize(b, to: &out) } else { out.pointer(arg(2)) }
        default:
            out.append(", ")
            out.hex(arg(2))
        }
        return false
    }

    /// What the kernel wrote back into in-out argument `i`, when the call succeeded.
    func atExit(_ i: Int, _ size: Int) -> [UInt8]? {
        guard succeeded, arg(i) != 0, let d = record.captured[i]?.atExit, !d.faulted, d.bytes.count >= size else { return nil }
        return d.bytes
    }

    /// struct winsize: `{ws_row=24, ws_col=80, ws_xpixel=0, ws_ypixel=0}`.
    func writeWinsize(_ b: [UInt8], to out: inout Output) {
        for (index, name) in ["{ws_row=", ", ws_col=", ", ws_xpixel=", ", ws_ypixel="].enumerated() {
            out.append(name)
            out.unsigned(b.u16(2 * index))
        }
        out.byte(0x7D)
    }

    /// A name of at most 16 bytes (TASK_COMM_LEN) up to its NUL, as prctl's PR_SET_NAME and
    /// PR_GET_NAME carry one.
    func writeTaskName(_ b: [UInt8], to out: inout Output) {
        let name = b.prefix(16)
        let end = name.firstIndex(of: 0) ?? name.endIndex
        out.quoted(name[..<end], more: false)
    }

    private func writePrctl(to out: inout Output) {
        let option = int(0)
        Names.prctlOptions.write(option, to: &out)
        func rest(_ from: Int, hex: Bool) {
            for k in from..<5 {
                out.append(", ")
                if hex { out.hex(arg(k)) } else { out.unsigned(arg(k)) }
            }
        }
        switch option {
        case 3, 7, 13, 21, 27, 30, 34, 42, 46:
            // PR_GET_* answering in the return value: no argument.
            break
        case 16: // PR_GET_NAME: the kernel writes the name
            out.append(", ")
            if let b = atExit(1, 16) { writeTaskName(b, to: &out) } else { out.pointer(arg(1)) }
        case 2, 5, 9, 11, 19, 25, 37, 40:
            // PR_GET_* writing to a pointer (sonde does not decode what the kernel writes).
            out.append(", ")
            out.pointer(arg(1))
        case 1: // PR_SET_PDEATHSIG
            out.append(", ")
            writeSignal(int(1), to: &out)
        case 4: // PR_SET_DUMPABLE
            out.append(", ")
            Names.dumpable.write(Int64(arg(1)), to: &out)
        case 8, 36, 29, 14, 41: // PR_SET_KEEPCAPS PR_SET_CHILD_SUBREAPER PR_SET_TIMERSLACK PR_SET_TIMING PR_SET_THP_DISABLE
            out.append(", ")
            out.unsigned(arg(1))
        case 15: // PR_SET_NAME
            out.append(", ")
            if let b = structure(1, 1) { writeTaskName(b, to: &out) } else { out.pointer(arg(1)) }
        case 23, 24: // PR_CAPBSET_READ PR_CAPBSET_DROP
            out.append(", ")
            Names.capabilities.write(Int64(arg(1)), to: &out)
        case 47: // PR_CAP_AMBIENT
            out.append(", ")
            Names.capAmbient.write(Int64(arg(1)), to: &out)
            let operation = arg(1)
            if operation >= 1 && operation <= 3 {
                out.append(", ")
                Names.capabilities.write(Int64(arg(2)), to: &out)
                rest(3, hex: false)
            } else {
                rest(2, hex: false)
            }
        case 38, 39: // PR_SET_NO_NEW_PRIVS PR_GET_NO_NEW_PRIVS
            rest(1, hex: false)
        default:
            rest(1, hex: true)
        }
    }

    private func writeFutex(to out: inout Output) {
        out.pointer(arg(0))
        out.append(", ")
        let operation = arg(1) & 0xFFFF_FFFF
        let command = Int64(operation & 0x7F)
        let known = Names.futexCommands.name(command)
        if let known {
            out.append(known)
            if operation & 128 != 0 { out.append("_PRIVATE") }
            if operation & 256 != 0 { out.append("|FUTEX_CLOCK_REALTIME") }
            if operation & ~0x1FF != 0 { out.append("|0x"); out.hexDigits(operation & ~0x1FF) }
        } else {
            out.hex(operation)
            out.append(" /* FUTEX_??? */")
        }
        let value = arg(2) & 0xFFFF_FFFF
        func val() { out.append(", "); out.unsigned(value) }
        func timeout() {
            out.append(", ")
            if let b = structure(3, 16) { writeTimespec(b, 0, to: &out) } else { out.pointer(arg(3)) }
        }
        func val2() { out.append(", "); out.unsigned(arg(3) & 0xFFFF_FFFF) }
        func uaddr2() { out.append(", "); out.pointer(arg(4)) }
        func val3() { out.append(", "); out.unsigned(arg(5) & 0xFFFF_FFFF) }
        func bitset() {
            out.append(", ")
            let bits = arg(5) & 0xFFFF_FFFF
            if bits == 0xFFFF_FFFF { out.append("FUTEX_BITSET_MATCH_ANY") } else { out.hex(bits) }
        }
        switch command {
        case 0: val(); timeout()                          // FUTEX_WAIT
        case 1, 2: val()                                  // FUTEX_WAKE, FUTEX_FD
        case 3: val(); val2(); uaddr2()                   // FUTEX_REQUEUE
        case 4, 12: val(); val2(); uaddr2(); val3()       // FUTEX_CMP_REQUEUE(_PI)
        case 5: // FUTEX_WAKE_OP
            val(); val2(); uaddr2()
            let op = arg(5) & 0xFFFF_FFFF
            out.append(", {")
            if op >> 31 != 0 { out.append("FUTEX_OP_OPARG_SHIFT<<28|") }
            Names.futexWakeOps.write(Int64((op >> 28) & 7), to: &out)
            out.append(", ")
            out.unsigned((op >> 12) & 0xFFF)
            out.append(", ")
            Names.futexWakeCmps.write(Int64((op >> 24) & 0xF), to: &out)
            out.append(", ")
            out.unsigned(op & 0xFFF)
            out.byte(0x7D)
        case 6, 13: timeout()                             // FUTEX_LOCK_PI(2)
        case 7, 8: break                                  // FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI
        case 9: val(); timeout(); bitset()                // FUTEX_WAIT_BITSET
        case 10: val(); bitset()                          // FUTEX_WAKE_BITSET
        case 11: val(); timeout(); uaddr2()               // FUTEX_WAIT_REQUEUE_PI
        default: // an operation strace does not know: the value, two pointers, the last value
            out.append(", "); out.hex(arg(2))
            out.append(", "); out.pointer(arg(3))
            out.append(", "); out.pointer(arg(4))
            out.append(", "); out.hex(arg(5))
        }
    }

    /// x86_64 clone(flags, stack, parent_tid, child_tid, tls), printed with strace's names.
    private func writeClone(to out: inout Output) {
        let flags = arg(0)
        out.append("child_stack=")
        out.pointer(arg(1))
        out.append(", flags=")
        let signal = flags & 0xFF
        let rest = flags & ~0xFF
        if rest != 0 {
            Names.clone.write(rest, to: &out)
            if signal != 0 { out.byte(0x7C) }
        }
        if signal != 0 { writeSignal(Int64(signal), to: &out) } else if rest == 0 { out.byte(0x30) }
        if unfinished { return }
        if flags & (0x0010_0000 | 0x1000) != 0 { // CLONE_PARENT_SETTID, CLONE_PIDFD
            out.append(", parent_tid=")
            if flags & 0x0010_0000 != 0, flags & 0x1000 == 0, arg(2) != 0, let ret = returnValue, ret > 0 {
                out.byte(0x5B); out.signed(ret); out.byte(0x5D)
            } else {
                out.pointer(arg(2))
            }
        }
        if flags & 0x0008_0000 != 0 { // CLONE_SETTLS
            out.append(", tls=")
            out.pointer(arg(4))
        }
        if flags & (0x0100_0000 | 0x0020_0000) != 0 { // CLONE_CHILD_SETTID, CLONE_CHILD_CLEARTID
            out.append(", child_tidptr=")
            out.pointer(arg(3))
        }
    }

    /// clone3(struct clone_args *, size).
    private func writeClone3(to out: inout Output) {
        guard let b = structure(0, 64) else {
            out.pointer(arg(0))
            if !unfinished { out.append(", "); out.unsigned(arg(1)) }
            return
        }
        let flags = b.u64(0)
        out.append("{flags=")
        Names.clone3.write(flags, to: &out)
        if flags & 0x1000 != 0 { out.append(", pidfd="); out.pointer(b.u64(8)) }
        if flags & (0x0100_0000 | 0x0020_0000) != 0 { out.append(", child_tid="); out.pointer(b.u64(16)) }
        if flags & 0x0010_0000 != 0 { out.append(", parent_tid="); out.pointer(b.u64(24)) }
        out.append(", exit_signal=")
        writeSignal(b.i64(32), to: &out)
        out.append(", stack=")
        out.pointer(b.u64(40))
        out.append(", stack_size=")
        out.hex(b.u64(48))
        if flags & 0x0008_0000 != 0 { out.append(", tls="); out.pointer(b.u64(56)) }
        if b.count >= 80, b.u64(72) != 0 {
            out.append(", set_tid=")
            out.pointer(b.u64(64))
            out.append(", set_tid_size=")
            out.unsigned(b.u64(72))
        }
        if b.count >= 88, flags & 0x2_0000_0000 != 0 { // CLONE_INTO_CGROUP
            out.append(", cgroup=")
            out.unsigned(b.u64(80))
        }
        out.byte(0x7D)
        if unfinished { return }
        if flags & 0x0010_0000 != 0, flags & 0x1000 == 0, b.u64(24) != 0, let ret = returnValue, ret > 0 {
            out.append(" => {parent_tid=[")
            out.signed(ret)
            out.append("]}")
        }
        out.append(", ")
        out.unsigned(arg(1))
    }

    private func writeMount(to out: inout Output) {
        writePath(0, to: &out)
        out.append(", ")
        writePath(1, to: &out)
        out.append(", ")
        let flags = arg(3)
        let magic = flags & 0xFFFF_0000 == 0xC0ED_0000
        let meaningful = magic ? flags & ~0xFFFF_0000 : flags
        // MS_REMOUNT MS_BIND MS_MOVE and the propagation flags ignore the type.
        if meaningful & (32 | 4096 | 8192 | (1 << 17) | (1 << 18) | (1 << 19) | (1 << 20)) != 0 {
            out.pointer(arg(2))
        } else {
            writeString(2, to: &out)
        }
        out.append(", ")
        if magic {
            out.append("MS_MGC_VAL")
            if meaningful != 0 {
                out.byte(0x7C)
                Names.mountFlags.write(meaningful, to: &out)
            }
        } else {
            Names.mountFlags.write(flags, to: &out)
        }
        out.append(", ")
        writeString(4, to: &out)
    }

    // MARK: Return values

    func writeReturn(_ value: Int64, ret: Ret, to out: inout Output) {
        if value < 0 && value >= -4095 {
            ErrnoText.write(-value, to: &out)
            return
        }
        switch ret {
        case .int:
            out.signed(value)
        case .hex:
            out.hex(UInt64(bitPattern: value))
        case .octal:
            out.octal(UInt64(bitPattern: value))
        case .unsigned:
            out.unsigned(UInt64(bitPattern: value))
        case .fcntl:
            switch int(1) {
            case 3: // F_GETFL
                out.hex(UInt64(bitPattern: value))
                out.append(" (flags ")
                writeOpenFlags(UInt64(bitPattern: value) & 0xFFFF_FFFF, to: &out)
                out.byte(0x29)
            case 1 where value != 0: // F_GETFD
                out.hex(UInt64(bitPattern: value))
                out.append(" (flags ")
                Names.fdFlags.write(UInt64(bitPattern: value), to: &out)
                out.byte(0x29)
            case 1025: // F_GETLEASE
                out.hex(UInt64(bitPattern: value))
                out.append(" (")
                Names.lockTypes.write(value, to: &out)
                out.byte(0x29)
            case 1034 where value != 0: // F_GET_SEALS
                out.hex(UInt64(bitPattern: value))
                out.append(" (seals ")
                Names.seals.write(UInt64(bitPattern: value), to: &out)
                out.byte(0x29)
            default:
                out.signed(value)
            }
        case .select(let timeout, let microseconds):
            writeSelectResult(value, timeoutArgument: timeout, microseconds: microseconds, to: &out)
        case .prctl:
            out.signed(value)
            if int(0) == 3, let name = Names.dumpable.name(value) { // PR_GET_DUMPABLE
                out.append(" (")
                out.append(name)
                out.byte(0x29)
            }
        case .time:
            out.signed(value)
            out.append(" (")
            out.isoDate(seconds: value)
            out.byte(0x29)
        case .poll(let timeout):
            writePollResult(value, timeoutArgument: timeout, to: &out)
        case .schedPolicy:
            out.signed(value)
            if let name = Names.schedPolicies.name(value) {
                out.append(" (")
                out.append(name)
                out.byte(0x29)
            }
        case .personality:
            out.hex(UInt64(bitPattern: value))
            out.append(" (")
            writePersonality(UInt64(bitPattern: value), to: &out)
            out.byte(0x29)
        case .membarrier:
            if arg(0) == 0 && value > 0 {
                out.hex(UInt64(bitPattern: value))
                out.append(" (")
                Names.membarrierCommands.write(UInt64(bitPattern: value), to: &out)
                out.byte(0x29)
            } else {
                out.signed(value)
            }
        }
    }
}
