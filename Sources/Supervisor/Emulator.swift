#if canImport(Glibc)
import Glibc
#endif
import CSonde
import Foundation
import LinuxKit

/// Performs an allowed call in the caller's place.
///
/// Where each call runs, and why:
/// - mknod and setxattr run on the session's own thread in the agent. Their paths are resolved with
///   openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) from an fd on /proc/PID/root: a walk from that fd
///   crosses the mounts of the caller's mount namespace (mounts hang off the vfsmount the walk is on),
///   so the node lands exactly where the caller would have made it, and `..`, absolute symlinks and
///   /proc magic links cannot leave the caller's root. The thread takes the caller's fsuid/fsgid
///   (setfsuid is per thread) and umask (the session thread unshared its fs_struct) for the one call.
///   No process hop: this is the hot path the latency target is about.
/// - mount must run inside the caller's mount namespace (the kernel refuses to attach a mount to a
///   namespace other than the caller's) and its pid namespace (proc shows the mounter's pid namespace);
///   setns(CLONE_NEWNS) is refused to a multithreaded process, so mounts go to a long-lived,
///   single-threaded helper per container (MountHelper), which joined those namespaces once.
///
/// Every fd opened from /proc/PID is confirmed with NOTIF_ID_VALID before it is used: only while the
/// notification is valid is PID still the caller (the caller is blocked in the call, so cannot exit).
/// open(2)'s O_PATH, which Swift's Glibc module does not export (it needs _GNU_SOURCE).
let O_PATH: Int32 = 0o10000000

public struct Emulator {
    public enum Outcome: Equatable {
        /// The call's return value or failure (positive errno).
        case result(Int64)
        case failure(Errno)
        /// The notification is no longer valid: nothing was done and nobody waits for an answer.
        case gone
    }

    static let resolveInRoot: UInt64 = 0x10 | 0x02      // RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS
    static let resolveBeneath: UInt64 = 0x08 | 0x02     // RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS

    let notify: NotifyFD
    let id: UInt64
    let pid: Int32
    let status: TargetStatus
    /// The caller's capabilities where they are the host's (a container without its own user
    /// namespace, the caller in it); 0 otherwise: capabilities held in a user namespace give the
    /// agent, which acts on the host, nothing.
    let callerCapabilities: UInt64
    let credentials: ThreadCredentials
    /// An open /proc/PID directory of the caller (bound to it), or nil to walk /proc/PID.
    let procDirectory: Int32?

    public init(notify: NotifyFD, id: UInt64, pid: Int32, status: TargetStatus, callerCapabilities: UInt64,
                credentials: ThreadCredentials, procDirectory: Int32? = nil) {
        self.notify = notify
        self.id = id
        self.pid = pid
        self.status = status
        self.callerCapabilities = callerCapabilities
        self.credentials = credentials
        self.procDirectory = procDirectory
    }

    /// The directory a path starts from, and how to resolve within it. Absolute paths start at the
    /// caller's root. Relative paths start at its cwd (or dirfd) with RESOLVE_BENEATH: a relative path
    /// that climbs above its start fails with EXDEV instead of being guessed (the caller's cwd as a
    /// path inside its root is not knowable race-free from outside).
    func base(for path: String, dirfd: Int32?) throws(Errno) -> (fd: Int32, resolve: UInt64) {
        let source: String
        let resolve: UInt64
        if path.hasPrefix("/") {
            (source, resolve) = ("root", Self.resolveInRoot)
        } else if let dirfd, dirfd != AT_FDCWD {
            if dirfd < 0 { throw Errno(rawValue: EBADF) }
            (source, resolve) = ("fd/\(dirfd)", Self.resolveBeneath)
        } else {
            (source, resolve) = ("cwd", Self.resolveBeneath)
        }
        // The caller's magic link, followed by the agent: this is how its root/cwd is reached.
        let fd = openInProc(source, O_PATH)
        if fd < 0 {
            let error = Errno.current
            throw error == .notFound && dirfd != nil ? Errno(rawValue: EBADF) : error
        }
        return (fd, resolve)
    }

