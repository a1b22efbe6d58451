/// Decoders of the structures sonde captures, in strace's abbreviated (non -v) style. Offsets are
/// x86_64's.
extension Call {
    func writeTimespec(_ b: [UInt8], _ offset: Int, to out: inout Output) {
        out.append("{tv_sec=")
        out.signed(b.i64(offset))
        out.append(", tv_nsec=")
        out.signed(b.i64(offset + 8))
        out.byte(0x7D)
    }

    func writeTimeval(_ b: [UInt8], _ offset: Int, to out: inout Output) {
        out.append("{tv_sec=")
        out.signed(b.i64(offset))
        out.append(", tv_usec=")
        out.signed(b.i64(offset + 8))
        out.byte(0x7D)
    }

    func writeItimer(_ b: [UInt8], nanoseconds: Bool, to out: inout Output) {
        out.append("{it_interval=")
        if nanoseconds { writeTimespec(b, 0, to: &out) } else { writeTimeval(b, 0, to: &out) }
        out.append(", it_value=")
        if nanoseconds { writeTimespec(b, 16, to: &out) } else { writeTimeval(b, 16, to: &out) }
        out.byte(0x7D)
    }

    /// utimensat's times: `[UTIME_NOW, {tv_sec=1, tv_nsec=0} /* 1970-01-01T00:00:01+0000 */]`.
    func writeUtimens(_ b: [UInt8], to out: inout Output) {
        out.byte(0x5B)
        for k in 0..<2 {
            if k > 0 { out.append(", ") }
            let nanoseconds = b.i64(16 * k + 8)
            if let special = Names.utimeSpecial.name(nanoseconds) {
                out.append(special)
            } else {
                writeTimespec(b, 16 * k, to: &out)
                out.append(" /* ")
                out.isoDate(seconds: b.i64(16 * k), nanoseconds: nanoseconds)
                out.append(" */")
            }
        }
        out.byte(0x5D)
    }


    /// struct stat: `{st_mode=S_IFREG|0644, st_size=1221, ...}`, st_rdev for devices.
    func writeStat(_ b: [UInt8], to out: inout Output) {
        let mode = b.u32(24)
        out.append("{st_mode=")
        writeFileMode(mode, to: &out)
        let type = mode & 0o170000
        if type == 0o020000 || type == 0o060000 {
            out.append(", st_rdev=")
            writeDevice(b.u64(40), to: &out)
        } else {
            out.append(", st_size=")
            out.signed(b.i64(48))
        }
        out.append(", ...}")
    }

    /// struct statx: `{stx_mask=..., stx_attributes=0, stx_mode=S_IFREG|0644, stx_size=1221, ...}`.
    func writeStatx(_ b: [UInt8], to out: inout Output) {
        out.append("{stx_mask=")
        Names.statxMask.write(b.u32(0), to: &out)
        out.append(", stx_attributes=")
        Names.statxAttributes.write(b.u64(8), to: &out)
        out.append(", stx_mode=")
        writeFileMode(b.u16(28), to: &out)
        out.append(", stx_size=")
        out.unsigned(b.u64(40))
        out.append(", ...}")
    }

    func writeRlimit(_ b: [UInt8], to out: inout Output) {
        out.append("{rlim_cur=")
        writeRlimitValue(b.u64(0), to: &out)
        out.append(", rlim_max=")
        writeRlimitValue(b.u64(8), to: &out)
        out.byte(0x7D)
    }

    private func writeRlimitValue(_ value: UInt64, to out: inout Output) {
        if value == UInt64.max {
            out.append("RLIM64_INFINITY")
        } else if value > 1024 && value % 1024 == 0 {
            out.unsigned(value / 1024)
            out.append("*1024")
        } else {
            out.unsigned(value)
        }
    }

