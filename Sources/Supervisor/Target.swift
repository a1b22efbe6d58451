#if canImport(Glibc)
import Glibc
#endif
import CSonde
import Foundation
import LinuxKit

/// A seccomp notify fd: receive notifications, check they are still valid, answer them.
/// Not owned: the session that adopted it closes it.
public struct NotifyFD: Sendable {
    public let raw: Int32
    public init(_ raw: Int32) { self.raw = raw }

    /// Refuses to run on a kernel whose notification structures are larger than the ones sonde was
    /// built with: RECV copies the kernel's size into our buffer (seccomp_unotify(2) asks for this check).
    public static func checkKernelSizes() throws(SondeError) {
        var sizes = seccomp_notif_sizes()
        if sonde_notif_sizes(&sizes) != 0 {
            throw SondeError(.kernelFeatureMissing, "seccomp user notification is not available", errno: Errno.current)
        }
        if Int(sizes.seccomp_notif) > MemoryLayout<seccomp_notif>.size || Int(sizes.seccomp_notif_resp) > MemoryLayout<seccomp_notif_resp>.size {
            throw SondeError(.kernelFeatureMissing, "the kernel's seccomp notification structures (\(sizes.seccomp_notif)/\(sizes.seccomp_notif_resp) bytes) are larger than sonde's",
                             hint: "rebuild sonde against this kernel's headers")
        }
    }

    /// The next notification; nil when the call it was for is gone (ENOENT: the target was killed or
    /// interrupted between poll and receive - normal, not an error).
    public func receive() throws(SondeError) -> seccomp_notif? {
        var notification = seccomp_notif()
        while sonde_notif_recv(raw, &notification) != 0 {
            let error = Errno.current
            if error == .interrupted { continue }
            if error == .notFound { return nil }
            throw SondeError.system("SECCOMP_IOCTL_NOTIF_RECV", error)
        }
        return notification
    }

    /// Whether the target is still blocked in the notified call. After a false, nothing read from
    /// /proc/PID or its memory may be trusted: the pid may already be another process.
    public func isValid(_ id: UInt64) -> Bool { sonde_notif_id_valid(raw, id) == 0 }

    /// Answers a call: `value` as its return value, or `error` (a positive errno) as its failure.
    /// Returns false when the target is gone (ENOENT), which is normal.
    @discardableResult
    public func respond(id: UInt64, value: Int64 = 0, error: Int32 = 0, continueCall: Bool = false) -> Bool {
        var response = seccomp_notif_resp()
        response.id = id
        response.val = value
        response.error = error == 0 ? 0 : -error
        response.flags = continueCall ? UInt32(SECCOMP_USER_NOTIF_FLAG_CONTINUE) : 0
        while sonde_notif_send(raw, &response) != 0 {
            if Errno.current == .interrupted { continue }
            return false
        }
        return true
    }
}

/// Reads what a call points at in its caller's memory (process_vm_readv).
public protocol TargetMemory {
    /// Copies `count` bytes at `address` of the target.
    func read(_ address: UInt64, count: Int) throws(Errno) -> [UInt8]
    /// A NUL-terminated string; see the default implementation.
    func string(_ address: UInt64, limit: Int, tooLong: Errno) throws(Errno) -> String
}

extension TargetMemory {
    /// A NUL-terminated string of at most `limit` bytes (without the NUL); `tooLong` is the errno
    /// the kernel gives for a longer one (ENAMETOOLONG for paths, ERANGE for xattr names).
    public func string(_ address: UInt64, limit: Int, tooLong: Errno) throws(Errno) -> String {
        if address == 0 { throw Errno(rawValue: EFAULT) }
        var bytes: [UInt8] = []
        var cursor = address
        // Read up to each page end: the next page may be unmapped while the string ends before it.
        while bytes.count <= limit {
            let pageRest = 4096 - Int(cursor % 4096)
            let chunk = try read(cursor, count: min(pageRest, limit + 1 - bytes.count))
            if let end = chunk.firstIndex(of: 0) {
                bytes += chunk[..<end]
                return try Self.text(bytes)
            }
            bytes += chunk
            cursor += UInt64(chunk.count)
        }
        throw tooLong
    }
}