    /// Splits a path into its parent and final component, the way the kernel's create calls do.
    public static func split(_ path: String) throws(Errno) -> (parent: String, name: String) {
        if path.isEmpty { throw Errno(rawValue: ENOENT) }
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        if trimmed == "/" { throw Errno(rawValue: EEXIST) }
        let name: Substring, parent: String
        if let slash = trimmed.lastIndex(of: "/") {
            name = trimmed[trimmed.index(after: slash)...]
            let head = trimmed[..<slash]
            parent = head.isEmpty ? "/" : String(head)
        } else {
            (parent, name) = (".", trimmed)
        }
        if name == "." || name == ".." { throw Errno(rawValue: EEXIST) }
        return (parent, String(name))
    }

    func withCallerCredentials<T>(granting granted: UInt64 = 0, _ body: () -> T) -> T {
        credentials.act(as: status, capabilities: callerCapabilities, granting: granted, body)
    }

    /// Resolves `path` inside the caller's root (or below its cwd / dirfd) *as the caller*: the walk
    /// is checked against the caller's ids and capabilities, so a directory it may not search stops
    /// sonde too. Only the start (its root or cwd, a /proc magic link) is opened with the agent's rights.
    func resolve(_ path: String, dirfd: Int32?, flags: Int32) throws(Errno) -> Int32 {
        let (start, resolve) = try base(for: path, dirfd: dirfd)
        defer { close(start) }
        let fd = withCallerCredentials { sonde_openat2(start, path, UInt64(flags | O_PATH | O_CLOEXEC), 0, resolve) }
        if fd < 0 { throw Errno.current }
        return fd
    }

    public func mknod(path: String, dirfd: Int32?, mode: UInt32, device: UInt32) -> Outcome {
        let parentPath: String, name: String
        let start: (fd: Int32, resolve: UInt64)
        do throws(Errno) {
            (parentPath, name) = try Self.split(path)
            start = try base(for: path, dirfd: dirfd)
        } catch {
            return notify.isValid(id) ? .failure(error) : .gone
        }
        defer { close(start.fd) }
        // As the caller, with CAP_MKNOD granted for a device the policy allowed: the walk to the
        // parent and the parent's permissions are checked against the caller's ids and capabilities.
        let type = DeviceNumbers.type(mode)
        let grant = type == .char || type == .block ? UInt64(1) << Caller.capMknod : 0
        return withCallerCredentials(granting: grant) { () -> Outcome in
            let parent = sonde_openat2(start.fd, parentPath, UInt64(O_PATH | O_DIRECTORY | O_CLOEXEC), 0, start.resolve)
            if parent < 0 {
                let error = Errno.current
                return notify.isValid(id) ? .failure(error) : .gone
            }
            defer { close(parent) }
            guard notify.isValid(id) else { return .gone }
            return sonde_mknodat(parent, name, mode, device) < 0 ? .failure(Errno.current) : .result(0)
        }
    }