    /// The kernel's struct sigaction: handler, flags, restorer, mask.
    func writeSigaction(_ b: [UInt8], to out: inout Output) {
        let handler = b.u64(0)
        let flags = b.u64(8)
        out.append("{sa_handler=")
        switch handler {
        case 0: out.append("SIG_DFL")
        case 1: out.append("SIG_IGN")
        case UInt64.max: out.append("SIG_ERR")
        default: out.pointer(handler)
        }
        out.append(", sa_mask=")
        writeSigset(Array(b[24..<32]), to: &out)
        out.append(", sa_flags=")
        Names.sigactionFlags.write(flags, to: &out)
        if flags & 0x0400_0000 != 0 {
            out.append(", sa_restorer=")
            out.pointer(b.u64(16))
        }
        out.byte(0x7D)
    }

    /// `[INT TERM]`, or `~[KILL STOP]` when more than half the signals are in the set.
    func writeSigset(_ b: [UInt8], to out: inout Output) {
        var bits: UInt64 = 0
        for k in 0..<min(8, b.count) { bits |= UInt64(b[k]) << UInt64(8 * k) }
        let total = b.count >= 8 ? 64 : 8 * b.count
        if bits.nonzeroBitCount * 2 > total {
            out.byte(0x7E)
            bits = ~bits
            if total < 64 { bits &= (UInt64(1) << UInt64(total)) - 1 }
        }
        out.byte(0x5B)
        var first = true
        var rest = bits
        while rest != 0 {
            let bit = rest.trailingZeroBitCount
            rest &= rest - 1
            if !first { out.byte(0x20) }
            first = false
            let signal = Int64(bit + 1)
            if signal < 32, let name = Names.signals.name(signal) {
                name.withUTF8Buffer { out.bytes.append(contentsOf: $0.dropFirst(3)) }
            } else if signal == 32 {
                out.append("RTMIN")
            } else {
                out.append("RT_")
                out.signed(signal - 32)
            }
        }
        out.byte(0x5D)
    }

    func writeStack(_ b: [UInt8], to out: inout Output) {
        out.append("{ss_sp=")
        out.pointer(b.u64(0))
        out.append(", ss_flags=")
        Names.sigaltstackFlags.write(b.u32(8), to: &out)
        out.append(", ss_size=")
        out.unsigned(b.u64(16))
        out.byte(0x7D)
    }

    /// struct open_how: flags, mode (only with O_CREAT/O_TMPFILE or when set), resolve.
    func writeOpenHow(_ b: [UInt8], to out: inout Output) {
        let flags = b.u64(0)
        let mode = b.u64(8)
        out.append("{flags=")
        writeOpenFlags(flags, to: &out)
        if mode != 0 || flags & 0o100 != 0 || flags & 0o20000000 != 0 {
            out.append(", mode=")
            out.mode(mode)
        }
        out.append(", resolve=")
        Names.resolve.write(b.u64(16), to: &out)
        out.byte(0x7D)
    }

    func writeEpollEvent(_ b: [UInt8], _ offset: Int, to out: inout Output) {
        out.append("{events=")
        Names.epollEvents.write(b.u32(offset), to: &out)
        out.append(", data={u32=")
        out.unsigned(b.u32(offset + 4))
        out.append(", u64=")
        out.unsigned(b.u64(offset + 4))
        out.append("}}")
    }

    func writeEpollEvents(_ i: Int, to out: inout Output) {
        let pointer = arg(i)
        guard let count = returnValue, succeeded, pointer != 0, let d = data(i) else {
            out.pointer(pointer)
            return
        }
        let available = Int(min(max(count, 0), Int64(d.bytes.count / 12)))
        out.byte(0x5B)
        for k in 0..<available {
            if k > 0 { out.append(", ") }
            writeEpollEvent(d.bytes, 12 * k, to: &out)
        }
        if count > available { out.append(available > 0 ? ", ..." : "...") }
        out.byte(0x5D)
    }

