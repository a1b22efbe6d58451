extension Call {
    // swiftlint:disable:next cyclomatic_complexity function_body_length
    func write(_ argument: Arg, index i: Int, to out: inout Output) {
        let v = arg(i)
        switch argument {
        case .int:
            out.signed(int(i))
        case .fd:
            out.signed(int(i))
            writeFDPath(int(i), to: &out)
        case .uint:
            out.unsigned(v & 0xFFFF_FFFF)
        case .long:
            out.signed(Int64(bitPattern: v))
        case .ulong:
            out.unsigned(v)
        case .hex:
            out.hex(v)
        case .hex32:
            out.hex(v & 0xFFFF_FFFF)
        case .pointer, .remapAddress:
            out.pointer(v)
        case .dirfd:
            if int(i) == -100 {
                out.append("AT_FDCWD")
            } else {
                out.signed(int(i))
                writeFDPath(int(i), to: &out)
            }
        case .mode, .openMode, .umask:
            out.mode(v & 0xFFFF_FFFF)
        case .signal:
            writeSignal(int(i), to: &out)
        case .flags(let set):
            set.write(v & 0xFFFF_FFFF, to: &out)
        case .value(let names):
            names.write(int(i), to: &out)
        case .openFlags:
            writeOpenFlags(v & 0xFFFF_FFFF, to: &out)
        case .openFlagsNoAccess:
            Names.openFlags.write(v & 0xFFFF_FFFF, to: &out)
        case .atFlags:
            Names.atFlags.write(v & 0xFFFF_FFFF, to: &out)
        case .statxFlags:
            writeStatxFlags(v & 0xFFFF_FFFF, to: &out)
        case .mmapFlags:
            writeMmapFlags(v & 0xFFFF_FFFF, to: &out)
        case .cloneFlags:
            Names.unshare.write(v & 0xFFFF_FFFF, to: &out)
        case .memfdFlags:
            let huge = (v >> 26) & 0x3F
            let flags = v & 0xFFFF_FFFF & ~(0x3F << 26)
            if flags != 0 || huge == 0 { Names.memfdFlags.write(flags, to: &out) }
            if huge != 0 {
                if flags != 0 { out.byte(0x7C) }
                out.unsigned(huge)
                out.append("<<MFD_HUGE_SHIFT")
            }
        case .socketType:
            writeSocketType(v & 0xFFFF_FFFF, to: &out)
        case .socketProtocol(let f):
            writeSocketProtocol(v & 0xFFFF_FFFF, family: int(f), to: &out)
        case .socketOption(let l):
            writeSocketOption(int(i), level: int(l), to: &out)
        case .mknodMode:
            writeFileMode(v & 0xFFFF_FFFF, to: &out)
        case .device:
            writeDevice(v, to: &out)
        case .ioctlRequest:
            writeIoctlRequest(v & 0xFFFF_FFFF, to: &out)
        case .personality:
            writePersonality(v & 0xFFFF_FFFF, to: &out)

        case .path:
            writePath(i, to: &out)
        case .string:
            writeString(i, to: &out)
        case .inputBuffer(let n):
            writeBuffer(i, total: arg(n), to: &out)
        case .outputBuffer:
            if let ret = returnValue, succeeded { writeBuffer(i, total: UInt64(bitPattern: ret), to: &out) } else { out.pointer(v) }
        case .outputHexBuffer:
            if let ret = returnValue, succeeded {
                writeBuffer(i, total: UInt64(bitPattern: ret), hex: true, to: &out)
            } else {
                out.pointer(v)
            }
        case .outputPath:
            if succeeded { writePath(i, to: &out) } else { out.pointer(v) }
        case .argv:
            writeArgv(i, to: &out)
        case .envp:
            writeEnvp(i, to: &out)
        case .inputIovec(let n):
            writeIovecs(i, count: arg(n), transferred: nil, to: &out)
        case .outputIovec(let n):
            if let ret = returnValue, succeeded {
                writeIovecs(i, count: arg(n), transferred: UInt64(bitPattern: ret), to: &out)
            } else {
                out.pointer(v)
            }
        case .inputMessage:
            writeMessage(i, transferred: nil, to: &out)
        case .outputMessage:
            if let ret = returnValue, succeeded { writeMessage(i, transferred: UInt64(bitPattern: ret), to: &out) } else { out.pointer(v) }
        case .fdSet(let n):
            writeFdSet(i, count: int(n), to: &out)
        case .timeoutTimeval:
            if let b = structure(i, 16) { writeTimeval(b, 0, to: &out) } else { out.pointer(v) }
        case .timeoutTimespec:
            if let b = structure(i, 16) { writeTimespec(b, 0, to: &out) } else { out.pointer(v) }
        case .gidList(let n):
            // strace shows the list when the count is one the kernel could take, else the pointer.
            let count = int(n)
            if v == 0 {
                out.append("NULL")
            } else if count >= 0 && count <= 65536, let d = data(i) {
                writeElements(d, count: Int(count), size: 4, to: &out) { UInt64($0.u32($1)) }
            } else {
                out.pointer(v)
            }
        case .outputGidList(let n):
            if v == 0 {
                out.append("NULL")
            } else if succeeded, let ret = returnValue, int(n) > 0 {
                writeElements(data(i) ?? CapturedData(bytes: []), count: Int(min(ret, int(n))), size: 4, to: &out) { UInt64($0.u32($1)) }
            } else {
                out.pointer(v) // failed, or getgroups(0, buf): the kernel only counted
            }
        case .pageVector(let n):
            if succeeded {
                let pages = Int(min(arg(n) / 4096 + (arg(n) % 4096 == 0 ? 0 : 1), 1 << 20)) // no overflow near 2^64
                writeElements(data(i) ?? CapturedData(bytes: []), count: pages, size: 1, to: &out) { UInt64($0[$1]) }
            } else {
                out.pointer(v)
            }
        case .restoredSigmask:
            // A frame that could not be read (a corrupt stack) leaves `?`: strace prints its
            // address there, which the recording does not keep.
            out.append("{mask=")
            if let d = data(i), d.bytes.count >= 8 { writeSigset(d.bytes, to: &out) } else { out.byte(0x3F) }
            out.byte(0x7D)
        case .inputSockaddr(let n):
            writeSockaddr(i, length: int(n), to: &out)
        case .outputSockaddr:
            if succeeded, let data = data(i) {
                writeSockaddr(i, length: Int64(data.bytes.count), to: &out)
            } else {
                out.pointer(v)
            }
        case .socklenInOut(let s):
            writeSocklen(i, sockaddr: s, to: &out)
        case .socketOptionLength:
            writeIntPointer(i, to: &out)
        case .outputInt:
            if succeeded { writeIntPointer(i, to: &out) } else { out.pointer(v) }
        case .outputSocketOptionValue:
            // getsockopt(fd, SOL_SOCKET, SO_LINGER, ...): a struct linger; the others an int.
            if succeeded, int(1) == 1, int(2) == 13, let b = structure(i, 8) {
                writeLinger(b, to: &out)
            } else if succeeded {
                writeIntPointer(i, to: &out)
            } else {
                out.pointer(v)
            }
        case .offset, .sendfileOffset:
            if v == 0 {
                out.append("NULL")
            } else if let b = structure(i, 8) {
                out.byte(0x5B); out.unsigned(b.u64(0)); out.byte(0x5D)
                // sendfile writes the offset back: `[0] => [20]` once it moved.
                if case .sendfileOffset = argument, let ret = returnValue, ret > 0, let after = atExit(i, 8) {
                    out.append(" => [")
                    out.unsigned(after.u64(0))
                    out.byte(0x5D)
                }
            } else {
                out.pointer(v)
            }
        case .outputLong:
            if succeeded, v != 0, let data = data(i), data.bytes.count >= 8 {
                out.byte(0x5B); out.hex(data.bytes.u64(0)); out.byte(0x5D)
            } else {
                out.pointer(v)
            }
        case .socketOptionValue(let n):
            writeSocketOptionValue(i, length: int(n), to: &out)
        case .intPair:
            if succeeded, let b = structure(i, 8) {
                out.byte(0x5B)
                out.signed(b.i32(0)); writeFDPath(b.i32(0), to: &out)
                out.append(", ")
                out.signed(b.i32(4)); writeFDPath(b.i32(4), to: &out)
                out.byte(0x5D)
            } else {
                out.pointer(v)
            }
        case .waitStatus:
            if let ret = returnValue, ret > 0, let b = structure(i, 4) {
                writeWaitStatus(UInt32(truncatingIfNeeded: b.u32(0)), to: &out)
            } else {
                out.pointer(v)
            }
        case .timespec:
            if let b = structure(i, 16) { writeTimespec(b, 0, to: &out) } else { out.pointer(v) }
        case .outputTimespec:
            if succeeded, let b = structure(i, 16) { writeTimespec(b, 0, to: &out) } else { out.pointer(v) }
        case .remainingTimespec:
            if returnValue == -4 || returnValue == -516, let b = structure(i, 16) {
                writeTimespec(b, 0, to: &out)
            } else {
                out.pointer(v)
            }
        case .timeval:
            if let b = structure(i, 16) { writeTimeval(b, 0, to: &out) } else { out.pointer(v) }
        case .outputTimeval:
            if succeeded, let b = structure(i, 16) { writeTimeval(b, 0, to: &out) } else { out.pointer(v) }
        case .itimerspec:
            if let b = structure(i, 32) { writeItimer(b, nanoseconds: true, to: &out) } else { out.pointer(v) }
        case .outputItimerspec:
            if succeeded, let b = structure(i, 32) { writeItimer(b, nanoseconds: true, to: &out) } else { out.pointer(v) }
        case .itimerval:
            if let b = structure(i, 32) { writeItimer(b, nanoseconds: false, to: &out) } else { out.pointer(v) }
        case .outputItimerval:
            if succeeded, let b = structure(i, 32) { writeItimer(b, nanoseconds: false, to: &out) } else { out.pointer(v) }
        case .utimens:
            if let b = structure(i, 32) { writeUtimens(b, to: &out) } else { out.pointer(v) }
        case .stat:
            if succeeded, let b = structure(i, 56) { writeStat(b, to: &out) } else { out.pointer(v) }
        case .statx:
            if succeeded, let b = structure(i, 48) { writeStatx(b, to: &out) } else { out.pointer(v) }
        case .rlimit:
            if let b = structure(i, 16) { writeRlimit(b, to: &out) } else { out.pointer(v) }
        case .outputRlimit:
            if succeeded, let b = structure(i, 16) { writeRlimit(b, to: &out) } else { out.pointer(v) }
        case .sigaction:
            if let b = structure(i, Layout.sigactionSize) { writeSigaction(b, to: &out) } else { out.pointer(v) }
        case .outputSigaction:
            if succeeded, let b = structure(i, Layout.sigactionSize) { writeSigaction(b, to: &out) } else { out.pointer(v) }
        case .sigset(let n):
            if arg(n) <= 8, let b = structure(i, Int(arg(n))) { writeSigset(b, to: &out) } else { out.pointer(v) }
        case .outputSigset(let n):
            if succeeded, arg(n) <= 8, let b = structure(i, Int(arg(n))) { writeSigset(b, to: &out) } else { out.pointer(v) }
        case .stack:
            if let b = structure(i, 24) { writeStack(b, to: &out) } else { out.pointer(v) }
        case .outputStack:
            if succeeded, let b = structure(i, 24) { writeStack(b, to: &out) } else { out.pointer(v) }
        case .openHow:
            if let b = structure(i, 24) { writeOpenHow(b, to: &out) } else { out.pointer(v) }
        case .epollEvent:
            if int(1) != 2, let b = structure(i, 12) { writeEpollEvent(b, 0, to: &out) } else { out.pointer(v) }
        case .epollEvents:
            writeEpollEvents(i, to: &out)
        case .pollFds:
            writePollFds(i, to: &out)
        case .utsname:
            if succeeded, let b = structure(i, 130) { writeUtsname(b, to: &out) } else { out.pointer(v) }
        case .tms:
            if succeeded, let b = structure(i, 32) { writeTms(b, to: &out) } else { out.pointer(v) }
        case .sysinfo:
            if succeeded, let b = structure(i, Layout.sysinfoSize) { writeSysinfo(b, to: &out) } else { out.pointer(v) }
        case .statfs:
            if succeeded, let b = structure(i, Layout.statfsSize) { writeStatfs(b, to: &out) } else { out.pointer(v) }
        case .outputTime:
            if succeeded, let b = structure(i, 8) {
                out.byte(0x5B)
                out.signed(b.i64(0))
                out.append(" /* ")
                out.isoDate(seconds: b.i64(0))
                out.append(" */]")
            } else {
                out.pointer(v)
            }
        case .cpuSet:
            if let d = data(i), v != 0 { writeCpuSet(d.bytes, to: &out) } else { out.pointer(v) }
        case .outputCpuSet:
            if succeeded, let d = data(i), v != 0 { writeCpuSet(d.bytes, to: &out) } else { out.pointer(v) }
        case .schedParam:
            if let b = structure(i, 4) { out.append("{sched_priority="); out.signed(b.i32(0)); out.byte(0x7D) } else { out.pointer(v) }
        case .outputSchedParam:
            if succeeded, let b = structure(i, 4) {
                out.append("{sched_priority="); out.signed(b.i32(0)); out.byte(0x7D)
            } else {
                out.pointer(v)
            }
        case .flock:
            if let b = structure(i, 24) { writeFlock(b, to: &out) } else { out.pointer(v) }
        case .cloneArgs, .omitted:
            out.pointer(v)
        case .ioctlArgument, .prctlArgument: // written by their calls' own formatting (Specials.swift)
            out.hex(v)
        }
    }

    /// A captured structure of at least `size` bytes behind a non-NULL pointer.
    func structure(_ i: Int, _ size: Int) -> [UInt8]? {
        guard arg(i) != 0, let d = data(i), d.bytes.count >= size else { return nil }
        return d.bytes
    }

    // MARK: Integers and names

    func writeSignal(_ signal: Int64, to out: inout Output) {
        Self.writeSignalName(signal, to: &out)
    }

    static func writeSignalName(_ signal: Int64, to out: inout Output) {
        if signal > 0 && signal < 32, let name = Names.signals.name(signal) {
            out.append(name)
        } else if signal == 32 {
            out.append("SIGRTMIN")
        } else if signal > 32 && signal <= 64 {
            out.append("SIGRT_")
            out.signed(signal - 32)
        } else {
            out.signed(signal)
        }
    }

    func writeOpenFlags(_ flags: UInt64, to out: inout Output) {
        Names.openAccess.write(Int64(flags & 3), to: &out)
        let rest = Names.openFlags.writeNames(flags & ~3, to: &out, first: false)
        if rest.remaining != 0 {
            out.append("|0x")
            out.hexDigits(rest.remaining)
        }
    }

    func writeStatxFlags(_ flags: UInt64, to out: inout Output) {
        let sync = flags & 0x6000
        var wrote = true
        if sync == 0 {
            out.append("AT_STATX_SYNC_AS_STAT")
        } else {
            wrote = Names.statxSync.writeNames(sync, to: &out, first: true).wrote
        }
        let rest = Names.atFlags.writeNames(flags & ~0x6000, to: &out, first: !wrote)
        if rest.remaining != 0 {
            out.append("|0x")
            out.hexDigits(rest.remaining)
        }
    }

    func writeMmapFlags(_ flags: UInt64, to out: inout Output) {
        Names.mapTypes.write(Int64(flags & 0xF), to: &out)
        let hugeShift: UInt64 = 26
        let huge = (flags >> hugeShift) & 0x3F
        let rest = Names.mapFlags.writeNames(flags & ~0xF & ~(0x3F << hugeShift), to: &out, first: false)
        if rest.remaining != 0 {
            out.append("|0x")
            out.hexDigits(rest.remaining)
        }
        if huge != 0 {
            out.byte(0x7C)
            out.unsigned(huge)
            out.append("<<MAP_HUGE_SHIFT")
        }
    }

    func writeSocketType(_ type: UInt64, to out: inout Output) {
        if let name = Names.socketTypes.name(Int64(type & 0xF)) {
            out.append(name)
            if type & ~0xF != 0 {
                out.byte(0x7C)
                Names.socketFlags.write(type & ~0xF, to: &out)
            }
        } else {
            Names.socketFlags.write(type, to: &out)
        }
    }

    func writeSocketProtocol(_ protocolNumber: UInt64, family: Int64, to out: inout Output) {
        switch family {
        case 2, 10: // AF_INET, AF_INET6
            if let name = Names.ipProtocols.name(Int64(protocolNumber)) { out.append(name) } else { out.unsigned(protocolNumber) }
        case 16: // AF_NETLINK
            Names.netlinkProtocols.write(Int64(protocolNumber), to: &out)
        case 17: // AF_PACKET: a network-order ethertype
            let ethertype = (protocolNumber & 0xFF) << 8 | (protocolNumber >> 8) & 0xFF
            out.append("htons(")
            if let name = Names.ethernetProtocols.name(Int64(ethertype)) { out.append(name) } else { out.hex(ethertype) }
            out.byte(0x29)
        default:
            out.unsigned(protocolNumber)
        }
    }

    func writeSocketOption(_ option: Int64, level: Int64, to out: inout Output) {
        switch level {
        case 1: Names.socketOptions.write(option, to: &out)
        case 6: Names.tcpOptions.write(option, to: &out)
        case 0: Names.ipOptions.write(option, to: &out)
        case 41: Names.ipv6Options.write(option, to: &out)
        default: out.unsigned(UInt64(UInt32(truncatingIfNeeded: option)))
        }
    }

    /// `S_IFREG|0644`, or the permissions alone.
    func writeFileMode(_ mode: UInt64, to out: inout Output) {
        if let type = Names.fileTypes.name(Int64(mode & 0o170000)) {
            out.append(type)
            out.byte(0x7C)
            out.mode(mode & ~0o170000)
        } else {
            out.mode(mode)
        }
    }

    /// `makedev(0x1, 0x3)` with glibc's split of dev_t.
    func writeDevice(_ dev: UInt64, to out: inout Output) {
        let major = ((dev >> 8) & 0xFFF) | ((dev >> 32) & ~0xFFF)
        let minor = (dev & 0xFF) | ((dev >> 12) & ~0xFF)
        out.append("makedev(")
        out.hex(major)
        out.append(", ")
        out.hex(minor)
        out.byte(0x29)
    }

    func writeIoctlRequest(_ request: UInt64, to out: inout Output) {
        if let name = Names.ioctls.name(Int64(request)) {
            out.append(name)
            return
        }
        out.append("_IOC(")
        switch (request >> 30) & 3 {
        case 0: out.append("_IOC_NONE")
        case 1: out.append("_IOC_WRITE")
        case 2: out.append("_IOC_READ")
        default: out.append("_IOC_READ|_IOC_WRITE")
        }
        out.append(", ")
        out.hex((request >> 8) & 0xFF)
        out.append(", ")
        out.hex(request & 0xFF)
        out.append(", ")
        out.hex((request >> 16) & 0x3FFF)
        out.byte(0x29)
    }

    func writePersonality(_ value: UInt64, to out: inout Output) {
        if value == 0xFFFF_FFFF {
            out.hex(value)
        } else if let name = Names.personalities.name(Int64(value & 0xFF)) {
            out.append(name)
            if value & ~0xFF != 0 { out.append("|0x"); out.hexDigits(value & ~0xFF) }
        } else {
            out.hex(value)
        }
    }

    // MARK: Strings and buffers

    /// A path: in full (strace's printpath ignores -s), NULL, or the address when unreadable.
    func writePath(_ i: Int, to out: inout Output) {
        let pointer = arg(i)
        guard pointer != 0 else { out.append("NULL"); return }
        guard let d = data(i) else { out.pointer(pointer); return }
        let end = d.bytes.firstIndex(of: 0) ?? d.bytes.count
        let shown = min(end, 4096)
        out.quoted(d.bytes[0..<shown], more: shown < end || (d.truncated && end == d.bytes.count))
    }

    /// A NUL-terminated string cut at the string limit.
    func writeString(_ i: Int, to out: inout Output) {
        let pointer = arg(i)
        guard pointer != 0 else { out.append("NULL"); return }
        guard let d = data(i) else { out.pointer(pointer); return }
        let end = d.bytes.firstIndex(of: 0) ?? d.bytes.count
        let shown = min(end, limit)
        out.quoted(d.bytes[0..<shown], more: shown < end || (d.truncated && end == d.bytes.count))
    }

    /// A buffer of `total` bytes, of which the capture holds a prefix.
    func writeBuffer(_ i: Int, total: UInt64, hex: Bool = false, to out: inout Output) {
        let pointer = arg(i)
        guard pointer != 0 else { out.append("NULL"); return }
        guard let d = data(i) else { out.pointer(pointer); return }
        let available = min(UInt64(d.bytes.count), total)
        let shown = Int(min(available, UInt64(limit)))
        out.quoted(d.bytes[0..<shown], more: UInt64(shown) < total, hex: hex)
    }

    /// `["ls", "-l"]`: the strings the capture holds (each followed by NUL), at most `limit` of them.
    func writeArgv(_ i: Int, to out: inout Output) {
        let pointer = arg(i)
        guard pointer != 0 else { out.append("NULL"); return }
        guard let d = data(i) else { out.pointer(pointer); return }
        out.byte(0x5B)
        let bytes = d.bytes
        var start = 0
        var count = 0
        while start < bytes.count {
            if count == limit {
                out.append(", ...")
                out.byte(0x5D)
                return
            }
            let end = bytes[start...].firstIndex(of: 0) ?? bytes.count
            let cut = end == bytes.count // the last string was cut by the capture
            if count > 0 { out.append(", ") }
            let shown = min(end - start, limit)
            out.quoted(bytes[start..<(start + shown)], more: shown < end - start || cut)
            count += 1
            start = end + 1
        }
        if d.truncated { out.append(count > 0 ? ", ..." : "...") }
        out.byte(0x5D)
    }

    /// `0x7ffd... /* 3 vars */`.
    func writeEnvp(_ i: Int, to out: inout Output) {
        let pointer = arg(i)
        guard pointer != 0 else { out.append("NULL"); return }
        out.pointer(pointer)
        guard let d = data(i) else { return }
        var count = 0
        for b in d.bytes where b == 0 { count += 1 }
        if let last = d.bytes.last, last != 0 { count += 1 }
        out.append(" /* ")
        out.unsigned(UInt64(count))
        out.append(d.truncated ? "+ vars */" : " vars */")
    }

    func writeIntPointer(_ i: Int, to out: inout Output) {
        let pointer = arg(i)
        guard pointer != 0 else { out.append("NULL"); return }
        guard let b = structure(i, 4) else { out.pointer(pointer); return }
        out.byte(0x5B)
        out.signed(b.i32(0))
        out.byte(0x5D)
    }

    func writeSocketOptionValue(_ i: Int, length: Int64, to out: inout Output) {
        let pointer = arg(i)
        guard pointer != 0 else { out.append("NULL"); return }
        guard let d = data(i) else { out.pointer(pointer); return }
        if length == 4 && d.bytes.count >= 4 {
            out.byte(0x5B)
            out.signed(d.bytes.i32(0))
            out.byte(0x5D)
        } else {
            writeBuffer(i, total: UInt64(max(0, length)), to: &out)
        }
    }

    func writeSocklen(_ i: Int, sockaddr: Int, to out: inout Output) {
        let pointer = arg(i)
        guard pointer != 0 else { out.append("NULL"); return }
        guard let b = structure(i, 4) else { out.pointer(pointer); return }
        let before = b.u32(0)
        out.byte(0x5B)
        out.unsigned(before)
        if succeeded, arg(sockaddr) != 0, let address = data(sockaddr), UInt64(address.bytes.count) != before {
            out.append(" => ")
            out.unsigned(UInt64(address.bytes.count))
        }
        out.byte(0x5D)
    }

    func writeCpuSet(_ bytes: [UInt8], to out: inout Output) {
        out.byte(0x5B)
        var first = true
        for (index, byte) in bytes.enumerated() where byte != 0 {
            for bit in 0..<8 where byte & (1 << bit) != 0 {
                if !first { out.byte(0x20) }
                out.unsigned(UInt64(index * 8 + bit))
                first = false
            }
        }
        out.byte(0x5D)
    }
}
