/// The hand-written formatting plans, by syscall name: the argument kinds strace uses for each of the
/// commonly used syscalls. Everything else falls back to `Schema.generic`, derived from the kernel's
/// C types. Argument indices in the cases (`lengthArgument: 2`) are 0-based.
extension Schema {
    static func make(name: String, kernelArguments: [SyscallArgument]?) -> Schema {
        if var schema = dedicated(name) {
            schema.dedicated = !partial.contains(name)
            return schema
        }
        var schema = generic(kernelArguments)
        schema.dedicated = false
        return schema
    }

    /// Syscalls with a dedicated plan that still differs from strace for some arguments (pselect6's
    /// signal mask, a msghdr's control messages and the namelen it passed in, mmsghdr arrays, rusage,
    /// a directory's entry count, siginfo: what sonde does not capture).
    static let partial: Set<String> = [
        "pselect6", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "getrusage", "waitid",
        "getdents", "getdents64", "rt_sigtimedwait", "capget", "capset", "seccomp", "restart_syscall",
    ]

    /// A plan from the kernel's C types: integers in decimal, pointers in hex, `const char *` as paths.
    static func generic(_ arguments: [SyscallArgument]?) -> Schema {
        guard let arguments else {
            return Schema([.hex, .hex, .hex, .hex, .hex, .hex])
        }
        return Schema(arguments.map { argument in
            let type = argument.type
            if type == "const char *" { return .path }
            if type.hasSuffix("*") || type.hasSuffix("_t *") { return .pointer }
            switch type {
            case "int", "const int", "pid_t", "uid_t", "gid_t", "key_t", "mqd_t", "timer_t", "clockid_t",
                 "const clockid_t", "key_serial_t", "rwf_t":
                return .int
            case "unsigned int", "unsigned", "u32", "const __u32", "qid_t", "__u32":
                return .uint
            case "long", "loff_t", "off_t", "__s32":
                return .long
            case "umode_t":
                return .mode
            case "unsigned long", "size_t", "aio_context_t", "u64", "__u64":
                return .ulong
            case "cap_user_header_t", "cap_user_data_t":
                return .pointer
            default:
                return .hex
            }
        })
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    static func dedicated(_ name: String) -> Schema? {
        switch name {
        // Files: data
        case "read": Schema([.fd, .outputBuffer(lengthArgument: 2), .ulong])
        case "write": Schema([.fd, .inputBuffer(lengthArgument: 2), .ulong])
        case "pread64": Schema([.fd, .outputBuffer(lengthArgument: 2), .ulong, .long])
        case "pwrite64": Schema([.fd, .inputBuffer(lengthArgument: 2), .ulong, .long])
        case "readv": Schema([.fd, .outputIovec(countArgument: 2), .int])
        case "writev": Schema([.fd, .inputIovec(countArgument: 2), .int])
        // pos_l and pos_h: strace shows the offset once (x86_64 passes it whole in pos_l).
        case "preadv": Schema([.fd, .outputIovec(countArgument: 2), .int, .long, .omitted])
        case "pwritev": Schema([.fd, .inputIovec(countArgument: 2), .int, .long, .omitted])
        case "preadv2": Schema([.fd, .outputIovec(countArgument: 2), .int, .long, .omitted, .hex])
        case "pwritev2": Schema([.fd, .inputIovec(countArgument: 2), .int, .long, .omitted, .hex])
        case "sendfile": Schema([.fd, .fd, .sendfileOffset, .ulong])
        case "copy_file_range": Schema([.fd, .offset, .fd, .offset, .ulong, .uint])
        case "splice": Schema([.fd, .offset, .fd, .offset, .ulong, .flags(Names.splice)])
        case "tee": Schema([.fd, .fd, .ulong, .flags(Names.splice)])
        case "readahead": Schema([.fd, .long, .ulong])
        case "lseek": Schema([.fd, .long, .value(Names.whence)])
        case "getdents", "getdents64": Schema([.fd, .pointer, .uint])
        case "fsync", "fdatasync", "syncfs", "fchdir", "close", "dup": Schema([.fd])
        case "sync", "sched_yield", "pause", "getpid", "getppid", "gettid", "getuid", "geteuid", "getgid",
             "getegid", "getpgrp", "setsid", "fork", "vfork", "munlockall", "vhangup", "inotify_init":
            Schema([])
        case "rt_sigreturn": Schema([.restoredSigmask])
        case "restart_syscall": Schema([], special: .restartSyscall)

        // Files: opening and naming
        case "open": Schema([.path, .openFlags, .openMode(flagsArgument: 1)])
        case "openat": Schema([.dirfd, .path, .openFlags, .openMode(flagsArgument: 2)])
        case "openat2": Schema([.dirfd, .path, .openHow, .ulong])
        case "creat": Schema([.path, .mode])
        case "close_range": Schema([.uint, .uint, .flags(Names.closeRange)])
        case "dup2": Schema([.fd, .fd])
        case "dup3": Schema([.fd, .fd, .openFlagsNoAccess])
        case "pipe": Schema([.intPair])
        case "pipe2": Schema([.intPair, .openFlagsNoAccess])
        case "stat", "lstat": Schema([.path, .stat])
        case "fstat": Schema([.fd, .stat])
        case "newfstatat": Schema([.dirfd, .path, .stat, .atFlags])
        case "statx": Schema([.dirfd, .path, .statxFlags, .flags(Names.statxMask), .statx])
        case "statfs": Schema([.path, .statfs])
        case "fstatfs": Schema([.fd, .statfs])
        case "access": Schema([.path, .flags(Names.accessModes)])
        case "faccessat": Schema([.dirfd, .path, .flags(Names.accessModes)])
        case "faccessat2": Schema([.dirfd, .path, .flags(Names.accessModes), .flags(Names.faccessatFlags)])
        case "getcwd": Schema([.outputPath(lengthArgument: 1), .ulong])
        case "chdir", "chroot", "rmdir", "unlink", "acct", "swapoff": Schema([.path])
        case "rename", "link", "symlink", "pivot_root": Schema([.path, .path])
        case "renameat": Schema([.dirfd, .path, .dirfd, .path])
        case "renameat2": Schema([.dirfd, .path, .dirfd, .path, .flags(Names.renameFlags)])
        case "linkat": Schema([.dirfd, .path, .dirfd, .path, .atFlags])
        case "symlinkat": Schema([.path, .dirfd, .path])
        case "unlinkat": Schema([.dirfd, .path, .atFlags])
        case "mkdir": Schema([.path, .mode])
        case "mkdirat": Schema([.dirfd, .path, .mode])
        case "mknod": Schema([.path, .mknodMode, .device(modeArgument: 1)])
        case "mknodat": Schema([.dirfd, .path, .mknodMode, .device(modeArgument: 2)])
        case "readlink": Schema([.path, .outputBuffer(lengthArgument: 2), .int])
        case "readlinkat": Schema([.dirfd, .path, .outputBuffer(lengthArgument: 3), .int])
        case "chmod": Schema([.path, .mode])
        case "fchmod": Schema([.fd, .mode])
        case "fchmodat": Schema([.dirfd, .path, .mode])
        case "chown", "lchown": Schema([.path, .int, .int])
        case "fchown": Schema([.fd, .int, .int])
        case "fchownat": Schema([.dirfd, .path, .int, .int, .atFlags])
        case "umask": Schema([.umask], ret: .octal)
        case "truncate": Schema([.path, .long])
        case "ftruncate": Schema([.fd, .long])
        case "flock": Schema([.fd, .flags(Names.flock)])
        case "fallocate": Schema([.fd, .flags(Names.fallocate), .long, .long])
        case "fadvise64": Schema([.fd, .long, .long, .value(Names.fadvise)])
        case "utimensat": Schema([.dirfd, .path, .utimens, .atFlags])
        case "fcntl": Schema([.fd, .hex, .flock], ret: .fcntl, special: .fcntl)
        case "ioctl": Schema([.fd, .ioctlRequest, .ioctlArgument], special: .ioctl)
        case "setxattr", "lsetxattr":
            Schema([.path, .string, .inputBuffer(lengthArgument: 3), .ulong, .flags(Names.xattrFlags)])
        case "fsetxattr": Schema([.fd, .string, .inputBuffer(lengthArgument: 3), .ulong, .flags(Names.xattrFlags)])
        case "getxattr", "lgetxattr": Schema([.path, .string, .outputBuffer(lengthArgument: 3), .ulong])
        case "fgetxattr": Schema([.fd, .string, .outputBuffer(lengthArgument: 3), .ulong])
        case "listxattr", "llistxattr": Schema([.path, .outputBuffer(lengthArgument: 2), .ulong])
        case "flistxattr": Schema([.fd, .outputBuffer(lengthArgument: 2), .ulong])
        case "removexattr", "lremovexattr": Schema([.path, .string])
        case "fremovexattr": Schema([.fd, .string])
        case "inotify_init1": Schema([.flags(Names.inotifyInit)])
        case "inotify_add_watch": Schema([.fd, .path, .flags(Names.inotifyMask)])
        case "inotify_rm_watch": Schema([.fd, .int])
        case "memfd_create": Schema([.string, .memfdFlags])
        case "mount": Schema([.path, .path, .string, .flags(Names.mountFlags), .string], special: .mount)
        case "umount2": Schema([.path, .flags(Names.umountFlags)])

        // Memory
        case "mmap": Schema([.pointer, .ulong, .flags(Names.prot), .mmapFlags, .fd, .hex], ret: .hex)
        case "mprotect": Schema([.pointer, .ulong, .flags(Names.prot)])
        case "munmap", "mlock", "munlock": Schema([.pointer, .ulong])
        case "brk": Schema([.pointer], ret: .hex)
        case "mremap":
            Schema([.pointer, .ulong, .ulong, .flags(Names.mremapFlags), .remapAddress(flagsArgument: 3)], ret: .hex)
        case "msync": Schema([.pointer, .ulong, .flags(Names.msyncFlags)])
        case "madvise": Schema([.pointer, .ulong, .value(Names.madvise)])
        case "mincore": Schema([.pointer, .ulong, .pageVector(lengthArgument: 1)])
        case "mlockall": Schema([.flags(Names.mlockall)])
        case "membarrier": Schema([.value(Names.membarrierCommand), .int, .omitted], ret: .membarrier)

        // Processes
        case "execve": Schema([.path, .argv, .envp], returnBehavior: .neverOnSuccess)
        case "execveat": Schema([.dirfd, .path, .argv, .envp, .atFlags], returnBehavior: .neverOnSuccess)
        case "exit", "exit_group": Schema([.int], returnBehavior: .never)
        case "clone": Schema([.hex, .pointer, .pointer, .pointer, .hex], special: .clone)
        case "clone3": Schema([.cloneArgs, .ulong], special: .clone3)
        case "wait4": Schema([.int, .waitStatus, .flags(Names.waitOptions), .pointer])
        case "waitid": Schema([.value(Names.waitIdTypes), .int, .pointer, .flags(Names.waitOptions), .pointer])
        case "kill", "tkill": Schema([.int, .signal])
        case "tgkill": Schema([.int, .int, .signal])
        case "setuid", "setgid", "setfsuid", "setfsgid", "getpgid", "getsid": Schema([.int])
        case "setreuid", "setregid", "setpgid": Schema([.int, .int])
        case "setresuid", "setresgid": Schema([.int, .int, .int])
        case "getresuid", "getresgid": Schema([.outputInt, .outputInt, .outputInt])
        case "getgroups": Schema([.int, .outputGidList(countArgument: 0)])
        case "setgroups": Schema([.int, .gidList(countArgument: 0)])
        case "prctl": Schema([.value(Names.prctlOptions), .prctlArgument, .ulong, .ulong, .ulong], ret: .prctl, special: .prctl)
        case "arch_prctl": Schema([.value(Names.archPrctl), .outputLong], special: .archPrctl)
        case "set_tid_address": Schema([.pointer])
        case "set_robust_list": Schema([.pointer, .ulong])
        case "get_robust_list": Schema([.int, .pointer, .pointer])
        case "rseq": Schema([.pointer, .hex32, .int, .hex32])
        case "prlimit64": Schema([.int, .value(Names.rlimits), .rlimit, .outputRlimit])
        case "getrlimit": Schema([.value(Names.rlimits), .outputRlimit])
        case "setrlimit": Schema([.value(Names.rlimits), .rlimit])
        case "getrusage": Schema([.value(Names.rusageWho), .pointer])
        case "getpriority": Schema([.value(Names.priorityWhich), .int])
        case "setpriority": Schema([.value(Names.priorityWhich), .int, .int])
        case "sched_getaffinity": Schema([.int, .uint, .outputCpuSet])
        case "sched_setaffinity": Schema([.int, .uint, .cpuSet(sizeArgument: 1)])
        case "sched_getscheduler": Schema([.int], ret: .schedPolicy)
        case "sched_setscheduler": Schema([.int, .value(Names.schedPolicies), .schedParam])
        case "sched_getparam": Schema([.int, .outputSchedParam])
        case "sched_setparam": Schema([.int, .schedParam])
        case "sched_get_priority_max", "sched_get_priority_min": Schema([.value(Names.schedPolicies)])
        case "unshare": Schema([.cloneFlags])
        case "setns": Schema([.fd, .cloneFlags])
        case "personality": Schema([.personality], ret: .personality)
        case "uname": Schema([.utsname])
        case "sysinfo": Schema([.sysinfo])
        case "times": Schema([.tms], ret: .unsigned)
        case "sethostname", "setdomainname": Schema([.inputBuffer(lengthArgument: 1), .int])
        case "getrandom": Schema([.outputHexBuffer(lengthArgument: 1), .ulong, .flags(Names.randomFlags)])
        case "pidfd_open": Schema([.int, .uint])
        case "pidfd_send_signal": Schema([.fd, .signal, .pointer, .uint])
        case "pidfd_getfd": Schema([.fd, .fd, .uint])
        case "capget", "capset": Schema([.pointer, .pointer])
        case "seccomp": Schema([.value(Names.seccompOps), .flags(Names.seccompFlags), .pointer])

        // Signals
        case "rt_sigaction": Schema([.signal, .sigaction, .outputSigaction, .ulong])
        case "rt_sigprocmask":
            Schema([.value(Names.sigprocmaskHow), .sigset(sizeArgument: 3), .outputSigset(sizeArgument: 3), .ulong])
        case "rt_sigpending": Schema([.outputSigset(sizeArgument: 1), .ulong])
        case "rt_sigsuspend": Schema([.sigset(sizeArgument: 1), .ulong])
        case "rt_sigtimedwait": Schema([.sigset(sizeArgument: 3), .pointer, .timespec, .ulong])
        case "sigaltstack": Schema([.stack, .outputStack])
        case "signalfd": Schema([.fd, .sigset(sizeArgument: 2), .ulong])
        case "signalfd4": Schema([.fd, .sigset(sizeArgument: 2), .ulong, .flags(Names.signalfdFlags)])
        case "alarm": Schema([.uint])

        // Time
        case "nanosleep": Schema([.timespec, .remainingTimespec])
        case "clock_nanosleep": Schema([.value(Names.clocks), .flags(Names.timerFlags), .timespec, .remainingTimespec])
        case "clock_gettime", "clock_getres": Schema([.value(Names.clocks), .outputTimespec])
        case "clock_settime": Schema([.value(Names.clocks), .timespec])
        case "gettimeofday": Schema([.outputTimeval, .pointer])
        case "settimeofday": Schema([.timeval, .pointer])
        case "time": Schema([.outputTime], ret: .time)
        case "getitimer": Schema([.value(Names.itimers), .outputItimerval])
        case "setitimer": Schema([.value(Names.itimers), .itimerval, .outputItimerval])
        case "timerfd_create": Schema([.value(Names.clocks), .flags(Names.timerfdFlags)])
        case "timerfd_settime": Schema([.fd, .flags(Names.timerfdFlags), .itimerspec, .outputItimerspec])
        case "timerfd_gettime": Schema([.fd, .outputItimerspec])

        // Polling and events
        case "poll": Schema([.pollFds, .uint, .int], ret: .poll(timeoutArgument: nil))
        case "ppoll": Schema([.pollFds, .uint, .timeoutTimespec, .sigset(sizeArgument: 4), .ulong], ret: .poll(timeoutArgument: 2))
        case "select": Schema([.int, .fdSet(countArgument: 0), .fdSet(countArgument: 0), .fdSet(countArgument: 0), .timeoutTimeval],
                              ret: .select(timeoutArgument: 4, microseconds: true))
        case "pselect6": Schema([.int, .fdSet(countArgument: 0), .fdSet(countArgument: 0), .fdSet(countArgument: 0),
                                 .timeoutTimespec, .pointer], ret: .select(timeoutArgument: 4, microseconds: false))
        case "epoll_create": Schema([.int])
        case "epoll_create1": Schema([.flags(Names.epollCreate)])
        case "epoll_ctl": Schema([.fd, .value(Names.epollOps), .fd, .epollEvent])
        case "epoll_wait": Schema([.fd, .epollEvents, .int, .int])
        case "epoll_pwait": Schema([.fd, .epollEvents, .int, .int, .sigset(sizeArgument: 5), .ulong])
        case "eventfd": Schema([.uint])
        case "eventfd2": Schema([.uint, .flags(Names.eventfdFlags)])
        case "futex": Schema([.pointer, .hex, .uint, .timespec, .pointer, .uint], special: .futex)

        // Sockets
        case "socket": Schema([.value(Names.families), .socketType, .socketProtocol(familyArgument: 0)])
        case "socketpair":
            Schema([.value(Names.families), .socketType, .socketProtocol(familyArgument: 0), .intPair])
        case "connect", "bind": Schema([.fd, .inputSockaddr(lengthArgument: 2), .int])
        case "listen": Schema([.fd, .int])
        case "accept", "getsockname", "getpeername":
            Schema([.fd, .outputSockaddr(lengthPointerArgument: 2), .socklenInOut(sockaddrArgument: 1)])
        case "accept4":
            Schema([.fd, .outputSockaddr(lengthPointerArgument: 2), .socklenInOut(sockaddrArgument: 1),
                    .flags(Names.socketFlags)])
        case "sendto":
            Schema([.fd, .inputBuffer(lengthArgument: 2), .ulong, .flags(Names.messageFlags),
                    .inputSockaddr(lengthArgument: 5), .int])
        case "recvfrom":
            Schema([.fd, .outputBuffer(lengthArgument: 2), .ulong, .flags(Names.messageFlags),
                    .outputSockaddr(lengthPointerArgument: 5), .socklenInOut(sockaddrArgument: 4)])
        case "sendmsg": Schema([.fd, .inputMessage, .flags(Names.messageFlags)])
        case "recvmsg": Schema([.fd, .outputMessage, .flags(Names.messageFlags)])
        case "sendmmsg": Schema([.fd, .pointer, .uint, .flags(Names.messageFlags)])
        case "recvmmsg": Schema([.fd, .pointer, .uint, .flags(Names.messageFlags), .pointer])
        case "shutdown": Schema([.fd, .value(Names.shutdown)])
        case "setsockopt":
            Schema([.fd, .value(Names.socketLevels), .socketOption(levelArgument: 1),
                    .socketOptionValue(lengthArgument: 4), .int])
        case "getsockopt":
            Schema([.fd, .value(Names.socketLevels), .socketOption(levelArgument: 1), .outputSocketOptionValue,
                    .socketOptionLength])
        default: nil
        }
    }
}