    /// poll's array as strace prints it on entry: `[{fd=3, events=POLLIN}, {fd=-1}]`.
    func writePollFds(_ i: Int, to out: inout Output) {
        let pointer = arg(i)
        guard pointer != 0, let d = data(i) else { out.pointer(pointer); return }
        let count = Int(arg(1) & 0xFFFF_FFFF)
        let available = min(count, d.bytes.count / 8)
        out.byte(0x5B)
        for k in 0..<min(available, limit) {
            if k > 0 { out.append(", ") }
            let fd = d.bytes.i32(8 * k)
            out.append("{fd=")
            out.signed(fd)
            if fd >= 0 {
                out.append(", events=")
                Names.pollEvents.write(d.bytes.u16(8 * k + 4), to: &out)
            }
            out.byte(0x7D)
        }
        if count > min(available, limit) { out.append(available > 0 ? ", ..." : "...") }
        out.byte(0x5D)
    }

    /// poll's result: `2 ([{fd=3, revents=POLLIN}, ...])` or `0 (Timeout)`.
    func writePollResult(_ value: Int64, timeoutArgument: Int?, to out: inout Output) {
        out.signed(value)
        if value == 0 {
            out.append(" (Timeout)")
            return
        }
        guard arg(0) != 0, let d = data(0) else { return }
        let count = min(Int(arg(1) & 0xFFFF_FFFF), d.bytes.count / 8)
        out.append(" ([")
        var first = true
        for k in 0..<count where d.bytes.i32(8 * k) >= 0 && d.bytes.u16(8 * k + 6) != 0 {
            if !first { out.append(", ") }
            first = false
            out.append("{fd=")
            out.signed(d.bytes.i32(8 * k))
            out.append(", revents=")
            Names.pollEvents.write(d.bytes.u16(8 * k + 6), to: &out)
            out.byte(0x7D)
        }
        out.byte(0x5D)
        // ppoll writes the time left back into its timeout.
        if let timeoutArgument, let left = atExit(timeoutArgument, 16) {
            out.append(", left ")
            writeTimespec(left, 0, to: &out)
        }
        out.byte(0x29)
    }

    /// `{sysname="Linux", nodename="vm", ...}`.
    func writeUtsname(_ b: [UInt8], to out: inout Output) {
        out.append("{sysname=")
        writeField(b, 0, 65, to: &out)
        out.append(", nodename=")
        writeField(b, 65, 65, to: &out)
        out.append(", ...}")
    }

    private func writeField(_ b: [UInt8], _ offset: Int, _ size: Int, to out: inout Output) {
        let field = b[offset..<min(b.count, offset + size)]
        let end = field.firstIndex(of: 0) ?? field.endIndex
        let shown = min(end - offset, limit)
        out.quoted(b[offset..<(offset + shown)], more: shown < end - offset)
    }

    /// struct tms: each clock_t with strace's seconds comment when it is not 0,
    /// `{tms_utime=1 /* 0.01 s */, tms_stime=0, ...}`.
    func writeTms(_ b: [UInt8], to out: inout Output) {
        for (index, name) in ["{tms_utime=", ", tms_stime=", ", tms_cutime=", ", tms_cstime="].enumerated() {
            out.append(name)
            Self.writeClockTicks(b.i64(index * 8), to: &out)
        }
        out.byte(0x7D)
    }

    /// `, name=value` for each unsigned 64-bit field, at its offset, in order.
    private func writeUnsigned64(_ fields: [(name: StaticString, offset: Int)], of b: [UInt8], to out: inout Output) {
        for field in fields {
            out.append(field.name)
            out.unsigned(b.u64(field.offset))
        }
    }

    /// struct sysinfo: `{uptime=3600, loads=[1, 2, 3], totalram=..., ..., procs=90, totalhigh=0, freehigh=0,
    /// mem_unit=1}`.
    func writeSysinfo(_ b: [UInt8], to out: inout Output) {
        out.append("{uptime=")
        out.signed(b.i64(0))
        out.append(", loads=[")
        for index in 0..<3 {
            if index > 0 { out.append(", ") }
            out.unsigned(b.u64(8 + 8 * index))
        }
        out.byte(0x5D)
        writeUnsigned64([(", totalram=", 32), (", freeram=", 40), (", sharedram=", 48), (", bufferram=", 56),
                         (", totalswap=", 64), (", freeswap=", 72)], of: b, to: &out)
        out.append(", procs=")
        out.unsigned(b.u16(80))
        writeUnsigned64([(", totalhigh=", 88), (", freehigh=", 96)], of: b, to: &out)
        out.append(", mem_unit=")
        out.unsigned(b.u32(104))
        out.byte(0x7D)
    }

