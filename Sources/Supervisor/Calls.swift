#if canImport(Glibc)
import Glibc
#endif
import LinuxKit

/// An intercepted call with its arguments read from the caller's memory.
public enum InterceptedCall: Sendable, Equatable {
    /// mknod / mknodat. `dirfd` is nil for AT_FDCWD (and for absolute paths it does not matter).
    case mknod(path: String, dirfd: Int32?, mode: UInt32, device: UInt32)
    case mount(source: String?, target: String, fstype: String?, flags: UInt64, data: String?)
    /// setxattr, lsetxattr and fsetxattr.
    case setxattr(target: XattrTarget, name: String, value: [UInt8], flags: Int32)

    public var syscallName: String {
        switch self {
        case .mknod(_, let dirfd, _, _): return dirfd == nil ? "mknod" : "mknodat"
        case .mount: return "mount"
        case .setxattr(let target, _, _, _):
            switch target {
            case .path(_, let follow): return follow ? "setxattr" : "lsetxattr"
            case .fd: return "fsetxattr"
            }
        }
    }

    /// strace-like argument text for events.
    public var argumentText: String {
        switch self {
        case .mknod(let path, let dirfd, let mode, let device):
            let prefix = dirfd.map { $0 == AT_FDCWD ? "AT_FDCWD, " : "\($0), " } ?? ""
            var text = prefix + "\"\(path)\", " + DeviceNumbers.modeText(mode)
            if let type = DeviceNumbers.type(mode), type == .char || type == .block {
                text += ", makedev(\(DeviceNumbers.major(device)), \(DeviceNumbers.minor(device)))"
            }
            return text
        case .mount(let source, let target, let fstype, let flags, let data):
            let names = MountFlags(syscallFlags: flags).names
            return "\(source.map { "\"\($0)\"" } ?? "NULL"), \"\(target)\", \(fstype.map { "\"\($0)\"" } ?? "NULL"), "
                + (names.isEmpty ? "0" : names.map { "MS_" + $0.uppercased() }.joined(separator: "|"))
                + ", \(data.map { "\"\($0)\"" } ?? "NULL")"
        case .setxattr(let target, let name, let value, let flags):
            let subject: String
            switch target {
            case .path(let path, _): subject = "\"\(path)\""
            case .fd(let fd): subject = String(fd)
            }
            return "\(subject), \"\(name)\", \(value.count) bytes, \(flags)"
        }
    }
}

/// What an xattr call names: a path (followed for setxattr, not for lsetxattr) or an open fd.
public enum XattrTarget: Sendable, Equatable {
    case path(String, follow: Bool)
    case fd(Int32)
}

/// x86_64 numbers of the syscalls the supervisor emulates; everything else it is sent gets the
/// policy's default answer.
public enum SupervisedSyscall: Int32, Sendable, CaseIterable {
    case mknod = 133
    case mount = 165
    case setxattr = 188
    case lsetxattr = 189
    case fsetxattr = 190
    case mknodat = 259

    /// Its name, without reflection (this runs once per call).
    public var name: String {
        switch self {
        case .mknod: return "mknod"
        case .mount: return "mount"
        case .setxattr: return "setxattr"
        case .lsetxattr: return "lsetxattr"
        case .fsetxattr: return "fsetxattr"
        case .mknodat: return "mknodat"
        }
    }

    /// AUDIT_ARCH_X86_64: notifications from other ABIs (i386 via int 0x80, x32) have other numbers.
    public static let architecture: UInt32 = 0xC000_003E
}

/// Reads the arguments of a notified call. Errors are the errno the call gets (EFAULT for a bad
/// pointer, ENAMETOOLONG...), never a crash.
public enum CallDecoder {
    public static let pathLimit = 4095          // PATH_MAX - 1
    public static let xattrNameLimit = 255      // XATTR_NAME_MAX
    public static let xattrValueLimit = 65536   // XATTR_SIZE_MAX
    public static let mountDataLimit = 4095     // the kernel copies at most a page of options