extension TargetMemory {
    /// A path or name as the caller gave it. Bytes that are not UTF-8 get EINVAL: a String would
    /// replace them (U+FFFD), and sonde would create or change another file than the one asked for.
    static func text<Bytes: Collection<UInt8>>(_ bytes: Bytes) throws(Errno) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw Errno(rawValue: EINVAL) }
        return text
    }
}

/// The memory of a live process, by pid.
public struct ProcessMemory: TargetMemory {
    public let pid: Int32
    public init(pid: Int32) { self.pid = pid }

    /// The string read straight into one scratch buffer, page by page (a path is read once per call).
    public func string(_ address: UInt64, limit: Int, tooLong: Errno) throws(Errno) -> String {
        if address == 0 { throw Errno(rawValue: EFAULT) }
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: limit + 1) { (buffer) throws(Errno) -> String in
            var length = 0
            var cursor = address
            while length <= limit {
                let want = min(4096 - Int(cursor % 4096), limit + 1 - length)
                let got = sonde_process_vm_read(pid, buffer.baseAddress! + length, cursor, want)
                if got <= 0 { throw Errno.current == .notFound ? Errno(rawValue: ESRCH) : Errno(rawValue: EFAULT) }
                if let nul = UnsafeBufferPointer(rebasing: buffer[length..<length + got]).firstIndex(of: 0) {
                    // (a rebased buffer counts from 0)
                    return try Self.text(UnsafeBufferPointer(rebasing: buffer[..<(length + nul)]))
                }
                length += got
                cursor += UInt64(got)
            }
            throw tooLong
        }
    }

    public func read(_ address: UInt64, count: Int) throws(Errno) -> [UInt8] {
        if count == 0 { return [] }
        var buffer = [UInt8](repeating: 0, count: count)
        let got = buffer.withUnsafeMutableBytes { raw -> Int in
            sonde_process_vm_read(pid, raw.baseAddress, address, count)
        }
        if got < 0 { throw Errno.current == .notFound ? Errno(rawValue: ESRCH) : Errno(rawValue: EFAULT) }
        if got == 0 { throw Errno(rawValue: EFAULT) }
        return Array(buffer[..<got])
    }
}

/// What /proc/PID/status says about the caller: the credentials the emulation acts with.
public struct TargetStatus: Sendable, Equatable {
    public var name = ""
    public var tgid: Int32 = 0
    public var ppid: Int32 = 0
    public var uid: UInt32 = 0
    public var euid: UInt32 = 0
    public var gid: UInt32 = 0
    public var fsuid: UInt32 = 0
    public var fsgid: UInt32 = 0
    public var umask: UInt32 = 0o022
    /// Supplementary groups (host ids, as the agent reads them).
    public var groups: [UInt32] = []
    /// The effective capabilities (in the caller's own user namespace: see `userNamespace`).
    public var capEff: UInt64 = 0
    /// prctl(PR_SET_NO_NEW_PRIVS): the caller asked never to gain privileges.
    public var noNewPrivileges = false
    /// The NoNewPrivs line (after CapEff) was read whole: a status cut before it is not trusted.
    public var sawCapabilities = false
    /// The inode of the caller's user namespace (/proc/TID/ns/user); 0 when not read. Its
    /// capabilities mean something only in that namespace.
    public var userNamespace: UInt64 = 0

    /// Parses the text of /proc/PID/status (ids there are in the reader's user namespace: the host's).
    public init(text: String) { self.init(bytes: Array(text.utf8)) }