    /// struct statfs: `{f_type=EXT2_SUPER_MAGIC, f_bsize=4096, ..., f_fsid={val=[0x1, 0x2]}, f_namelen=255,
    /// f_frsize=4096, f_flags=ST_VALID|ST_RELATIME}`; f_flags only when the kernel set ST_VALID.
    func writeStatfs(_ b: [UInt8], to out: inout Output) {
        out.append("{f_type=")
        if let name = Names.fileSystemMagics.name(b.i64(0)) { out.append(name) } else { out.hex(b.u64(0)) }
        writeUnsigned64([(", f_bsize=", 8), (", f_blocks=", 16), (", f_bfree=", 24), (", f_bavail=", 32),
                         (", f_files=", 40), (", f_ffree=", 48)], of: b, to: &out)
        out.append(", f_fsid={val=[")
        out.hex(b.u32(56))
        out.append(", ")
        out.hex(b.u32(60))
        out.append("]}, f_namelen=")
        out.unsigned(b.u64(64))
        out.append(", f_frsize=")
        out.unsigned(b.u64(72))
        let flags = b.u64(80)
        if flags & 0x20 != 0 {
            out.append(", f_flags=")
            Names.statfsFlags.write(flags, to: &out)
        }
        out.byte(0x7D)
    }

    /// USER_HZ, the unit of clock_t in times(2) (sysconf(_SC_CLK_TCK); 100 on every Linux ABI sonde reads).
    static let clockTicksPerSecond: Int64 = 100

    static func writeClockTicks(_ ticks: Int64, to out: inout Output) {
        out.signed(ticks)
        guard ticks != 0 else { return }
        let hz = UInt64(clockTicksPerSecond), value = UInt64(bitPattern: ticks)
        let fraction = String(value % hz)
        let width = String(hz - 1).count
        out.append(" /* \(value / hz).\(String(repeating: "0", count: max(0, width - fraction.count)))\(fraction) s */")
    }

    /// struct flock: `{l_type=F_WRLCK, l_whence=SEEK_SET, l_start=0, l_len=0}`.
    /// With `pid`: the l_pid the kernel writes back (F_GETLK).
    func writeFlock(_ b: [UInt8], pid: Bool = false, to out: inout Output) {
        out.append("{l_type=")
        Names.lockTypes.write(Int64(Int16(truncatingIfNeeded: b.u16(0))), to: &out)
        out.append(", l_whence=")
        Names.whence.write(Int64(Int16(truncatingIfNeeded: b.u16(2))), to: &out)
        out.append(", l_start=")
        out.signed(b.i64(8))
        out.append(", l_len=")
        out.signed(b.i64(16))
        if pid {
            out.append(", l_pid=")
            out.signed(b.i32(24))
        }
        out.byte(0x7D)
    }

    /// struct linger: `{l_onoff=1, l_linger=5}`.
    func writeLinger(_ b: [UInt8], to out: inout Output) {
        out.append("{l_onoff=")
        out.signed(b.i32(0))
        out.append(", l_linger=")
        out.signed(b.i32(4))
        out.byte(0x7D)
    }

