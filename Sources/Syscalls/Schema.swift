/// How one argument is printed (and so what the recorder captures for it).
enum Arg: Sendable {
    // Registers only.
    case int            // C int: the low 32 bits, signed
    case uint           // unsigned int: the low 32 bits, unsigned
    case long           // long, off_t, loff_t: signed 64 bits
    case ulong          // size_t, unsigned long: unsigned 64 bits
    case hex            // %#lx
    case hex32          // %#x of the low 32 bits
    case pointer        // NULL or 0x...
    case fd             // a file descriptor (int)
    case dirfd          // AT_FDCWD or a file descriptor
    case mode           // permission bits, %#03o
    case umask          // umask's argument (%#03o)
    case signal         // SIGTERM, SIGRTMIN, SIGRT_2, or the number
    case flags(FlagSet)
    case value(ValueNames)
    case openFlags      // O_RDONLY|O_CLOEXEC
    case openFlagsNoAccess // pipe2, dup3, signalfd4 (O_CLOEXEC alone)
    case openMode(flagsArgument: Int) // printed only with O_CREAT or O_TMPFILE
    case atFlags
    case statxFlags
    case mmapFlags
    case cloneFlags     // unshare, setns: the CLONE_* flags they accept
    case memfdFlags     // MFD_* and the huge page size
    case socketType
    case socketProtocol(familyArgument: Int)
    case socketOption(levelArgument: Int)
    case mknodMode
    case device(modeArgument: Int)  // mknod's dev, printed only for S_IFCHR/S_IFBLK
    case remapAddress(flagsArgument: Int) // mremap's new_address, only with MREMAP_FIXED
    case ioctlRequest
    case personality
    case omitted        // an argument strace 6.1 does not print (membarrier's cpu_id)

    // Memory the recorder copies.
    case path           // NUL-terminated, printed in full (strace's printpath)
    case string         // NUL-terminated, limited to the string limit
    case inputBuffer(lengthArgument: Int)
    case outputBuffer(lengthArgument: Int)
    case outputHexBuffer(lengthArgument: Int) // getrandom: \x escapes for every byte
    case outputPath(lengthArgument: Int)      // getcwd: the kernel's NUL-terminated path
    case argv
    case envp
    case inputSockaddr(lengthArgument: Int)
    case outputSockaddr(lengthPointerArgument: Int)
    case socklenInOut(sockaddrArgument: Int)  // [16], [128 => 16]
    case outputInt                             // [0]
    case outputLong                            // [0x7f...] (arch_prctl ARCH_GET_FS)
    case socketOptionValue(lengthArgument: Int)
    case outputSocketOptionValue
    case socketOptionLength                    // getsockopt's [4]
    case intPair                               // pipe, socketpair: [3, 4]
    case waitStatus
    case timespec
    case outputTimespec
    case remainingTimespec                     // nanosleep's rem: a pointer unless interrupted
    case timeval
    case outputTimeval
    case itimerspec
    case outputItimerspec
    case itimerval
    case outputItimerval
    case utimens
    case stat
    case statx
    case rlimit
    case outputRlimit
    case sigaction
    case outputSigaction
    case sigset(sizeArgument: Int)
    case outputSigset(sizeArgument: Int)
    case stack
    case outputStack
    case openHow
    case epollEvent
    case epollEvents
    case pollFds
    case utsname
    case tms
    case sysinfo                               // struct sysinfo, filled by the kernel
    case statfs                                // struct statfs, filled by the kernel
    case outputTime                            // time(2)'s time_t *
    case cpuSet(sizeArgument: Int)             // [0 1]
    case outputCpuSet
    case schedParam
    case outputSchedParam
    case flock                                 // struct flock (fcntl)
    case sendfileOffset                        // sendfile's offset: [0] => [20]
    case offset                                // splice's and copy_file_range's loff_t *: [0]
    case cloneArgs                             // struct clone_args (clone3)
    case ioctlArgument                         // ioctl's third argument: read at entry and exit (FIONBIO in, FIONREAD out)
    case prctlArgument                         // prctl's second: a name in (PR_SET_NAME) or out (PR_GET_NAME)
    case inputIovec(countArgument: Int)        // writev: [{iov_base="...", iov_len=5}, ...]
    case outputIovec(countArgument: Int)       // readv: the same, filled by the kernel
    case inputMessage                          // sendmsg: {msg_name=..., msg_iov=[...], ...}
    case outputMessage                         // recvmsg
    case fdSet(countArgument: Int)             // select: [3 4]
    case timeoutTimeval                        // select's timeout: the time left comes back with the result
    case timeoutTimespec                       // pselect6's, ppoll's
    case gidList(countArgument: Int)           // setgroups: [1, 2, 3]
    case outputGidList(countArgument: Int)     // getgroups: as many as the call returned
    case pageVector(lengthArgument: Int)       // mincore: [1, 0, 0], a byte per page
    case restoredSigmask                       // rt_sigreturn: {mask=[USR2]}, from the signal frame

