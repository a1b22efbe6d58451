/// A set of flag names, printed as strace prints flags: the names in table order joined by `|`,
/// each one's bits taken out of the value; left-over bits as `|0x...`; when no name matches at all,
/// `0x... /* PREFIX_??? */`; zero as the table's zero name or `0`.
struct FlagSet: Sendable {
    let entries: [(value: UInt64, name: StaticString)]
    let zeroName: StaticString?
    /// The `X_???` label for values no name matches; nil to print the bare hex.
    let unknown: StaticString?

    init(_ table: [(Int64, StaticString)], unknown: StaticString?, zero: StaticString? = nil) {
        var entries: [(value: UInt64, name: StaticString)] = []
        var zeroName = zero
        for (value, name) in table {
            if value == 0 {
                if zeroName == nil { zeroName = name }
            } else {
                entries.append((UInt64(bitPattern: value), name))
            }
        }
        self.entries = entries
        self.zeroName = zeroName
        self.unknown = unknown
    }

    /// Writes the flags as strace does.
    func write(_ value: UInt64, to out: inout Output) {
        if value == 0 {
            if let zeroName { out.append(zeroName) } else { out.byte(0x30) }
            return
        }
        let rest = writeNames(value, to: &out, first: true)
        if rest.remaining != 0 {
            if rest.wrote {
                out.append("|0x")
                out.hexDigits(rest.remaining)
            } else {
                writeUnknown(rest.remaining, to: &out)
            }
        }
    }

    /// Writes the matching names (each preceded by `|` unless `first`); returns the unmatched bits
    /// and whether anything was written.
    func writeNames(_ value: UInt64, to out: inout Output, first: Bool) -> (remaining: UInt64, wrote: Bool) {
        var remaining = value
        var wrote = false
        var separator = !first
        for entry in entries where remaining & entry.value == entry.value {
            if separator { out.byte(0x7C) }
            out.append(entry.name)
            remaining &= ~entry.value
            wrote = true
            separator = true
            if remaining == 0 { break }
        }
        return (remaining, wrote)
    }

    func writeUnknown(_ value: UInt64, to out: inout Output) {
        out.hex(value) // C's %#x, as strace prints: "0" for zero
        if let unknown {
            out.append(" /* ")
            out.append(unknown)
            out.append(" */")
        }
    }
}

/// Names of the values of an enumeration (a command, a family, a clock id): dense array lookups
/// for small values, a short scan for the others.
struct ValueNames: Sendable {
    private let dense: [StaticString?]
    private let sparse: [(value: Int64, name: StaticString)]
    /// The `X_???` label for unknown values (printed `0x9 /* SEEK_??? */`); nil: print decimal.
    let unknown: StaticString?

    init(_ table: [(Int64, StaticString)], unknown: StaticString?) {
        let limit: Int64 = 1024
        var maxDense: Int64 = -1
        for (value, _) in table where value >= 0 && value < limit && value > maxDense { maxDense = value }
        var dense = [StaticString?](repeating: nil, count: Int(maxDense + 1))
        var sparse: [(value: Int64, name: StaticString)] = []
        for (value, name) in table {
            if value >= 0 && value < limit {
                if dense[Int(value)] == nil { dense[Int(value)] = name }
            } else if !sparse.contains(where: { $0.value == value }) {
                sparse.append((value, name))
            }
        }
        self.dense = dense
        self.sparse = sparse
        self.unknown = unknown
    }

    func name(_ value: Int64) -> StaticString? {
        if value >= 0 && value < Int64(dense.count) { return dense[Int(value)] }
        for entry in sparse where entry.value == value { return entry.name }
        return nil
    }

    /// The name, or the unknown form: `0x9 /* SEEK_??? */` (hex of the value as `width` bits), or
    /// decimal when the set has no unknown label.
    func write(_ value: Int64, to out: inout Output, width: Int = 32) {
        if let name = name(value) {
            out.append(name)
        } else if let unknown {
            let bits = width == 64 ? UInt64(bitPattern: value) : UInt64(UInt32(truncatingIfNeeded: value))
            out.hex(bits) // C's %#x, as strace prints: "0" for zero
            out.append(" /* ")
            out.append(unknown)
            out.append(" */")
        } else {
            out.signed(value)
        }
    }
}