    public static func decode(_ syscall: SupervisedSyscall, arguments a: [UInt64], memory: some TargetMemory) throws(Errno) -> InterceptedCall {
        let nameTooLong = Errno(rawValue: ENAMETOOLONG)
        switch syscall {
        case .mknod:
            return .mknod(path: try memory.string(a[0], limit: pathLimit, tooLong: nameTooLong), dirfd: nil,
                          mode: UInt32(truncatingIfNeeded: a[1]), device: UInt32(truncatingIfNeeded: a[2]))
        case .mknodat:
            let dirfd = Int32(truncatingIfNeeded: a[0])
            return .mknod(path: try memory.string(a[1], limit: pathLimit, tooLong: nameTooLong), dirfd: dirfd,
                          mode: UInt32(truncatingIfNeeded: a[2]), device: UInt32(truncatingIfNeeded: a[3]))
        case .mount:
            // source, fstype and data may be NULL (bind mounts, remounts).
            let source = a[0] == 0 ? nil : try memory.string(a[0], limit: pathLimit, tooLong: nameTooLong)
            let target = try memory.string(a[1], limit: pathLimit, tooLong: nameTooLong)
            let fstype = a[2] == 0 ? nil : try memory.string(a[2], limit: 255, tooLong: Errno(rawValue: ENODEV))
            let data = a[4] == 0 ? nil : try memory.string(a[4], limit: mountDataLimit, tooLong: Errno(rawValue: EINVAL))
            return .mount(source: source, target: target, fstype: fstype, flags: a[3], data: data)
        case .setxattr, .lsetxattr, .fsetxattr:
            let target: XattrTarget
            if syscall == .fsetxattr {
                let fd = Int32(truncatingIfNeeded: a[0])
                if fd < 0 { throw Errno(rawValue: EBADF) }
                target = .fd(fd)
            } else {
                target = .path(try memory.string(a[0], limit: pathLimit, tooLong: nameTooLong), follow: syscall == .setxattr)
            }
            let name = try memory.string(a[1], limit: xattrNameLimit, tooLong: Errno(rawValue: ERANGE))
            if a[3] > UInt64(xattrValueLimit) { throw Errno(rawValue: E2BIG) }
            let value = a[3] == 0 ? [] : try memory.read(a[2], count: Int(a[3]))
            if value.count != Int(a[3]) { throw Errno(rawValue: EFAULT) }
            return .setxattr(target: target, name: name, value: value, flags: Int32(truncatingIfNeeded: a[4]))
        }
    }
}

/// dev_t and mode as the kernel's mknod sees them (a 32-bit dev, new_decode_dev).
public enum DeviceNumbers {
    public static func major(_ dev: UInt32) -> UInt32 { (dev & 0xfff00) >> 8 }
    public static func minor(_ dev: UInt32) -> UInt32 { (dev & 0xff) | ((dev >> 12) & 0xfff00) }
    public static func make(major: UInt32, minor: UInt32) -> UInt32 {
        (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)
    }

    public static func type(_ mode: UInt32) -> Policy.DeviceType? {
        switch mode & 0o170000 {
        case 0o020000: return .char
        case 0o060000: return .block
        case 0o010000: return .fifo
        case 0o140000: return .socket
        case 0o100000, 0: return .regular   // mknod with no type makes a regular file
        default: return nil
        }
    }

    public static func modeText(_ mode: UInt32) -> String {
        let type: String
        switch mode & 0o170000 {
        case 0o020000: type = "S_IFCHR"
        case 0o060000: type = "S_IFBLK"
        case 0o010000: type = "S_IFIFO"
        case 0o140000: type = "S_IFSOCK"
        case 0o100000: type = "S_IFREG"
        case 0: type = ""
        default: type = "0" + String(mode & 0o170000, radix: 8)
        }
        let permissions = "0" + String(mode & 0o7777, radix: 8)
        return type.isEmpty ? permissions : type + "|" + permissions
    }
}