    /// Sets an attribute with the caller's ids and its own capabilities only, plus CAP_SYS_ADMIN for a
    /// trusted.* or security.* name the policy allowed a privileged caller (Decision.checked). A
    /// security.capability is never granted: only a caller holding CAP_SETFCAP on the host sets one.
    public func setxattr(target xattrTarget: XattrTarget, name: String, value: [UInt8], flags: Int32) -> Outcome {
        let target: Int32
        do throws(Errno) {
            switch xattrTarget {
            case .path(let path, let follow): target = try resolve(path, dirfd: nil, flags: follow ? 0 : O_NOFOLLOW)
            case .fd(let fd): target = try callerFile(fd)
            }
        } catch {
            return notify.isValid(id) ? .failure(error) : .gone
        }
        defer { close(target) }
        let grant: UInt64 = InterceptedCall.privilegeNeeded(xattr: name) == Caller.capSysAdmin ? UInt64(1) << Caller.capSysAdmin : 0
        // A path is resolved inside the caller's root; an fd is not: one leaked in from the host (a
        // runtime's, an exec'd tool's) would take the granted capability outside the container.
        if grant != 0, case .fd(let fd) = xattrTarget, !callerMountsHold(fd: fd) {
            return notify.isValid(id) ? .failure(Errno(rawValue: EPERM)) : .gone
        }
        var info = stat()
        if fstat(target, &info) != 0 { return .failure(Errno.current) }
        // fsetxattr needs a real open file; reopening an O_PATH fd of a device or fifo would run its
        // open side effects, so only regular files and directories are reopened. The reopen is the
        // agent's (setxattr(2) needs no read permission); the attribute is set as the caller.
        let type = info.st_mode & S_IFMT
        guard type == S_IFREG || type == S_IFDIR else { return .failure(Errno(rawValue: EPERM)) }
        // Through our own fd's magic link, which must be followed (no O_NOFOLLOW).
        let file = open("/proc/self/fd/\(target)", O_RDONLY | O_CLOEXEC | O_NONBLOCK | (type == S_IFDIR ? O_DIRECTORY : 0))
        if file < 0 { return .failure(Errno.current) }
        defer { close(file) }
        guard notify.isValid(id) else { return .gone }
        return withCallerCredentials(granting: grant) {
            let done = value.withUnsafeBytes { sonde_fsetxattr(file, name, $0.baseAddress, value.count, flags) }
            return done < 0 ? .failure(Errno.current) : .result(0)
        }
    }

    /// Opens `name` (close-on-exec) below the caller's /proc/PID: through the cached directory fd,
    /// which is bound to the caller, or by path when there is none.
    func openInProc(_ name: String, _ flags: Int32) -> Int32 {
        procDirectory.map { openat($0, name, flags | O_CLOEXEC) } ?? open("/proc/\(pid)/\(name)", flags | O_CLOEXEC)
    }

    /// The file behind one of the caller's fds, as an O_PATH fd of the agent (through the caller's
    /// /proc/PID/fd link: the same open file, checked valid by the caller afterwards).
    func callerFile(_ fd: Int32) throws(Errno) -> Int32 {
        let opened = openInProc("fd/\(fd)", O_PATH)
        if opened < 0 { throw Errno.current == .notFound ? Errno(rawValue: EBADF) : Errno.current }
        return opened
    }

    /// Whether the caller's fd is on a mount of the caller's mount namespace (its fdinfo's mnt_id is
    /// one of its mountinfo's; mount ids are unique across namespaces).
    func callerMountsHold(fd: Int32) -> Bool {
        func read(_ name: String) -> String? {
            let file = openInProc(name, O_RDONLY)
            guard file >= 0 else { return nil }
            defer { close(file) }
            let data = try? FileHandle(fileDescriptor: file, closeOnDealloc: false).readToEnd()
            return data.map { String(decoding: $0 ?? Data(), as: UTF8.self) }
        }
        guard let info = read("fdinfo/\(fd)"),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("mnt_id:") }),
              let mountID = Int(line.dropFirst("mnt_id:".count).trimmingCharacters(in: .whitespaces)),
              let mounts = read("mountinfo") else { return false }
        return mounts.split(separator: "\n").contains { $0.split(separator: " ", maxSplits: 1).first.flatMap { Int($0) } == mountID }
    }

    /// Opens a mount's target (and a bind mount's source) in the caller's root and hands them to the
    /// container's helper. A caller with no_new_privs gets a nosuid mount: it asked never to gain
    /// privileges, and a mount made for it must not add a way.
    public func mount(source: String?, target: String, fstype: String?, flags: UInt64, data: String?,
                      helper: () throws(Errno) -> MountHelper) -> Outcome {
        var fds: [Int32] = []
        defer { for fd in fds { close(fd) } }
        var mountFlags = MountFlags(syscallFlags: flags)
        if status.noNewPrivileges { mountFlags.insert(.nosuid) }
        do throws(Errno) {
            // mount(2) follows symlinks in the target, inside the caller's root; both paths are walked
            // as the caller, so it cannot mount over or from a place it could not reach.
            fds.append(try resolve(target, dirfd: nil, flags: 0))
            if mountFlags.contains(.bind) {
                guard let source else { throw Errno(rawValue: EFAULT) }
                fds.append(try resolve(source, dirfd: nil, flags: 0))
            }
        } catch {
            return notify.isValid(id) ? .failure(error) : .gone
        }
        guard notify.isValid(id) else { return .gone }
        do {
            let request = MountHelper.Request(bind: mountFlags.contains(.bind), fstype: fstype, source: source,
                                              flags: mountFlags.rawValue, data: data)
            let error = try helper().perform(request, fds: fds)
            return error == 0 ? .result(0) : .failure(Errno(rawValue: error))
        } catch {
            return .failure(error)
        }
    }
}