/// The flag sets and value names the formatter uses, built once from the generated constants.
enum Names {
    static let openAccess = ValueNames(Constants.openAccessModes, unknown: nil)
    static let openFlags = FlagSet(Constants.openFlags, unknown: "O_???")
    static let atFlags = FlagSet(Constants.atFlags, unknown: "AT_???")
    static let faccessatFlags = FlagSet(Constants.faccessatFlags, unknown: "AT_???")
    static let statxSync = FlagSet(Constants.statxSyncFlags, unknown: nil)
    static let accessModes = FlagSet(Constants.accessModes, unknown: "?_OK", zero: "F_OK")
    static let prot = FlagSet(Constants.protFlags, unknown: "PROT_???", zero: "PROT_NONE")
    /// strace names type 0 MAP_FILE (a historical no-op flag).
    static let mapTypes = ValueNames([(0, "MAP_FILE")] + Constants.mapTypes, unknown: "MAP_???")
    static let mapFlags = FlagSet(Constants.mapFlags, unknown: "MAP_???")
    static let mremapFlags = FlagSet(Constants.mremapFlags, unknown: "MREMAP_???")
    static let msyncFlags = FlagSet(Constants.msyncFlags, unknown: "MS_???")
    static let madvise = ValueNames(Constants.madviseAdvice, unknown: "MADV_???")
    static let mlockall = FlagSet(Constants.mlockallFlags, unknown: "MCL_???")
    static let clone = FlagSet(Constants.cloneFlags, unknown: "CLONE_???")
    static let unshare = FlagSet(Constants.unshareFlags, unknown: "CLONE_???")
    static let clone3 = FlagSet(Constants.clone3Flags, unknown: "CLONE_???")
    static let clocks = ValueNames(Constants.clocks, unknown: "CLOCK_???")
    static let timerFlags = FlagSet(Constants.timerFlags, unknown: "TIMER_???")
    static let signals = ValueNames(Constants.signals, unknown: nil)
    static let fileSystemMagics = ValueNames(Constants.fileSystemMagics, unknown: nil)
    /// statfs's f_flags, in strace's order (ST_VALID first).
    static let statfsFlags = FlagSet([(0x20, "ST_VALID"), (0x1, "ST_RDONLY"), (0x2, "ST_NOSUID"), (0x4, "ST_NODEV"),
                                      (0x8, "ST_NOEXEC"), (0x10, "ST_SYNCHRONOUS"), (0x40, "ST_MANDLOCK"), (0x400, "ST_NOATIME"),
                                      (0x800, "ST_NODIRATIME"), (0x1000, "ST_RELATIME"), (0x2000, "ST_NOSYMFOLLOW")],
                                     unknown: "ST_???")
    static let sigactionFlags = FlagSet(Constants.sigactionFlags, unknown: "SA_???")
    static let sigprocmaskHow = ValueNames(Constants.sigprocmaskHows, unknown: "SIG_???")
    static let sigaltstackFlags = FlagSet(Constants.sigaltstackFlags, unknown: "SS_???")
    static let fileTypes = ValueNames(Constants.fileTypes, unknown: nil)
    static let utimeSpecial = ValueNames(Constants.utimeSpecial, unknown: nil)
    static let statxMask = FlagSet(Constants.statxMask, unknown: "STATX_???")
    static let statxAttributes = FlagSet(Constants.statxAttributes, unknown: "STATX_ATTR_???")
    static let fcntlCommands = ValueNames(Constants.fcntlCommands, unknown: "F_???")
    static let fdFlags = FlagSet(Constants.fdFlags, unknown: "FD_???")
    static let lockTypes = ValueNames(Constants.lockTypes, unknown: "F_???")
    static let seals = FlagSet(Constants.sealFlags, unknown: "F_SEAL_???")
    static let notify = FlagSet(Constants.notifyFlags, unknown: "DN_???")
    static let flock = FlagSet(Constants.flockOperations, unknown: "LOCK_???")
    static let whence = ValueNames(Constants.whences, unknown: "SEEK_???")
    static let renameFlags = FlagSet(Constants.renameFlags, unknown: "RENAME_???")
    static let fallocate = FlagSet(Constants.fallocateModes, unknown: "FALLOC_FL_???")
    static let fadvise = ValueNames(Constants.fadviseAdvice, unknown: "POSIX_FADV_???")
    static let closeRange = FlagSet(Constants.closeRangeFlags, unknown: "CLOSE_RANGE_???")
    static let xattrFlags = FlagSet(Constants.xattrFlags, unknown: "XATTR_???")
    static let resolve = FlagSet(Constants.resolveFlags, unknown: "RESOLVE_???")
    static let epollEvents = FlagSet(Constants.epollEvents, unknown: "EPOLL???")
    static let epollOps = ValueNames(Constants.epollOperations, unknown: "EPOLL_CTL_???")
    static let epollCreate = FlagSet(Constants.epollCreateFlags, unknown: "EPOLL_???")
    static let pollEvents = FlagSet(Constants.pollEvents, unknown: "POLL???")
    static let inotifyMask = FlagSet(Constants.inotifyMask, unknown: "IN_???")
    static let inotifyInit = FlagSet(Constants.inotifyInitFlags, unknown: "IN_???")
    static let mountFlags = FlagSet(Constants.mountFlags, unknown: "MS_???")
    static let umountFlags = FlagSet(Constants.umountFlags, unknown: "MNT_???")
    static let futexCommands = ValueNames(Constants.futexCommands, unknown: nil)
    static let futexWakeOps = ValueNames(Constants.futexWakeOps, unknown: nil)
    static let futexWakeCmps = ValueNames(Constants.futexWakeCmps, unknown: nil)
    static let prctlOptions = ValueNames(Constants.prctlOptions, unknown: "PR_???")
    static let dumpable = ValueNames(Constants.dumpableValues, unknown: nil)
    static let capAmbient = ValueNames(Constants.capAmbientOps, unknown: "PR_CAP_AMBIENT_???")
    static let capabilities = ValueNames(Constants.capabilities, unknown: "CAP_???")
    static let archPrctl = ValueNames(Constants.archPrctlCodes, unknown: "ARCH_???")
    static let rlimits = ValueNames(Constants.rlimitResources, unknown: "RLIMIT_???")
    static let rusageWho = ValueNames(Constants.rusageWho, unknown: "RUSAGE_???")
    static let priorityWhich = ValueNames(Constants.priorityWhich, unknown: "PRIO_???")
    static let waitOptions = FlagSet(Constants.waitOptions, unknown: "W???")
    static let waitIdTypes = ValueNames(Constants.waitIdTypes, unknown: "P_???")
    static let randomFlags = FlagSet(Constants.randomFlags, unknown: "GRND_???")
    static let memfdFlags = FlagSet(Constants.memfdFlags, unknown: "MFD_???")
    static let signalfdFlags = FlagSet(Constants.signalfdFlags, unknown: "SFD_???")
    static let splice = FlagSet(Constants.spliceFlags, unknown: "SPLICE_F_???")
    static let eventfdFlags = FlagSet(Constants.eventfdFlags, unknown: "EFD_???")
    static let timerfdFlags = FlagSet(Constants.timerfdFlags, unknown: "TFD_???")
    /// membarrier's cmd: one command (strace prints an unknown one as a value, not as flags).
    static let membarrierCommand = ValueNames([(0, "MEMBARRIER_CMD_QUERY")] + Constants.membarrierCommands, unknown: "MEMBARRIER_CMD_???")
    /// MEMBARRIER_CMD_QUERY's answer: the commands the kernel supports.
    static let membarrierCommands = FlagSet(Constants.membarrierCommands, unknown: "MEMBARRIER_CMD_???", zero: "MEMBARRIER_CMD_QUERY")
    static let schedPolicies = ValueNames(Constants.schedPolicies, unknown: "SCHED_???")
    static let personalities = ValueNames(Constants.personalities, unknown: "PER_???")
    static let itimers = ValueNames(Constants.itimerWhich, unknown: "ITIMER_???")
    static let seccompOps = ValueNames(Constants.seccompOperations, unknown: "SECCOMP_SET_MODE_???")
    static let seccompFlags = FlagSet(Constants.seccompFilterFlags, unknown: "SECCOMP_FILTER_FLAG_???")
    static let families = ValueNames(Constants.addressFamilies, unknown: "AF_???")
    static let socketTypes = ValueNames(Constants.socketTypes, unknown: nil)
    static let socketFlags = FlagSet(Constants.socketFlags, unknown: "SOCK_???")
    static let ipProtocols = ValueNames(Constants.ipProtocols, unknown: nil)
    static let netlinkProtocols = ValueNames(Constants.netlinkProtocols, unknown: "NETLINK_???")
    static let ethernetProtocols = ValueNames(Constants.ethernetProtocols, unknown: nil)
    static let arpHardware = ValueNames(Constants.arpHardware, unknown: nil)
    static let packetTypes = ValueNames(Constants.packetTypes, unknown: nil)
    static let messageFlags = FlagSet(Constants.messageFlags, unknown: "MSG_???")
    static let shutdown = ValueNames(Constants.shutdownHows, unknown: "SHUT_???")
    static let socketLevels = ValueNames(Constants.socketLevels, unknown: "SOL_???")
    static let socketOptions = ValueNames(Constants.socketOptions, unknown: "SO_???")
    static let tcpOptions = ValueNames(Constants.tcpOptions, unknown: "TCP_???")
    static let ipOptions = ValueNames(Constants.ipOptions, unknown: "IP_???")
    static let ipv6Options = ValueNames(Constants.ipv6Options, unknown: "IPV6_???")
    static let ioctls = ValueNames(Constants.ioctlRequests, unknown: nil)
}