    /// What the recorder copies for this argument.
    var capture: ArgumentCapture {
        switch self {
        case .path, .string: .string
        case .argv: .stringArray
        // envp stays a register: the recorder walks one string array per call (argv), and strace
        // only counts the variables.
        case .inputBuffer(let n): .inputBuffer(lengthArgument: n)
        case .outputBuffer(let n), .outputHexBuffer(let n), .outputPath(let n): .outputBuffer(lengthArgument: n)
        case .inputSockaddr(let n): .inputSockaddr(lengthArgument: n)
        case .outputSockaddr(let n): .outputSockaddr(lengthPointerArgument: n)
        case .socklenInOut, .socketOptionLength: .inputStruct(size: 4)
        case .outputInt, .waitStatus: .outputStruct(size: 4)
        case .outputSocketOptionValue: .outputStruct(size: 8) // an int, or struct linger
        case .outputLong, .outputTime: .outputStruct(size: 8)
        case .socketOptionValue(let n): .inputBuffer(lengthArgument: n)
        case .intPair: .outputStruct(size: 8)
        case .timespec, .timeval: .inputStruct(size: 16)
        case .outputTimespec, .remainingTimespec, .outputTimeval: .outputStruct(size: 16)
        case .itimerspec, .itimerval: .inputStruct(size: 32)
        case .outputItimerspec, .outputItimerval: .outputStruct(size: 32)
        case .utimens: .inputStruct(size: 32)
        case .stat: .outputStruct(size: Layout.statSize)
        case .statx: .outputStruct(size: Layout.statxSize)
        case .rlimit: .inputStruct(size: 16)
        case .outputRlimit: .outputStruct(size: 16)
        case .sigaction: .inputStruct(size: Layout.sigactionSize)
        case .outputSigaction: .outputStruct(size: Layout.sigactionSize)
        case .sigset: .inputStruct(size: 8)
        case .outputSigset: .outputStruct(size: 8)
        case .stack: .inputStruct(size: 24)
        case .outputStack: .outputStruct(size: 24)
        case .openHow: .inputStruct(size: 24)
        case .epollEvent: .inputStruct(size: 12)
        case .epollEvents: .outputStruct(size: 12 * Layout.epollEventsCaptured)
        case .pollFds: .outputStruct(size: 8 * Layout.pollFdsCaptured)
        case .utsname: .outputStruct(size: 65 * 2)
        case .tms: .outputStruct(size: 32)
        case .sysinfo: .outputStruct(size: Layout.sysinfoSize)
        case .statfs: .outputStruct(size: Layout.statfsSize)
        case .cpuSet(let n): .inputBuffer(lengthArgument: n)
        case .outputCpuSet: .outputBuffer(lengthArgument: 1)
        case .schedParam: .inputStruct(size: 4)
        case .outputSchedParam: .outputStruct(size: 4)
        case .flock: .inOutStruct(size: 32)   // F_SETLK in, F_GETLK back
        case .sendfileOffset: .inOutStruct(size: 8)
        case .offset: .inputStruct(size: 8)
        case .cloneArgs: .inputStruct(size: Layout.cloneArgsSize)
        case .ioctlArgument: .inOutStruct(size: 8)   // an int, or struct winsize
        case .prctlArgument: .inOutStruct(size: 16)  // TASK_COMM_LEN
        case .inputIovec(let n): .inputIovec(countArgument: n)
        case .outputIovec(let n): .outputIovec(countArgument: n)
        case .inputMessage: .inputMessage
        case .outputMessage: .outputMessage
        case .fdSet(let n): .fdSet(countArgument: n)
        case .timeoutTimeval, .timeoutTimespec: .inOutStruct(size: 16)
        case .gidList(let n): .inputArray(countArgument: n, elementSize: 4)
        case .outputGidList(let n): .outputArray(countArgument: n, elementSize: 4)
        case .pageVector(let n): .outputPageVector(lengthArgument: n)
        case .restoredSigmask: .signalFrameMask
        default: .value
        }
    }

