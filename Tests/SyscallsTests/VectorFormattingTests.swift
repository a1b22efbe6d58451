import Testing
import Syscalls

/// iovec arrays, msghdrs and fd_sets: arguments the recorder captures in several pieces.
/// Expected strings are strace 6.1's output on this machine.
@Suite struct VectorFormattingTests {
    let iov: UInt64 = 0x7ffd_0000_1000

    /// The iovec array as captured, with the bytes behind each entry.
    func iovecs(_ entries: [(base: UInt64, length: UInt64, bytes: String?)]) -> CapturedData {
        var pack = Pack()
        for entry in entries { pack = pack.u64(entry.base).u64(entry.length) }
        var data = pack.data
        data.elements = entries.map { $0.bytes.map { text($0) } ?? faulted }
        return data
    }

    @Test func writevShowsEachBuffer() {
        let data = iovecs([(0x1000, 8, "vec one "), (0x2000, 7, "vec two")])
        #expect(line("writev", [3, iov, 2], [1: data], returns: 15) ==
            "writev(3, [{iov_base=\"vec one \", iov_len=8}, {iov_base=\"vec two\", iov_len=7}], 2) = 15")
        // A buffer longer than the string limit is cut, and so marked.
        let long = String(repeating: "x", count: 40)
        #expect(line("writev", [1, iov, 1], [1: iovecs([(0x1000, 40, long)])], returns: 40) ==
            "writev(1, [{iov_base=\"\(String(repeating: "x", count: 32))\"..., iov_len=40}], 1) = 40")
        // A failed call still shows what was passed in; an unreadable array is an address.
        #expect(line("writev", [reg(-1), iov, 1], [1: iovecs([(0x1000, 2, "hi")])], returns: -9) ==
            "writev(-1, [{iov_base=\"hi\", iov_len=2}], 1) = -1 EBADF (Bad file descriptor)")
        #expect(line("writev", [3, iov, 1], [1: faulted], returns: -14) ==
            "writev(3, 0x7ffd00001000, 1) = -1 EFAULT (Bad address)")
    }

    @Test func readvSpreadsWhatWasReadOverTheEntries() {
        let data = iovecs([(0x1000, 4, "vec "), (0x2000, 32, "one vec two")])
        #expect(line("readv", [4, iov, 2], [1: data], returns: 15) ==
            "readv(4, [{iov_base=\"vec \", iov_len=4}, {iov_base=\"one vec two\", iov_len=32}], 2) = 15")
        #expect(line("readv", [4, iov, 2], returns: -11) ==
            "readv(4, 0x7ffd00001000, 2) = -1 EAGAIN (Resource temporarily unavailable)")
        #expect(unfinishedLine("readv", [4, iov, 2]) == "readv(4,  <unfinished ...>")
    }

    /// struct user_msghdr: name, namelen, iov, iovlen, control, controllen, flags.
    func message(name: UInt64 = 0, nameLength: UInt64 = 0, iovecs: CapturedData?, iovCount: UInt64,
                 controlLength: UInt64 = 0, flags: UInt64 = 0, address: CapturedData? = nil) -> CapturedData {
        var data = Pack().u64(name).u32(nameLength).u32(0).u64(iovecs == nil ? 0 : iov).u64(iovCount)
            .u64(controlLength == 0 ? 0 : 0x7ffd_0000_3000).u64(controlLength).u32(flags).u32(0).data
        data.iovecs = iovecs
        data.name = address
        return data
    }

    @Test func sendmsgAndRecvmsg() {
        let sent = message(iovecs: iovecs([(0x1000, 7, "message")]), iovCount: 1)
        #expect(line("sendmsg", [3, 0x7ffd_0000_2000, 0], [1: sent], returns: 7) ==
            "sendmsg(3, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=\"message\", iov_len=7}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 7")
        let peer = sockaddrIn(port: 53, address: [127, 0, 0, 1])
        let received = message(name: 0x7ffd_0000_4000, nameLength: 16, iovecs: iovecs([(0x1000, 64, "answer")]),
                               iovCount: 1, flags: 0x20, address: peer)
        #expect(line("recvmsg", [3, 0x7ffd_0000_2000, 0x40], [1: received], returns: 6) ==
            "recvmsg(3, {msg_name={sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr(\"127.0.0.1\")}, msg_namelen=16, msg_iov=[{iov_base=\"answer\", iov_len=64}], msg_iovlen=1, msg_controllen=0, msg_flags=MSG_TRUNC}, MSG_DONTWAIT) = 6")
        #expect(line("recvmsg", [3, 0x7ffd_0000_2000, 0], returns: -11) ==
            "recvmsg(3, 0x7ffd00002000, 0) = -1 EAGAIN (Resource temporarily unavailable)")
    }

    @Test func selectShowsTheSetsAndWhatWasReady() {
        var read = Pack().u64(1 << 4 | 1 << 6).data
        read.atExit = Pack().u64(1 << 4).data
        var write = Pack().u64(1 << 5).data
        write.atExit = Pack().u64(0).data
        #expect(line("select", [7, 0x1000, 0x2000, 0, 0], [1: read, 2: write], returns: 1) ==
            "select(7, [4 6], [5], NULL, NULL) = 1 (in [4])")
        #expect(line("select", [7, 0x1000, 0, 0, 0x3000], [1: Pack().u64(1 << 4).data, 4: timespec(1, 0)], returns: 0) ==
            "select(7, [4], NULL, NULL, {tv_sec=1, tv_usec=0}) = 0 (Timeout)")
        var both = Pack().u64(1 << 3).data
        both.atExit = Pack().u64(1 << 3).data
        var out = Pack().u64(1 << 3).data
        out.atExit = Pack().u64(1 << 3).data
        #expect(line("pselect6", [4, 0x1000, 0x2000, 0, 0, 0], [1: both, 2: out], returns: 2) ==
            "pselect6(4, [3], [3], NULL, NULL, NULL) = 2 (in [3], out [3])")
    }
}