/// The policy's answer to one call.
public struct Decision: Sendable, Equatable {
    public enum Verdict: String, Sendable { case allow, deny }
    public var verdict: Verdict
    /// The rule that allowed it, or why it was denied.
    public var rule: String
    /// For a denial: the errno or kill.
    public var action: Policy.Action?
    /// Log-only mode: record the decision, let the kernel run the call with the caller's own rights.
    public var logOnly: Bool

    /// The policy's answer from the call's arguments and the container alone. `ownUserNamespace`:
    /// whether the container has a user namespace of its own; without one its root is the host's root,
    /// and what a mount made for it with host privileges uncovers is refused whatever the policy says.
    /// An allowed call is then checked against who makes it (`checked(_:caller:entry:)`).
    public static func decide(_ call: InterceptedCall, policy: Policy, entry: Policy.Entry?, ownUserNamespace: Bool) -> Decision {
        let logOnly = entry?.logOnly ?? policy.logOnly
        let fallback = entry?.defaultAction ?? policy.defaultAction
        func deny(_ why: String) -> Decision { Decision(verdict: .deny, rule: why, action: fallback, logOnly: logOnly) }
        func refuse(_ why: String) -> Decision { Decision(verdict: .deny, rule: why, action: .errno(Errno(rawValue: EPERM)), logOnly: logOnly) }
        func allow(_ rule: String) -> Decision { Decision(verdict: .allow, rule: rule, action: nil, logOnly: logOnly) }
        guard let entry else { return deny("no policy entry matches the container") }

        switch call {
        case .mknod(_, _, let mode, let device):
            guard let type = DeviceNumbers.type(mode) else { return deny("invalid file type in mode") }
            let major = DeviceNumbers.major(device), minor = DeviceNumbers.minor(device)
            let isDevice = type == .char || type == .block
            for (index, rule) in entry.mknod.enumerated() where rule.type == type {
                if !isDevice || ((rule.major == nil || rule.major == major) && (rule.minor == nil || rule.minor == minor)) {
                    return allow(entry.labels.mknod[index])
                }
            }
            return deny(isDevice ? "\(type.rawValue) \(major):\(minor) not allowed" : "\(type.rawValue) not allowed")

        case .mount(let source, _, let fstype, let rawFlags, _):
            let flags = MountFlags(syscallFlags: rawFlags)
            let isBind = flags.contains(.bind)
            if flags.contains(.remount) || flags.contains(.move)
                || !flags.isDisjoint(with: [.shared, .private, .slave, .unbindable]) {
                return deny("only new mounts are emulated (flags \(flags.names.joined(separator: ",")))")
            }
            let kind = isBind ? "bind" : (fstype ?? "")
            if !ownUserNamespace {
                // With host privileges, a bind that leaves out the submounts shows what the runtime
                // mounted over (masked /proc files, the read-only /proc/sys), and a fresh proc or
                // sysfs has no masks at all while the caller is host uid 0 for sysctls.
                if isBind && !flags.contains(.rec) {
                    return refuse("a non-recursive bind is refused in a container without its own user namespace: it would uncover what the runtime mounted over")
                }
                if !isBind && !Policy.mountableWithHostPrivileges(kind) {
                    return refuse("mounting \(kind) is refused in a container without its own user namespace: only tmpfs, ramfs, recursive binds and disk filesystems from a named source are safe with the host's privileges")
                }
            }
            for (index, rule) in entry.mount.enumerated() where rule.fstype == kind {
                if let wanted = rule.source, wanted != source { continue }
                // Binds are always made recursive (so nothing mounted over is uncovered): MS_REC is implied.
                let extra = flags.subtracting(isBind ? [.bind, .rec, .silent] : [.silent]).subtracting(rule.allowedFlags)
                if !extra.isEmpty { continue }
                if !flags.isSuperset(of: rule.requiredFlags) { continue }
                return allow(entry.labels.mount[index])
            }
            return deny("mount \(kind) with flags [\(flags.names.joined(separator: ","))] not allowed")

        case .setxattr(_, let name, _, _):
            for (index, pattern) in entry.setxattr.enumerated() where Policy.glob(pattern, name) {
                return allow(entry.labels.setxattr[index])
            }
            return deny("xattr \(name) not allowed")
        }
    }