    /// Whether strace prints it only when the call returns (so an unfinished call stops before it).
    var decodedAtExit: Bool {
        switch self {
        case .outputBuffer, .outputHexBuffer, .outputPath, .outputSockaddr, .socklenInOut, .outputInt,
             .outputLong, .outputSocketOptionValue, .socketOptionLength, .intPair, .waitStatus,
             .outputTimespec, .remainingTimespec, .outputTimeval, .outputItimerspec, .outputItimerval,
             .stat, .statx, .outputRlimit, .outputSigaction, .outputSigset, .outputStack, .epollEvents,
             .utsname, .tms, .sysinfo, .statfs, .outputTime, .outputCpuSet, .outputSchedParam, .outputIovec, .outputMessage,
             .outputGidList, .pageVector:
            true
        default:
            false
        }
    }
}

/// How a return value is printed.
enum Ret: Sendable {
    case int            // signed decimal, -1 ERRNO (message) on errors
    case hex            // mmap, brk: 0x7f...
    case octal          // umask
    case unsigned       // times
    case fcntl          // F_GETFL: 0x8002 (flags O_RDWR|O_LARGEFILE)
    case prctl
    case time           // 1795321890 (2026-11-22T04:31:30+0000)
    case poll(timeoutArgument: Int?)   // 1 ([{fd=3, revents=POLLIN}], left {tv_sec=0, tv_nsec=999000})
    case schedPolicy    // 0 (SCHED_OTHER)
    case personality    // 0 (PER_LINUX)
    case membarrier
    case select(timeoutArgument: Int, microseconds: Bool) // 1 (in [3], out [4], left {tv_sec=0, tv_usec=999})
}

/// Syscalls whose argument list itself depends on the arguments.
enum Special: Sendable {
    case fcntl, ioctl, prctl, futex, clone, clone3, archPrctl, mount, restartSyscall
}

/// The formatting plan of one syscall.
struct Schema: Sendable {
    var arguments: [Arg]
    var ret: Ret = .int
    var special: Special? = nil
    var returnBehavior: SyscallReturn = .returns
    /// strace-grade: hand-written and with no known gap (see `Schema.partial`), rather than derived
    /// from the kernel's C types.
    var dedicated: Bool = true

    var captures: [ArgumentCapture] { arguments.map(\.capture) }

    init(_ arguments: [Arg], ret: Ret = .int, special: Special? = nil, returnBehavior: SyscallReturn = .returns) {
        self.arguments = arguments
        self.ret = ret
        self.special = special
        self.returnBehavior = returnBehavior
    }
}

/// Sizes of the structures sonde captures (x86_64).
enum Layout {
    static let statSize = 144
    static let sysinfoSize = 112
    static let statfsSize = 120
    static let statxSize = 256
    static let sigactionSize = 32
    static let epollEventsCaptured = 8
    static let pollFdsCaptured = 16
    static let cloneArgsSize = 88
}