    /// `[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]` and the other wait status forms.
    func writeWaitStatus(_ status: UInt32, to out: inout Output) {
        out.append("[{")
        let low = status & 0x7F
        if status & 0xFF == 0x7F {
            out.append("WIFSTOPPED(s) && WSTOPSIG(s) == ")
            writeSignal(Int64((status >> 8) & 0xFF), to: &out)
            if status >> 16 != 0 {
                out.append(" && s>>16 == ")
                out.unsigned(UInt64(status >> 16))
            }
        } else if status == 0xFFFF {
            out.append("WIFCONTINUED(s)")
        } else if low == 0 {
            out.append("WIFEXITED(s) && WEXITSTATUS(s) == ")
            out.unsigned(UInt64((status >> 8) & 0xFF))
        } else {
            out.append("WIFSIGNALED(s) && WTERMSIG(s) == ")
            writeSignal(Int64(low), to: &out)
            if status & 0x80 != 0 { out.append(" && WCOREDUMP(s)") }
        }
        out.append("}]")
    }

    // MARK: Socket addresses

    /// A socket address of `length` bytes (the call's argument, or the kernel's answer).
    func writeSockaddr(_ i: Int, length: Int64, to out: inout Output) {
        let pointer = arg(i)
        guard pointer != 0 else { out.append("NULL"); return }
        guard length > 0, let d = data(i), d.bytes.count >= 2 else { out.pointer(pointer); return }
        writeSockaddr(d.bytes, length: length, to: &out)
    }

    /// A socket address from its bytes (at least the 2 of the family).
    func writeSockaddr(_ b: [UInt8], length: Int64, to out: inout Output) {
        let length = min(Int(length), b.count)
        let family = Int64(b.u16(0))
        out.append("{sa_family=")
        Names.families.write(family, to: &out)
        switch family {
        case 1: // AF_UNIX
            if length > 2 {
                out.append(", sun_path=")
                if b[2] == 0 {
                    out.byte(0x40)
                    out.quoted(b[3..<length], more: false)
                } else {
                    let end = b[2..<length].firstIndex(of: 0) ?? length
                    out.quoted(b[2..<end], more: false)
                }
            }
        case 2 where length >= 16: // AF_INET
            out.append(", sin_port=htons(")
            out.unsigned(b.be16(2))
            out.append("), sin_addr=inet_addr(\"")
            out.ipv4(b[4..<8])
            out.append("\")")
        case 10 where length >= 24: // AF_INET6
            out.append(", sin6_port=htons(")
            out.unsigned(b.be16(2))
            out.append("), sin6_flowinfo=htonl(")
            out.unsigned(b.be32(4))
            out.append("), inet_pton(AF_INET6, \"")
            out.ipv6(b[8..<24])
            out.append("\", &sin6_addr)")
            if length >= 28 {
                out.append(", sin6_scope_id=")
                out.unsigned(b.u32(24))
            }
        case 16 where length >= 12: // AF_NETLINK
            out.append(", nl_pid=")
            out.unsigned(b.u32(4))
            out.append(", nl_groups=")
            let groups = b.u32(8)
            if groups == 0 {
                out.append("00000000")
            } else {
                out.append("0x")
                out.hexDigits(groups, minimumWidth: 6)
            }
        case 17 where length >= 20: // AF_PACKET
            out.append(", sll_protocol=htons(")
            let ethertype = b.be16(2)
            if let name = Names.ethernetProtocols.name(Int64(ethertype)) { out.append(name) } else { out.hex(ethertype) }
            out.append("), sll_ifindex=")
            out.signed(b.i32(4))
            out.append(", sll_hatype=")
            Names.arpHardware.write(Int64(b.u16(8)), to: &out)
            out.append(", sll_pkttype=")
            Names.packetTypes.write(Int64(b.u8(10)), to: &out)
            out.append(", sll_halen=")
            let addressLength = Int(b.u8(11))
            out.unsigned(UInt64(addressLength))
            out.append(", sll_addr=[")
            for k in 0..<min(addressLength, 8) {
                if k > 0 { out.append(", ") }
                out.hex(b.u8(12 + k))
            }
            out.byte(0x5D)
        default:
            if length > 2 {
                out.append(", sa_data=")
                let shown = min(length - 2, limit)
                out.quoted(b[2..<(2 + shown)], more: shown < length - 2)
            }
        }
        out.byte(0x7D)
    }
}