    /// Parses the bytes of /proc/PID/status. Works on raw bytes, not String: this runs once per
    /// notification, and String's character-level work cost more than the rest of a call.
    public init(bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { b in
            var i = 0
            while i < b.count {
                let lineStart = i
                while i < b.count && b[i] != 0x0a { i += 1 }
                let lineEnd = i
                // A line cut by the end of what was read is not a value (a CapEff cut short would
                // read as other capabilities).
                guard lineEnd < b.count else { break }
                i += 1
                var colon = lineStart
                while colon < lineEnd && b[colon] != 0x3a { colon += 1 }
                guard colon < lineEnd else { continue }
                var value = colon + 1
                while value < lineEnd && (b[value] == 0x09 || b[value] == 0x20) { value += 1 }
                func key(_ name: StaticString) -> Bool {
                    guard colon - lineStart == name.utf8CodeUnitCount else { return false }
                    for k in 0..<name.utf8CodeUnitCount where b[lineStart + k] != name.utf8Start[k] { return false }
                    return true
                }
                let field = UnsafeBufferPointer(rebasing: b[value..<lineEnd])
                if key("Name") { name = String(decoding: field, as: UTF8.self) }
                else if key("Umask") { umask = UInt32(truncatingIfNeeded: Self.number(field, radix: 8, index: 0) ?? 0o022) }
                else if key("Tgid") { tgid = Int32(truncatingIfNeeded: Self.number(field, radix: 10, index: 0) ?? 0) }
                else if key("PPid") { ppid = Int32(truncatingIfNeeded: Self.number(field, radix: 10, index: 0) ?? 0) }
                else if key("Uid") {
                    uid = UInt32(truncatingIfNeeded: Self.number(field, radix: 10, index: 0) ?? 0)
                    euid = UInt32(truncatingIfNeeded: Self.number(field, radix: 10, index: 1) ?? 0)
                    fsuid = UInt32(truncatingIfNeeded: Self.number(field, radix: 10, index: 3) ?? 0)
                } else if key("Gid") {
                    gid = UInt32(truncatingIfNeeded: Self.number(field, radix: 10, index: 0) ?? 0)
                    fsgid = UInt32(truncatingIfNeeded: Self.number(field, radix: 10, index: 3) ?? 0)
                } else if key("Groups") {
                    var index = 0
                    while let group = Self.number(field, radix: 10, index: index) {
                        groups.append(UInt32(truncatingIfNeeded: group))
                        index += 1
                    }
                } else if key("CapEff") {
                    capEff = Self.number(field, radix: 16, index: 0) ?? 0
                } else if key("NoNewPrivs") {
                    noNewPrivileges = (Self.number(field, radix: 10, index: 0) ?? 0) != 0
                    sawCapabilities = true
                    return   // nothing after NoNewPrivs is needed
                }
            }
        }
    }

    /// The `index`th whitespace-separated number of a field (digits 0-9, a-f for radix 16).
    static func number(_ field: UnsafeBufferPointer<UInt8>, radix: UInt64, index: Int) -> UInt64? {
        var current: UInt64 = 0, inNumber = false, seen = 0
        for byte in field {
            let digit: UInt64
            switch byte {
            case 0x30...0x39: digit = UInt64(byte - 0x30)
            case 0x61...0x66: digit = UInt64(byte - 0x61 + 10)
            default: digit = radix
            }
            if digit < radix {
                current = current &* radix &+ digit
                inNumber = true
            } else if inNumber {
                if seen == index { return current }
                seen += 1
                current = 0
                inNumber = false
            }
        }
        return inNumber && seen == index ? current : nil
    }

    public init() {}

    public static func read(pid: Int32) throws(Errno) -> TargetStatus {
        let fd = open("/proc/\(pid)/status", O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw procError() }
        defer { close(fd) }
        return try read(fd: fd)
    }

    /// The errno of a failed /proc access, as what it is: ENOENT (and ESRCH) mean the process is
    /// gone; EMFILE, ENFILE, ENOMEM are the agent running short, and must not read as "gone".
    static func procError() -> Errno {
        let error = Errno.current
        return error == .notFound ? Errno(rawValue: ESRCH) : error
    }

    /// Reads an open /proc/PID/status from its start (seq_file regenerates it on each read at 0)
    /// up to its NoNewPrivs line.
    public static func read(fd: Int32) throws(Errno) -> TargetStatus {
        // Name, Umask, Tgid, PPid, Uid, Gid come first; CapEff and NoNewPrivs at about byte 900,
        // after the Groups line, which a process with many supplementary groups makes as long as it
        // likes: read on until NoNewPrivs' line is whole.
        var buffer = [UInt8](repeating: 0, count: 4096)
        var total = 0
        while true {
            if total == buffer.count { buffer += [UInt8](repeating: 0, count: buffer.count) }
            let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + total, $0.count - total, off_t(total)) }
            if got < 0 { throw procError() }
            if got == 0 { break }
            total += got
            let status = TargetStatus(bytes: Array(buffer[..<total]))
            if status.sawCapabilities { return status }
        }
        throw Errno(rawValue: ESRCH) // gone, or no NoNewPrivs: never guess its capabilities
    }
}

