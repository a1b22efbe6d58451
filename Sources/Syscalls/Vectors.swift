/// Arguments made of several pieces of user memory: iovec arrays (readv, writev), msghdrs
/// (sendmsg, recvmsg) and fd_sets (select). The recorder captures each piece as its own chunk
/// (see `CapturedData`); here they are put back together as strace prints them.
extension Call {
    /// `[{iov_base="hello", iov_len=5}, ...]`. With `transferred` (readv at exit), only that many
    /// bytes were filled in, spread over the entries in order.
    func writeIovecs(_ i: Int, count: UInt64, transferred: UInt64?, to out: inout Output) {
        let pointer = arg(i)
        guard pointer != 0 else { out.append("NULL"); return }
        guard let d = data(i) else { out.pointer(pointer); return }
        writeIovecs(d, count: count, transferred: transferred, to: &out)
    }

    func writeIovecs(_ d: CapturedData, count: UInt64, transferred: UInt64?, to out: inout Output) {
        let kept = d.bytes.count / 16
        var left = transferred
        out.byte(0x5B)
        for k in 0..<min(kept, limit) {
            if k > 0 { out.append(", ") }
            let base = d.bytes.u64(16 * k)
            let length = d.bytes.u64(16 * k + 8)
            var filled = length
            if let remaining = left {
                filled = min(length, remaining)
                left = remaining - filled
            }
            out.append("{iov_base=")
            if base == 0 {
                out.append("NULL")
            } else if k < d.elements.count, !d.elements[k].faulted {
                let bytes = d.elements[k].bytes
                let shown = min(bytes.count, limit, Int(clamping: filled))
                out.quoted(bytes[0..<shown], more: UInt64(shown) < filled)
            } else {
                out.pointer(base)
            }
            out.append(", iov_len=")
            out.unsigned(length)
            out.byte(0x7D)
        }
        if UInt64(min(kept, limit)) < count { out.append(kept > 0 ? ", ..." : "...") }
        out.byte(0x5D)
    }

    /// `{msg_name={sa_family=AF_INET, ...}, msg_namelen=16, msg_iov=[...], msg_iovlen=1,
    /// msg_controllen=0, msg_flags=0}` (struct user_msghdr, 56 bytes on x86_64).
    func writeMessage(_ i: Int, transferred: UInt64?, to out: inout Output) {
        let pointer = arg(i)
        guard pointer != 0 else { out.append("NULL"); return }
        guard let d = data(i), d.bytes.count >= 56 else { out.pointer(pointer); return }
        let b = d.bytes
        let namePointer = b.u64(0)
        let nameLength = b.i32(8)
        out.append("{msg_name=")
        if namePointer == 0 {
            out.append("NULL")
        } else if let name = d.name, !name.faulted, name.bytes.count >= 2 {
            writeSockaddr(name.bytes, length: Int64(nameLength), to: &out)
        } else {
            out.pointer(namePointer)
        }
        out.append(", msg_namelen=")
        out.signed(nameLength)
        out.append(", msg_iov=")
        let iovPointer = b.u64(16)
        let iovCount = b.u64(24)
        if iovPointer == 0 {
            out.append("NULL")
        } else if let iovecs = d.iovecs, !iovecs.faulted {
            writeIovecs(iovecs, count: iovCount, transferred: transferred, to: &out)
        } else {
            out.pointer(iovPointer)
        }
        out.append(", msg_iovlen=")
        out.unsigned(iovCount)
        let controlLength = b.u64(40)
        if controlLength > 0 {
            // Control messages (SCM_RIGHTS...) are not captured: strace decodes them.
            out.append(", msg_control=")
            out.pointer(b.u64(32))
        }
        out.append(", msg_controllen=")
        out.unsigned(controlLength)
        out.append(", msg_flags=")
        Names.messageFlags.write(UInt64(b.u32(48)), to: &out)
        out.byte(0x7D)
    }

    /// `[3 4]`: the descriptors below `count` whose bits are set.
    func writeFdSet(_ i: Int, count: Int64, to out: inout Output) {
        let pointer = arg(i)
        guard pointer != 0 else { out.append("NULL"); return }
        guard let d = data(i), !d.bytes.isEmpty else { out.pointer(pointer); return }
        writeFdList(d.bytes, count: count, to: &out)
    }

    /// `[1, 2, 3]`: `count` elements of `size` bytes, as many as were captured and at most the
    /// string limit (strace's -s bounds arrays too), then `, ...` when more were there.
    func writeElements(_ d: CapturedData, count: Int, size: Int, to out: inout Output,
                       _ element: (_ bytes: [UInt8], _ offset: Int) -> UInt64) {
        let shown = min(max(count, 0), d.bytes.count / size, limit)
        out.byte(0x5B)
        for k in 0..<shown {
            if k > 0 { out.append(", ") }
            out.unsigned(element(d.bytes, k * size))
        }
        if shown < count { out.append(shown > 0 ? ", ..." : "...") }
        out.byte(0x5D)
    }

    private func writeFdList(_ bytes: [UInt8], count: Int64, to out: inout Output) {
        out.byte(0x5B)
        var first = true
        for fd in 0..<min(Int(clamping: max(count, 0)), bytes.count * 8) where bytes[fd / 8] & (1 << (fd % 8)) != 0 {
            if !first { out.byte(0x20) }
            out.unsigned(UInt64(fd))
            first = false
        }
        out.byte(0x5D)
    }

    /// select's result: `0 (Timeout)`, or the count, the ready sets and the time left that the
    /// kernel wrote back into the timeout, `1 (in [3], out [4], left {tv_sec=0, tv_usec=999997})`.
    func writeSelectResult(_ value: Int64, timeoutArgument: Int, microseconds: Bool, to out: inout Output) {
        out.signed(value)
        if value == 0 {
            out.append(" (Timeout)")
            return
        }
        var parts: [(String, [UInt8])] = []
        for (index, label) in [(1, "in"), (2, "out"), (3, "except")] {
            if let ready = record.captured[index]?.atExit, !ready.faulted, ready.bytes.contains(where: { $0 != 0 }) {
                parts.append((label, ready.bytes))
            }
        }
        let left = atExit(timeoutArgument, 16)
        guard !parts.isEmpty || left != nil else { return }
        out.append(" (")
        var first = true
        for (label, bytes) in parts {
            if !first { out.append(", ") }
            out.append(label)
            out.byte(0x20)
            writeFdList(bytes, count: int(0), to: &out)
            first = false
        }
        if let left {
            out.append(first ? "left " : ", left ")
            if microseconds { writeTimeval(left, 0, to: &out) } else { writeTimespec(left, 0, to: &out) }
        }
        out.byte(0x29)
    }
}
