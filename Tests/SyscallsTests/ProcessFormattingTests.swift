import Testing
import Syscalls

/// Processes, memory, signals and time. Expected strings are strace 6.1's output on this machine.
@Suite struct ProcessFormattingTests {
    let path: UInt64 = 0x5555_5555_4004

    @Test func memoryMappings() {
        #expect(line("mmap", [0, 4096, 3, 0x22, reg(-1), 0], returns: 0x7fe8_1592_0000) ==
            "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7fe815920000")
        #expect(line("mmap", [0, 8192, 5, 0x2 | 0x10 | 0x800, 3, 4096], returns: 0) ==
            "mmap(NULL, 8192, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, 0x1000) = 0")
        let everything: UInt64 = 0xFFFF_FFFF & ~0xF & ~(0x3F << 26) | 2 | 0x400_0000
        #expect(line("mmap", [0x1000, 4096, 0, everything, reg(-1), 0], returns: -22) ==
            "mmap(0x1000, 4096, PROT_NONE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|MAP_32BIT|MAP_NORESERVE|MAP_POPULATE|MAP_NONBLOCK|MAP_GROWSDOWN|MAP_DENYWRITE|MAP_EXECUTABLE|MAP_LOCKED|MAP_STACK|MAP_HUGETLB|MAP_SYNC|MAP_FIXED_NOREPLACE|0x3e00680|1<<MAP_HUGE_SHIFT, -1, 0) = -1 EINVAL (Invalid argument)")
        #expect(line("mmap", [0x1000, 4096, 0, 2 | 0x40000 | (21 << 26), reg(-1), 0], returns: -9) ==
            "mmap(0x1000, 4096, PROT_NONE, MAP_PRIVATE|MAP_HUGETLB|21<<MAP_HUGE_SHIFT, -1, 0) = -1 EBADF (Bad file descriptor)")
        let unknownType: UInt64 = 3 | 0x80000 | 0x20000 | 0x100 | 0x4000 | 0x8000 | 0x10000 | 0x2000 | 0x1000 | 0x40
            | 0x100000 | 0x400_0000 | 0x8
        #expect(line("mmap", [0x1000, 4096, 0, unknownType, reg(-1), 0], returns: -9) ==
            "mmap(0x1000, 4096, PROT_NONE, 0xb /* MAP_??? */|MAP_32BIT|MAP_NORESERVE|MAP_POPULATE|MAP_NONBLOCK|MAP_GROWSDOWN|MAP_EXECUTABLE|MAP_LOCKED|MAP_STACK|MAP_SYNC|MAP_FIXED_NOREPLACE|1<<MAP_HUGE_SHIFT, -1, 0) = -1 EBADF (Bad file descriptor)")
        #expect(line("mmap", [0x1000, 4096, 0, 3, reg(-1), 0], returns: -9) ==
            "mmap(0x1000, 4096, PROT_NONE, MAP_SHARED_VALIDATE, -1, 0) = -1 EBADF (Bad file descriptor)")
        #expect(line("mprotect", [0x10000, 4096, 0], returns: -12) == "mprotect(0x10000, 4096, PROT_NONE) = -1 ENOMEM (Cannot allocate memory)")
        #expect(line("mprotect", [0x10000, 4096, 0x10], returns: -22) ==
            "mprotect(0x10000, 4096, 0x10 /* PROT_??? */) = -1 EINVAL (Invalid argument)")
        #expect(line("mprotect", [0x10000, 4096, 0x11], returns: -22) == "mprotect(0x10000, 4096, PROT_READ|0x10) = -1 EINVAL (Invalid argument)")
        #expect(line("mprotect", [0x10000, 4096, 0xFFFF_FFFF], returns: -22) ==
            "mprotect(0x10000, 4096, PROT_READ|PROT_WRITE|PROT_EXEC|PROT_SEM|PROT_GROWSDOWN|PROT_GROWSUP|0xfcfffff0) = -1 EINVAL (Invalid argument)")
        #expect(line("munmap", [0x10000, 4096], returns: 0) == "munmap(0x10000, 4096) = 0")
        #expect(line("brk", [0], returns: 0x55f9_7c22_f000) == "brk(NULL) = 0x55f97c22f000")
        #expect(line("madvise", [0x10000, 4096, 4], returns: -12) == "madvise(0x10000, 4096, MADV_DONTNEED) = -1 ENOMEM (Cannot allocate memory)")
        #expect(line("msync", [0, 0, 0xFFFF_FFFF], returns: -22) ==
            "msync(NULL, 0, MS_SYNC|MS_ASYNC|MS_INVALIDATE|0xfffffff8) = -1 EINVAL (Invalid argument)")
        #expect(line("mremap", [0, 0, 0, 0xFFFF_FFFF, 0], returns: -22) ==
            "mremap(NULL, 0, 0, MREMAP_MAYMOVE|MREMAP_FIXED|MREMAP_DONTUNMAP|0xfffffff8, NULL) = -1 EINVAL (Invalid argument)")
        #expect(line("mremap", [0x10000, 4096, 8192, 1], returns: -14) == "mremap(0x10000, 4096, 8192, MREMAP_MAYMOVE) = -1 EFAULT (Bad address)")
        #expect(line("mlock", [0x10000, 4096], returns: -12) == "mlock(0x10000, 4096) = -1 ENOMEM (Cannot allocate memory)")
        #expect(line("membarrier", [0, 0], returns: 0x3FF) ==
            "membarrier(MEMBARRIER_CMD_QUERY, 0) = 0x3ff (MEMBARRIER_CMD_GLOBAL|MEMBARRIER_CMD_GLOBAL_EXPEDITED|MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED|MEMBARRIER_CMD_PRIVATE_EXPEDITED|MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED|MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE|MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE|MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ|MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ|0x200)")
    }

    @Test func cloneFlagsAndNamedArguments() {
        let all: UInt64 = 0xFFFF_FFFF & ~0xFF & ~0x800 | 17
        #expect(line("clone", [all, 0, 0, 0, 0], returns: -22) ==
            "clone(child_stack=NULL, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_PIDFD|CLONE_PTRACE|CLONE_VFORK|CLONE_PARENT|CLONE_THREAD|CLONE_NEWNS|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID|CLONE_UNTRACED|CLONE_CHILD_SETTID|CLONE_NEWCGROUP|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET|CLONE_IO|0x400000|SIGCHLD, parent_tid=NULL, tls=NULL, child_tidptr=NULL) = -1 EINVAL (Invalid argument)")
        let wide: UInt64 = 0xFFFF_FFFF_FFFF_FF00 & ~0x800 | 99
        #expect(line("clone", [wide, 0x1000, 0x2000, 0x3000, 0x4000], returns: -22) ==
            "clone(child_stack=0x1000, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_PIDFD|CLONE_PTRACE|CLONE_VFORK|CLONE_PARENT|CLONE_THREAD|CLONE_NEWNS|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID|CLONE_UNTRACED|CLONE_CHILD_SETTID|CLONE_NEWCGROUP|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET|CLONE_IO|0xffffffff00400000|99, parent_tid=0x2000, tls=0x4000, child_tidptr=0x3000) = -1 EINVAL (Invalid argument)")
        #expect(line("clone", [0x10000, 0x1000, 0x2000, 0x3000, 0x4000], returns: -22) ==
            "clone(child_stack=0x1000, flags=CLONE_THREAD) = -1 EINVAL (Invalid argument)")
        #expect(line("clone", [0x0120_0011, 0, 0, 0x7fe7_e172_9a10, 0], returns: 12227) ==
            "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7fe7e1729a10) = 12227")
        let args = Pack().u64(0x100 | 0x1000 | 0x4000).u64(0x7ffd_b527_ec6c).u64(0).u64(0).u64(17).u64(0).u64(0).u64(0)
            .u64(0).u64(0).u64(0).data
        #expect(unfinishedLine("clone3", [0x7ffd_0000, 88], [0: args]) ==
            "clone3({flags=CLONE_VM|CLONE_PIDFD|CLONE_VFORK, pidfd=0x7ffdb527ec6c, exit_signal=SIGCHLD, stack=NULL, stack_size=0} <unfinished ...>")
        #expect(line("unshare", [0x1], returns: -22) == "unshare(0x1 /* CLONE_??? */) = -1 EINVAL (Invalid argument)")
        #expect(line("unshare", [0], returns: 0) == "unshare(0) = 0")
        #expect(line("unshare", [0xFFFF_FF00], returns: -22) ==
            "unshare(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_NEWNS|CLONE_SYSVSEM|CLONE_NEWCGROUP|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET|0x81f8f000) = -1 EINVAL (Invalid argument)")
        #expect(line("unshare", [0x0002_0000 | 0x0400_0000 | 1], returns: -22) ==
            "unshare(CLONE_NEWNS|CLONE_NEWUTS|0x1) = -1 EINVAL (Invalid argument)")
        #expect(line("setns", [reg(-1), 0x0002_0000 | 0x2000_0000], returns: -9) ==
            "setns(-1, CLONE_NEWNS|CLONE_NEWPID) = -1 EBADF (Bad file descriptor)")
        #expect(line("setns", [3, 0x4000_0000], returns: -22) == "setns(3, CLONE_NEWNET) = -1 EINVAL (Invalid argument)")
    }

    @Test func waitStatuses() {
        let status: UInt64 = 0x7ffc_1d06_e18c
        #expect(line("wait4", [6931, status, 0, 0], [1: Pack().u32(0x500).data], returns: 6931) ==
            "wait4(6931, [{WIFEXITED(s) && WEXITSTATUS(s) == 5}], 0, NULL) = 6931")
        #expect(line("wait4", [6932, status, 2, 0], [1: Pack().u32(0x137F).data], returns: 6932) ==
            "wait4(6932, [{WIFSTOPPED(s) && WSTOPSIG(s) == SIGSTOP}], WSTOPPED, NULL) = 6932")
        #expect(line("wait4", [6932, status, 8, 0], [1: Pack().u32(0xFFFF).data], returns: 6932) ==
            "wait4(6932, [{WIFCONTINUED(s)}], WCONTINUED, NULL) = 6932")
        #expect(line("wait4", [12227, status, 0, 0], [1: Pack().u32(11).data], returns: 12227) ==
            "wait4(12227, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGSEGV}], 0, NULL) = 12227")
        #expect(line("wait4", [reg(-1), status, 0, 0], [1: Pack().u32(9).data], returns: 12228) ==
            "wait4(-1, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}], 0, NULL) = 12228")
        #expect(line("wait4", [reg(-1), status, 1 | 0x4000_0000, 0], [1: Pack().u32(0).data], returns: 0) ==
            "wait4(-1, 0x7ffc1d06e18c, WNOHANG|__WALL, NULL) = 0")
        #expect(line("wait4", [reg(-1), 0, 0xFFFF_FFFF, 0], returns: -22) ==
            "wait4(-1, NULL, WNOHANG|WEXITED|WSTOPPED|WCONTINUED|WNOWAIT|__WCLONE|__WALL|__WNOTHREAD|0x1efffff0, NULL) = -1 EINVAL (Invalid argument)")
        #expect(unfinishedLine("wait4", [6931, status, 0, 0]) == "wait4(6931,  <unfinished ...>")
        #expect(line("waitid", [0, 0, 0x7ffd_b527_ecd0, 1 | 4, 0], returns: -10) ==
            "waitid(P_ALL, 0, 0x7ffdb527ecd0, WNOHANG|WEXITED, NULL) = -1 ECHILD (No child processes)")
    }

    @Test func execAndExit() {
        let p = path
        let argv = strings(["/bin/true", "-l", "a string that is longer than thirty-two bytes", "\t"])
        #expect(SyscallFormatter.format(record("execve", [p, 0x7000, 0x7ffc_1d06_e190],
                                               [0: text("/bin/true"), 1: argv, 2: strings(["A=1", "B=2", "C=3"])], .noReturn)) ==
            "execve(\"/bin/true\", [\"/bin/true\", \"-l\", \"a string that is longer than thi\"..., \"\\t\"], 0x7ffc1d06e190 /* 3 vars */) = 0")
        #expect(line("execve", [p, 0x7000, 0], [0: text("/nonexist"), 1: argv], returns: -2) ==
            "execve(\"/nonexist\", [\"/bin/true\", \"-l\", \"a string that is longer than thi\"..., \"\\t\"], NULL) = -1 ENOENT (No such file or directory)")
        let xs = [String](repeating: "x", count: 39)
        let expectedArgv = "[" + [String](repeating: "\"x\"", count: 32).joined(separator: ", ") + ", ...]"
        #expect(line("execve", [p, 0x7000, 0x7ffd_3be7_0210], [0: text("/nonexist"), 1: strings(xs), 2: strings(xs)], returns: -2) ==
            "execve(\"/nonexist\", \(expectedArgv), 0x7ffd3be70210 /* 39 vars */) = -1 ENOENT (No such file or directory)")
        #expect(line("execve", [p, 0x7000, 0x7ffd_3be7_0208], [0: text("/nonexist"), 1: raw([]), 2: raw([])], returns: -2) ==
            "execve(\"/nonexist\", [], 0x7ffd3be70208 /* 0 vars */) = -1 ENOENT (No such file or directory)")
        #expect(line("execve", [p, 1, 1], [0: text("/nonexist"), 1: faulted], returns: -2) ==
            "execve(\"/nonexist\", 0x1, 0x1) = -1 ENOENT (No such file or directory)")
        #expect(unfinishedLine("execveat", [reg(-100), p, 0x7000, 0, 0], [1: text("/bin/true"), 2: strings(["/bin/echo"])]) ==
            "execveat(AT_FDCWD, \"/bin/true\", [\"/bin/echo\"], NULL, 0 <unfinished ...>")
        #expect(SyscallFormatter.format(record("exit_group", [3], [:], .noReturn)) == "exit_group(3) = ?")
        #expect(SyscallFormatter.format(record("exit", [7], [:], .noReturn)) == "exit(7) = ?")
        #expect(unfinishedLine("exit_group", [0x105]) == "exit_group(261 <unfinished ...>")
    }

    @Test func processControl() {
        let p = path
        #expect(line("prctl", [15, p], [1: text("myname")], returns: 0) == "prctl(PR_SET_NAME, \"myname\") = 0")
        #expect(line("prctl", [38, 1, 0, 0, 0], returns: 0) == "prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) = 0")
        #expect(line("prctl", [39, 0, 0, 0, 0], returns: 0) == "prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) = 0")
        #expect(line("prctl", [3, 0, 0, 0, 0], returns: 1) == "prctl(PR_GET_DUMPABLE) = 1 (SUID_DUMP_USER)")
        #expect(line("prctl", [4, 0, 0, 0, 0], returns: 0) == "prctl(PR_SET_DUMPABLE, SUID_DUMP_DISABLE) = 0")
        #expect(line("prctl", [1, 9, 0, 0, 0], returns: 0) == "prctl(PR_SET_PDEATHSIG, SIGKILL) = 0")
        #expect(line("prctl", [8, 1, 0, 0, 0], returns: 0) == "prctl(PR_SET_KEEPCAPS, 1) = 0")
        #expect(line("prctl", [7, 0, 0, 0, 0], returns: 1) == "prctl(PR_GET_KEEPCAPS) = 1")
        #expect(line("prctl", [23, 21, 0, 0, 0], returns: 1) == "prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN) = 1")
        #expect(line("prctl", [24, 13, 0, 0, 0], returns: 0) == "prctl(PR_CAPBSET_DROP, CAP_NET_RAW) = 0")
        #expect(line("prctl", [47, 2, 10, 0, 0], returns: -1) ==
            "prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) = -1 EPERM (Operation not permitted)")
        #expect(line("prctl", [47, 4, 0, 0, 0], returns: 0) == "prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) = 0")
        #expect(line("prctl", [36, 1, 0, 0, 0], returns: 0) == "prctl(PR_SET_CHILD_SUBREAPER, 1) = 0")
        #expect(line("prctl", [29, 50000, 0, 0, 0], returns: 0) == "prctl(PR_SET_TIMERSLACK, 50000) = 0")
        #expect(line("prctl", [0x99, 1, 2, 3, 4], returns: -22) == "prctl(0x99 /* PR_??? */, 0x1, 0x2, 0x3, 0x4) = -1 EINVAL (Invalid argument)")
        #expect(line("arch_prctl", [0x1003, 0x7ffc_0000], [1: Pack().u64(0x7fe7_e172_9740).data], returns: 0) ==
            "arch_prctl(ARCH_GET_FS, [0x7fe7e1729740]) = 0")
        #expect(line("arch_prctl", [0x1002, 0x7faa_c86c_e740], returns: 0) == "arch_prctl(ARCH_SET_FS, 0x7faac86ce740) = 0")
        #expect(line("arch_prctl", [0x3001, 0], returns: -22) == "arch_prctl(0x3001 /* ARCH_??? */, 0) = -1 EINVAL (Invalid argument)")
        #expect(line("set_tid_address", [0x7ffc_1d06_e5c8], returns: 12226) == "set_tid_address(0x7ffc1d06e5c8) = 12226")
        #expect(line("set_robust_list", [0x1234, 24], returns: 0) == "set_robust_list(0x1234, 24) = 0")
        #expect(line("rseq", [0x7faa_c86c_f060, 0x20, 0, 0x5305_3053], returns: 0) == "rseq(0x7faac86cf060, 0x20, 0, 0x53053053) = 0")
        #expect(line("prlimit64", [0, 3, 0, 0x7000], [3: Pack().u64(8192 * 1024).u64(UInt64.max).data], returns: 0) ==
            "prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}) = 0")
        #expect(line("prlimit64", [0, 3, 0x7000, 0], [2: Pack().u64(1024).u64(UInt64.max).data], returns: 0) ==
            "prlimit64(0, RLIMIT_STACK, {rlim_cur=1024, rlim_max=RLIM64_INFINITY}, NULL) = 0")
        #expect(line("getrlimit", [4, 0x7000], [1: Pack().u64(0).u64(UInt64.max).data], returns: 0) ==
            "getrlimit(RLIMIT_CORE, {rlim_cur=0, rlim_max=RLIM64_INFINITY}) = 0")
        #expect(line("personality", [0xFFFF_FFFF], returns: 0) == "personality(0xffffffff) = 0 (PER_LINUX)")
        #expect(line("sched_getscheduler", [0], returns: 0) == "sched_getscheduler(0) = 0 (SCHED_OTHER)")
        #expect(line("sched_getaffinity", [0, 128, 0x7000], [2: raw([3] + [UInt8](repeating: 0, count: 31))], returns: 32) ==
            "sched_getaffinity(0, 128, [0 1]) = 32")
        #expect(line("getresuid", [0x7000, 0x7004, 0x7008], [0: Pack().u32(0).data, 1: Pack().u32(0).data, 2: Pack().u32(0).data],
                     returns: 0) == "getresuid([0], [0], [0]) = 0")
        #expect(line("times", [0x7000], [0: Pack().zeros(32).data], returns: 1_718_188_211) ==
            "times({tms_utime=0, tms_stime=0, tms_cutime=0, tms_cstime=0}) = 1718188211")
        // A used clock tick gets strace's seconds comment: the oracle line must not depend on CPU ticks.
        #expect(line("times", [0x7000], [0: Pack().u64(1).u64(0).u64(150).u64(12345).data], returns: 7) ==
            "times({tms_utime=1 /* 0.01 s */, tms_stime=0, tms_cutime=150 /* 1.50 s */, tms_cstime=12345 /* 123.45 s */}) = 7")
        let uts = Pack().raw(Array("Linux".utf8)).zeros(60).raw(Array("vm".utf8)).zeros(63).data
        #expect(line("uname", [0x7000], [0: uts], returns: 0) == "uname({sysname=\"Linux\", nodename=\"vm\", ...}) = 0")
        #expect(line("getpid", [], returns: 11653) == "getpid() = 11653")
        #expect(line("pidfd_open", [4819, 0], returns: 15) == "pidfd_open(4819, 0) = 15")
        #expect(line("setpgid", [0, 0], returns: 0) == "setpgid(0, 0) = 0")
        #expect(line("getrandom", [0x7000, 16, 1],
                     [0: raw([0x26, 0x80, 0x76, 0x26, 0x34, 0x12, 0x47, 0xAE, 0x91, 0x6A, 0x59, 0xF8, 0x41, 0x64, 0x2D, 0xEA])], returns: 16) ==
            "getrandom(\"\\x26\\x80\\x76\\x26\\x34\\x12\\x47\\xae\\x91\\x6a\\x59\\xf8\\x41\\x64\\x2d\\xea\", 16, GRND_NONBLOCK) = 16")
        #expect(line("getrandom", [0, 0, 0xFFFF_FFFF], returns: -22) ==
            "getrandom(NULL, 0, GRND_NONBLOCK|GRND_RANDOM|GRND_INSECURE|0xfffffff8) = -1 EINVAL (Invalid argument)")
    }

    @Test func signals() {
        #expect(line("kill", [1_000_000, 65], returns: -3) == "kill(1000000, 65) = -1 ESRCH (No such process)")
        #expect(line("kill", [1_000_000, 32], returns: -3) == "kill(1000000, SIGRTMIN) = -1 ESRCH (No such process)")
        #expect(line("kill", [1_000_000, 34], returns: -3) == "kill(1000000, SIGRT_2) = -1 ESRCH (No such process)")
        #expect(line("kill", [1_000_000, 64], returns: -3) == "kill(1000000, SIGRT_32) = -1 ESRCH (No such process)")
        #expect(line("kill", [1_000_000, reg(-1)], returns: -3) == "kill(1000000, -1) = -1 ESRCH (No such process)")
        #expect(line("kill", [999_999, 0], returns: -3) == "kill(999999, 0) = -1 ESRCH (No such process)")
        #expect(line("tgkill", [999_999, 999_999, 36], returns: -3) == "tgkill(999999, 999999, SIGRT_4) = -1 ESRCH (No such process)")
        #expect(line("tkill", [999_999, 12], returns: -3) == "tkill(999999, SIGUSR2) = -1 ESRCH (No such process)")
        let ignore = sigaction(handler: 1, flags: 0x0400_0000 | 0x1000_0000 | 4, restorer: 0x1234, mask: (1 << 1) | (1 << 14))
        let none = sigaction(handler: 0, flags: 0, restorer: 0, mask: 0)
        #expect(line("rt_sigaction", [2, 0x7000, 0x7100, 8], [1: ignore, 2: none], returns: 0) ==
            "rt_sigaction(SIGINT, {sa_handler=SIG_IGN, sa_mask=[INT TERM], sa_flags=SA_RESTORER|SA_RESTART|SA_SIGINFO, sa_restorer=0x1234}, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, 8) = 0")
        let allBut = ~((UInt64(1) << 8) | (UInt64(1) << 18))
        let handler = sigaction(handler: 0x401000, flags: 0x0400_0000 | 0x0800_0000 | 0x4000_0000 | 0x8000_0000 | 0x1000_0000,
                                restorer: 0x1234, mask: allBut)
        #expect(line("rt_sigaction", [10, 0x7000, 0, 8], [1: handler], returns: 0) ==
            "rt_sigaction(SIGUSR1, {sa_handler=0x401000, sa_mask=~[KILL STOP], sa_flags=SA_RESTORER|SA_ONSTACK|SA_RESTART|SA_NODEFER|SA_RESETHAND, sa_restorer=0x1234}, NULL, 8) = 0")
        #expect(line("rt_sigaction", [100, 0x7000, 0, 8], [1: sigaction(handler: 1, flags: 0xFFFF_FFFF, restorer: 0, mask: 0)], returns: -22) ==
            "rt_sigaction(100, {sa_handler=SIG_IGN, sa_mask=[], sa_flags=SA_RESTORER|SA_ONSTACK|SA_RESTART|SA_INTERRUPT|SA_NODEFER|SA_RESETHAND|SA_SIGINFO|SA_NOCLDSTOP|SA_NOCLDWAIT|0x3fffff8, sa_restorer=NULL}, NULL, 8) = -1 EINVAL (Invalid argument)")
        #expect(line("rt_sigaction", [11, 0, 0, 8], returns: 0) == "rt_sigaction(SIGSEGV, NULL, NULL, 8) = 0")
        #expect(line("rt_sigprocmask", [0, 0x7000, 0x7100, 8], [1: sigset([17, 34, 64]), 2: sigset([])], returns: 0) ==
            "rt_sigprocmask(SIG_BLOCK, [CHLD RT_2 RT_32], [], 8) = 0")
        #expect(line("rt_sigprocmask", [2, 0x7000, 0, 8], [1: Pack().u64(UInt64.max).data], returns: 0) ==
            "rt_sigprocmask(SIG_SETMASK, ~[], NULL, 8) = 0")
        #expect(line("rt_sigprocmask", [1, 0x7000, 0x7100, 8], [1: sigset([]), 2: Pack().u64(allBut).data], returns: 0) ==
            "rt_sigprocmask(SIG_UNBLOCK, [], ~[KILL STOP], 8) = 0")
        #expect(line("rt_sigprocmask", [2, 0x7000, 0, 8], [1: Pack().u64(~UInt64(1)).data], returns: 0) ==
            "rt_sigprocmask(SIG_SETMASK, ~[HUP], NULL, 8) = 0")
        let disabled = Pack().u64(0).u32(2).u32(0).u64(0).data
        #expect(line("sigaltstack", [0, 0x7000], [1: disabled], returns: 0) ==
            "sigaltstack(NULL, {ss_sp=NULL, ss_flags=SS_DISABLE, ss_size=0}) = 0")
        #expect(line("sigaltstack", [0x7000, 0], [0: disabled], returns: 0) ==
            "sigaltstack({ss_sp=NULL, ss_flags=SS_DISABLE, ss_size=0}, NULL) = 0")
    }

    @Test func timeAndTimers() {
        let p = path
        #expect(line("nanosleep", [0x7000, 0], [0: timespec(0, 1000)], returns: 0) == "nanosleep({tv_sec=0, tv_nsec=1000}, NULL) = 0")
        #expect(line("nanosleep", [0x7000, 0x7fff_567f_9010], [0: timespec(5, 0), 1: timespec(0, 0)], returns: 0) ==
            "nanosleep({tv_sec=5, tv_nsec=0}, 0x7fff567f9010) = 0")
        #expect(line("nanosleep", [0x7000, 0x7100], [0: timespec(5, 0), 1: timespec(4, 799_667_322)], returns: -516) ==
            "nanosleep({tv_sec=5, tv_nsec=0}, {tv_sec=4, tv_nsec=799667322}) = ? ERESTART_RESTARTBLOCK (Interrupted by signal)")
        #expect(unfinishedLine("nanosleep", [0x7000, 0], [0: timespec(0, 200_000_000)]) ==
            "nanosleep({tv_sec=0, tv_nsec=200000000},  <unfinished ...>")
        #expect(line("clock_nanosleep", [0, 1, 0x7000, 0], [2: timespec(0, 1000)], returns: 0) ==
            "clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, {tv_sec=0, tv_nsec=1000}, NULL) = 0")
        #expect(line("clock_nanosleep", [0, 0xFFFF_FFFF, 0, 0], returns: -14) ==
            "clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME|0xfffffffe, NULL, NULL) = -1 EFAULT (Bad address)")
        #expect(line("clock_gettime", [7, 0x7000], [1: timespec(1625, 869_882_897)], returns: 0) ==
            "clock_gettime(CLOCK_BOOTTIME, {tv_sec=1625, tv_nsec=869882897}) = 0")
        #expect(line("gettimeofday", [0x7000, 0], [0: timespec(1_795_321_890, 528_937)], returns: 0) ==
            "gettimeofday({tv_sec=1795321890, tv_usec=528937}, NULL) = 0")
        #expect(line("time", [0], returns: 1_795_321_890) == "time(NULL) = 1795321890 (2026-11-22T04:31:30+0000)")
        #expect(line("time", [0x7000], [0: Pack().u64(1_795_322_486).data], returns: 1_795_322_486) ==
            "time([1795322486 /* 2026-11-22T04:41:26+0000 */]) = 1795322486 (2026-11-22T04:41:26+0000)")
        let times = Pack().i64(1).i64(0).i64(1_700_000_000).i64(5).data
        #expect(line("utimensat", [reg(-100), p, 0x7000, 0], [1: text("/nonexist"), 2: times], returns: -2) ==
            "utimensat(AT_FDCWD, \"/nonexist\", [{tv_sec=1, tv_nsec=0} /* 1970-01-01T00:00:01+0000 */, {tv_sec=1700000000, tv_nsec=5} /* 2023-11-14T22:13:20.000000005+0000 */], 0) = -1 ENOENT (No such file or directory)")
        let special = Pack().i64(0).i64((1 << 30) - 1).i64(0).i64((1 << 30) - 2).data
        #expect(line("utimensat", [reg(-100), p, 0x7000, 0], [1: text("/tmp/sx/p3m"), 2: special], returns: 0) ==
            "utimensat(AT_FDCWD, \"/tmp/sx/p3m\", [UTIME_NOW, UTIME_OMIT], 0) = 0")
        let interval = Pack().i64(1).i64(0).i64(0).i64(500).data
        #expect(line("timerfd_settime", [12, 0, 0x7000, 0], [2: interval], returns: 0) ==
            "timerfd_settime(12, 0, {it_interval={tv_sec=1, tv_nsec=0}, it_value={tv_sec=0, tv_nsec=500}}, NULL) = 0")
        #expect(line("timerfd_create", [0, 0xFFFF_FFFF], returns: -22) ==
            "timerfd_create(CLOCK_REALTIME, TFD_TIMER_ABSTIME|TFD_TIMER_CANCEL_ON_SET|TFD_CLOEXEC|TFD_NONBLOCK|0xfff7f7fc) = -1 EINVAL (Invalid argument)")
        #expect(line("timerfd_create", [1, 0o2004000], returns: 12) == "timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC|TFD_NONBLOCK) = 12")
        #expect(line("alarm", [0], returns: 0) == "alarm(0) = 0")
    }

    @Test func futexOperations() {
        let word: UInt64 = 0x7ffc_1d06_e5ac
        #expect(line("futex", [word, 129, 1], returns: 0) == "futex(0x7ffc1d06e5ac, FUTEX_WAKE_PRIVATE, 1) = 0")
        #expect(line("futex", [word, 128, 0, 0x7000], [3: timespec(0, 100)], returns: -110) ==
            "futex(0x7ffc1d06e5ac, FUTEX_WAIT_PRIVATE, 0, {tv_sec=0, tv_nsec=100}) = -1 ETIMEDOUT (Connection timed out)")
        #expect(line("futex", [word, 9 | 256, 1, 0, 0, 0xFFFF_FFFF], returns: -11) ==
            "futex(0x7ffc1d06e5ac, FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME, 1, NULL, FUTEX_BITSET_MATCH_ANY) = -1 EAGAIN (Resource temporarily unavailable)")
        #expect(unfinishedLine("futex", [word, 128, 2, 0]) == "futex(0x7ffc1d06e5ac, FUTEX_WAIT_PRIVATE, 2, NULL <unfinished ...>")
    }
}