    /// An allowed decision held against who makes the call: the policy grants a privilege to the
    /// container's root, so the caller must be that root (or hold the capability) *in the container's
    /// user namespace* - not in one it made itself, where its uid 0 and full capability set are its
    /// own. Anyone else gets the errno the kernel would give (EPERM), unless the entry says
    /// `allowNonRootCallers`. Calls that need no privilege (fifos, regular files, user.* attributes)
    /// are only ever performed with the caller's own rights, so they need no check here.
    public func checked(_ call: InterceptedCall, caller: Caller, entry: Policy.Entry?) -> Decision {
        guard verdict == .allow, let capability = call.privilegeNeeded else { return self }
        if caller.userNamespace != caller.containerUserNamespace {
            return refused("the caller is in a user namespace of its own; its capabilities there do not count in the container's")
        }
        // File capabilities are never granted on root's word: only a caller that holds CAP_SETFCAP.
        if caller.capabilities & (1 << capability) != 0 || (caller.isContainerRoot && capability != Caller.capSetfcap) { return self }
        if entry?.allowNonRootCallers == true { return self }
        return refused("the caller is not root in the container (uid \(caller.uid)) and has no \(Caller.capabilityName(capability))")
    }

    func refused(_ why: String) -> Decision {
        Decision(verdict: .deny, rule: why, action: .errno(Errno(rawValue: EPERM)), logOnly: logOnly)
    }
}

/// Who makes a notified call, as the caller check needs it.
public struct Caller: Sendable, Equatable {
    public var uid: UInt32
    /// The caller's effective uid is the host uid that the container's user namespace maps to 0.
    public var isContainerRoot: Bool
    /// Its effective capabilities, meaningful only in its own user namespace.
    public var capabilities: UInt64
    public var userNamespace: UInt64
    public var containerUserNamespace: UInt64

    public init(uid: UInt32, isContainerRoot: Bool, capabilities: UInt64, userNamespace: UInt64, containerUserNamespace: UInt64) {
        self.uid = uid
        self.isContainerRoot = isContainerRoot
        self.capabilities = capabilities
        self.userNamespace = userNamespace
        self.containerUserNamespace = containerUserNamespace
    }

    static let capMknod = 27, capSysAdmin = 21, capSetfcap = 31
    static func capabilityName(_ number: Int) -> String {
        switch number {
        case capMknod: return "CAP_MKNOD"
        case capSysAdmin: return "CAP_SYS_ADMIN"
        case capSetfcap: return "CAP_SETFCAP"
        default: return "capability \(number)"
        }
    }
}

extension InterceptedCall {
    /// The capability the kernel would want for this call (and the policy grants), or nil when the
    /// caller's own rights suffice.
    var privilegeNeeded: Int? {
        switch self {
        case .mknod(_, _, let mode, _):
            let type = DeviceNumbers.type(mode)
            return type == .char || type == .block ? Caller.capMknod : nil
        case .mount: return Caller.capSysAdmin
        case .setxattr(_, let name, _, _): return Self.privilegeNeeded(xattr: name)
        }
    }

    static func privilegeNeeded(xattr name: String) -> Int? {
        if name.hasPrefix("user.") { return nil }
        if name == "security.capability" { return Caller.capSetfcap }
        return Caller.capSysAdmin   // trusted.* and the rest of security.*
    }
}