/// Open /proc/TID directories and status files of a container's recent callers, so a call costs a
/// pread and a one-component openat instead of full /proc path walks. Safe to keep: a proc fd stays
/// bound to the task it was opened for (its struct pid), so once that task is gone reads and lookups
/// fail (ESRCH/ENOENT) - they never reach a process that reused the number. Confined to one session thread.
final class ProcessFiles {
    private var files: [Int32: (directory: Int32, status: Int32)] = [:]
    static let limit = 64

    /// The caller's status and user namespace. Errors are what they are (TargetStatus.procError):
    /// running out of fds frees this cache and tries once more before it fails.
    func read(tid: Int32) throws(Errno) -> TargetStatus {
        do throws(Errno) { return try readOnce(tid: tid) } catch where error.rawValue == EMFILE || error.rawValue == ENFILE {
            closeAll()
            return try readOnce(tid: tid)
        }
    }

    private func readOnce(tid: Int32) throws(Errno) -> TargetStatus {
        if let cached = files[tid] {
            if var status = try? TargetStatus.read(fd: cached.status) {
                status.userNamespace = try Self.userNamespace(cached.directory)
                return status
            }
            forget(tid)
        }
        if files.count >= Self.limit { closeAll() }
        let directory = open("/proc/\(tid)", O_PATH | O_DIRECTORY | O_CLOEXEC)
        if directory < 0 { throw TargetStatus.procError() }
        let status = openat(directory, "status", O_RDONLY | O_CLOEXEC)
        if status < 0 { let error = TargetStatus.procError(); close(directory); throw error }
        files[tid] = (directory, status)
        var read = try TargetStatus.read(fd: status)
        read.userNamespace = try Self.userNamespace(directory)
        return read
    }

    /// The inode of the user namespace of the task behind a /proc/TID directory fd (fstatat follows
    /// the ns/user link to its nsfs inode; the fd is bound to the task, never to a reused pid).
    static func userNamespace(_ directory: Int32) throws(Errno) -> UInt64 {
        var info = stat()
        guard fstatat(directory, "ns/user", &info, 0) == 0 else { throw TargetStatus.procError() }
        return UInt64(info.st_ino)
    }

    /// The /proc/TID directory fd of a caller whose status was read, if cached.
    func directory(tid: Int32) -> Int32? { files[tid]?.directory }

    func forget(_ tid: Int32) {
        guard let cached = files.removeValue(forKey: tid) else { return }
        close(cached.status)
        close(cached.directory)
    }

    func closeAll() {
        for cached in files.values { close(cached.status); close(cached.directory) }
        files.removeAll()
    }
}

/// A container's user namespace, read once when its notify fd is adopted (from the process the
/// runtime named): the namespace its root lives in, and the host uid that root is.
public struct ContainerUserNamespace: Sendable, Equatable {
    /// The nsfs inode; 0 when it could not be read (the process was gone): then no caller counts as
    /// privileged, since none can be shown to be in it.
    public var inode: UInt64
    /// A namespace of its own, not the agent's (the host's).
    public var own: Bool
    /// The host uid that uid 0 inside maps to; nil when 0 is not mapped.
    public var rootUID: UInt32?

    public init(inode: UInt64, own: Bool, rootUID: UInt32?) {
        self.inode = inode
        self.own = own
        self.rootUID = rootUID
    }

    public static func of(pid: Int32) -> ContainerUserNamespace {
        guard let inode = try? Files.inode("/proc/\(pid)/ns/user"), let mine = try? Files.inode("/proc/self/ns/user"),
              let map = try? String(contentsOfFile: "/proc/\(pid)/uid_map", encoding: .utf8)
        else { return ContainerUserNamespace(inode: 0, own: true, rootUID: nil) }
        return ContainerUserNamespace(inode: UInt64(inode), own: inode != mine, rootUID: rootUID(uidMap: map))
    }

    /// The outside id of inside id 0 in a uid_map ("inside outside count" per line).
    public static func rootUID(uidMap: String) -> UInt32? {
        for line in uidMap.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).compactMap { UInt32($0) }
            if fields.count == 3, fields[0] == 0, fields[2] > 0 { return fields[1] }
        }
        return nil
    }
}
