import Testing
import Syscalls

/// Strings, buffers, missing captures, unfinished and never-returning calls, errno forms, padding.
@Suite struct StringAndCompletionTests {
    @Test func escapesAsStraceWritesThem() {
        let mixed: [UInt8] = [1, 2, 0, 0x33, 0x61, 0x62, 0x63, 9, 10, 13, 11, 12, 0x5C, 0x22, 0x27, 0x7F, 0x80, 0xFF]
        #expect(line("write", [1, 0x7000, 18], [1: raw(mixed)], returns: 18) ==
            "write(1, \"\\1\\2\\0003abc\\t\\n\\r\\v\\f\\\\\\\"'\\177\\200\\377\", 18) = 18")
        #expect(line("write", [reg(-1), 0x7000, 9], [1: raw([7, 8, 0x1B, 0x3F, 0x7E, 0x20, 0x7F, 0, 0x31])], returns: -9) ==
            "write(-1, \"\\7\\10\\33?~ \\177\\0001\", 9) = -1 EBADF (Bad file descriptor)")
        // A digit 8 or 9 cannot extend an octal escape: strace keeps the short form.
        #expect(line("write", [1, 0x7000, 7], [1: raw([1, 0x38, 1, 0x37, 0x20, 0xE2, 0x82])], returns: 7) ==
            "write(1, \"\\18\\0017 \\342\\202\", 7) = 7")
        #expect(line("write", [1, 0x7000, 3], [1: raw([0, 0, 0])], returns: 3) == "write(1, \"\\0\\0\\0\", 3) = 3")
        #expect(line("write", [1, 0x7000, 4], [1: raw(Array("abc".utf8) + [0])], returns: 4) == "write(1, \"abc\\0\", 4) = 4")
    }

    @Test func stringLimit() {
        let digits = "0123456789012345678901234567890123456789"
        func write(_ n: Int, limit: Int = 32) -> String {
            line("write", [1, 0x7000, UInt64(n)], [1: text(String(digits.prefix(n)))], returns: Int64(n), stringLimit: limit)
        }
        #expect(write(31) == "write(1, \"0123456789012345678901234567890\", 31) = 31")
        #expect(write(32) == "write(1, \"01234567890123456789012345678901\", 32) = 32")
        #expect(write(33) == "write(1, \"01234567890123456789012345678901\"..., 33) = 33")
        #expect(write(33, limit: 5) == "write(1, \"01234\"..., 33) = 33")
        #expect(write(33, limit: 0) == "write(1, \"\"..., 33) = 33")
        // sonde kept fewer bytes than the call wrote: the cut shows even under the limit.
        #expect(line("write", [1, 0x7000, 100], [1: text("abcd", truncated: true)], returns: 100) ==
            "write(1, \"abcd\"..., 100) = 100")
        #expect(line("read", [3, 0x7000, 10], [1: text("root:x:0:0")], returns: 10) == "read(3, \"root:x:0:0\", 10) = 10")
        #expect(line("read", [3, 0x7000, 100], [1: text(":root:/root:/bin/bash\ndaemon:x:1:1:daemon")], returns: 100) ==
            "read(3, \":root:/root:/bin/bash\\ndaemon:x:1\"..., 100) = 100")
        #expect(line("read", [5, 0x7000, 10], [1: raw([])], returns: 0) == "read(5, \"\", 10) = 0")
        // Paths ignore the limit, as strace's do.
        let long = "/tmp/sx/this/is/a/rather/long/path/name/exceeding/limits"
        #expect(line("open", [0x7000, 0], [0: text(long)], returns: -2) ==
            "open(\"\(long)\", O_RDONLY) = -1 ENOENT (No such file or directory)")
        #expect(line("open", [0x7000, 0], [0: text("/truncated/by/sonde", truncated: true)], returns: -2) ==
            "open(\"/truncated/by/sonde\"..., O_RDONLY) = -1 ENOENT (No such file or directory)")
    }

    @Test func missingAndFaultedMemory() {
        #expect(line("write", [reg(-1), 0, 5], returns: -9) == "write(-1, NULL, 5) = -1 EBADF (Bad file descriptor)")
        #expect(line("write", [reg(-1), 1, 5], [1: faulted], returns: -9) == "write(-1, 0x1, 5) = -1 EBADF (Bad file descriptor)")
        // No capture at all (a record from a recorder that skipped it): the address.
        #expect(line("openat", [reg(-100), 0x5555_0000_1234, 0], returns: 3) == "openat(AT_FDCWD, 0x555500001234, O_RDONLY) = 3")
        #expect(line("read", [3, 0x7ffc_0000, 4096], returns: -11) ==
            "read(3, 0x7ffc0000, 4096) = -1 EAGAIN (Resource temporarily unavailable)")
        #expect(line("fstat", [3, 0x7ffc_0000], returns: 0) == "fstat(3, 0x7ffc0000) = 0")
    }

    @Test func unfinishedCalls() {
        #expect(unfinishedLine("read", [0, 0x7000, 10]) == "read(0,  <unfinished ...>")
        #expect(unfinishedLine("write", [4, 0x7000, 5], [1: text("hello")]) == "write(4, \"hello\", 5 <unfinished ...>")
        #expect(unfinishedLine("set_robust_list", [0x7ff9_b3dc_4a20, 24]) == "set_robust_list(0x7ff9b3dc4a20, 24 <unfinished ...>")
        #expect(unfinishedLine("kill", [9025, 10]) == "kill(9025, SIGUSR1 <unfinished ...>")
        #expect(unfinishedLine("connect", [4, 0x7000, 16], [1: sockaddrIn(port: 51351, address: [127, 0, 0, 1])]) ==
            "connect(4, {sa_family=AF_INET, sin_port=htons(51351), sin_addr=inet_addr(\"127.0.0.1\")}, 16 <unfinished ...>")
        #expect(unfinishedLine("recvfrom", [4, 0x7000, 8, 0, 0x7100, 0x7200]) == "recvfrom(4,  <unfinished ...>")
        #expect(unfinishedLine("pselect6", [0, 0, 0, 0, 0, 0]) == "pselect6(0, NULL, NULL, NULL, NULL, NULL <unfinished ...>")
        #expect(unfinishedLine("clock_nanosleep", [0, 0, 0x7000, 0], [2: timespec(0, 200_000_000)]) ==
            "clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=200000000},  <unfinished ...>")
    }

    @Test func errnoForms() {
        #expect(line("close", [reg(-12345)], returns: -9) == "close(-12345) = -1 EBADF (Bad file descriptor)")
        #expect(line("pselect6", [0, 0, 0, 0, 0, 0], returns: -514) ==
            "pselect6(0, NULL, NULL, NULL, NULL, NULL) = ? ERESTARTNOHAND (To be restarted if no handler)")
        #expect(line("read", [0, 0x7000, 10], returns: -512) == "read(0, 0x7000, 10) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)")
        #expect(line("getpid", [], returns: 4_294_967_295) == "getpid() = 4294967295")
    }

    @Test func unknownSyscalls() {
        let unknown = SyscallRecord(number: 600, arguments: [1, 2, 3, 4, 5, 6], completion: .returned(-38))
        #expect(SyscallFormatter.format(unknown) == "syscall_0x258(0x1, 0x2, 0x3, 0x4, 0x5, 0x6) = -1 ENOSYS (Function not implemented)")
        let newer = SyscallRecord(number: 0x1C3, arguments: [0, 0, 0, 0, 0, 0], completion: .unfinished)
        #expect(SyscallFormatter.format(newer) == "syscall_0x1c3(0, 0, 0, 0, 0, 0 <unfinished ...>")
    }

    @Test func paddingLikeStrace() {
        // strace pads to column 40 of its line: with a 6-character pid prefix, 34 here.
        let formatter = SyscallFormatter(alignmentColumn: 34)
        #expect(formatter.format(record("getpid", [], [:], .returned(11653))) == "getpid()                          = 11653")
        #expect(formatter.format(record("exit_group", [3], [:], .noReturn)) == "exit_group(3)                     = ?")
        #expect(formatter.format(record("openat", [reg(-100), 0x7000, 0o2000000], [1: text("/etc/passwd")], .returned(3))) ==
            "openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC) = 3")
        var bytes = Array("11653 ".utf8)
        SyscallFormatter(alignmentColumn: 34).append(record("getuid", [], [:], .returned(0)), to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == "11653 getuid()                          = 0")
    }
}