/// The fs credentials, supplementary groups, capabilities and umask of one session thread, switched
/// to a caller's for one call. setfsuid/setfsgid, the raw setgroups and capset act on the calling
/// thread only, and the session thread unshared its fs_struct (CLONE_FS), so its umask is its own
/// too: nothing here touches the rest of the agent. The umask, groups and fs ids are switched only
/// when they differ from the thread's; the capabilities are set for every call and put back after it.
public final class ThreadCredentials {
    private let ownUID = UInt32(geteuid()), ownGID = UInt32(getegid())
    private var mask: UInt32
    /// The groups the thread holds now: the last caller's (they are left in place between calls:
    /// with its own ids and capabilities back, the agent's thread is root and groups add nothing).
    private var groups: [UInt32]
    private var effective: UInt64 = 0, permitted: UInt64 = 0, inheritable: UInt64 = 0

    public init() {
        let current = umask(0o022)
        umask(current)
        mask = UInt32(current)
        let count = getgroups(0, nil)
        var own = [gid_t](repeating: 0, count: Int(max(count, 0)))
        if count > 0 { _ = getgroups(count, &own) }
        groups = own.map { UInt32($0) }
        _ = sonde_get_capabilities(&effective, &permitted, &inheritable)
    }

    /// Runs `body` with the caller's fsuid, fsgid, supplementary groups and umask, and with no
    /// capability but `capabilities` (the caller's own, where they are host capabilities) and
    /// `granted` (what the policy allows on its behalf: CAP_MKNOD for an allowed device). The agent's
    /// own capabilities never take part: a root caller without CAP_DAC_OVERRIDE is held to the
    /// directory's permissions, as the kernel would hold it.
    public func act<T>(as caller: TargetStatus, capabilities: UInt64, granting granted: UInt64 = 0, _ body: () -> T) -> T {
        // The umask stays the last caller's: nothing else this thread does depends on it.
        if caller.umask & 0o777 != mask {
            mask = caller.umask & 0o777
            umask(mode_t(mask))
        }
        if caller.groups != groups {
            if caller.groups.withUnsafeBufferPointer({ sonde_thread_setgroups($0.baseAddress, Int32($0.count)) }) == 0 {
                groups = caller.groups
            } else {
                // Without the caller's groups the call must not run with whatever the thread holds.
                _ = sonde_thread_setgroups(nil, 0)
                groups = []
            }
        }
        let switchUID = caller.fsuid != ownUID, switchGID = caller.fsgid != ownGID
        if switchGID { sonde_setfsgid(caller.fsgid) }
        if switchUID { sonde_setfsuid(caller.fsuid) }
        // setfsuid away from 0 has dropped the filesystem capabilities; capset sets the exact set.
        let wanted = (capabilities | granted) & permitted
        _ = sonde_set_capabilities(wanted, permitted, inheritable)
        // Back to the agent's own ids and capabilities before anything else: /proc/PID access is
        // checked with them.
        defer {
            if switchUID { sonde_setfsuid(ownUID) }
            if switchGID { sonde_setfsgid(ownGID) }
            _ = sonde_set_capabilities(effective, permitted, inheritable)
        }
        return body()
    }
}
