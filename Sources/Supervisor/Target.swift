#if canImport(Glibc)
import Glibc
#endif
import CSonde
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
    public var gid: UInt32 = 0
    public var fsuid: UInt32 = 0
    public var fsgid: UInt32 = 0
    public var umask: UInt32 = 0o022
    /// The effective capabilities (in the caller's own user namespace).
    public var capEff: UInt64 = 0
    /// The CapEff line was read whole (a status without it is not trusted).
    public var sawCapabilities = false

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
                    fsuid = UInt32(truncatingIfNeeded: Self.number(field, radix: 10, index: 3) ?? 0)
                } else if key("Gid") {
                    gid = UInt32(truncatingIfNeeded: Self.number(field, radix: 10, index: 0) ?? 0)
                    fsgid = UInt32(truncatingIfNeeded: Self.number(field, radix: 10, index: 3) ?? 0)
                } else if key("CapEff") {
                    capEff = Self.number(field, radix: 16, index: 0) ?? 0
                    sawCapabilities = true
                    return   // nothing after CapEff is needed
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
        if fd < 0 { throw Errno(rawValue: ESRCH) }
        defer { close(fd) }
        return try read(fd: fd)
    }

    /// Reads an open /proc/PID/status from its start (seq_file regenerates it on each read at 0)
    /// up to its CapEff line.
    public static func read(fd: Int32) throws(Errno) -> TargetStatus {
        // Name, Umask, Tgid, PPid, Uid, Gid come first; CapEff at about byte 800, after the Groups
        // line, which a process with many supplementary groups makes as long as it likes: read on
        // until CapEff's line is whole.
        var buffer = [UInt8](repeating: 0, count: 4096)
        var total = 0
        while true {
            if total == buffer.count { buffer += [UInt8](repeating: 0, count: buffer.count) }
            let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + total, $0.count - total, off_t(total)) }
            if got < 0 { throw Errno(rawValue: ESRCH) }
            if got == 0 { break }
            total += got
            let status = TargetStatus(bytes: Array(buffer[..<total]))
            if status.sawCapabilities { return status }
        }
        throw Errno(rawValue: ESRCH) // gone, or no CapEff: never guess its capabilities
    }
}

/// Open /proc/TID directories and status files of a container's recent callers, so a call costs a
/// pread and a one-component openat instead of full /proc path walks. Safe to keep: a proc fd stays
/// bound to the task it was opened for (its struct pid), so once that task is gone reads and lookups
/// fail (ESRCH/ENOENT) - they never reach a process that reused the number. Confined to one session thread.
final class ProcessFiles {
    private var files: [Int32: (directory: Int32, status: Int32)] = [:]
    static let limit = 64

    func read(tid: Int32) throws(Errno) -> TargetStatus {
        if let cached = files[tid] {
            if let status = try? TargetStatus.read(fd: cached.status) { return status }
            forget(tid)
        }
        if files.count >= Self.limit { closeAll() }
        let directory = open("/proc/\(tid)", O_PATH | O_DIRECTORY | O_CLOEXEC)
        if directory < 0 { throw Errno(rawValue: ESRCH) }
        let status = openat(directory, "status", O_RDONLY | O_CLOEXEC)
        if status < 0 { close(directory); throw Errno(rawValue: ESRCH) }
        files[tid] = (directory, status)
        return try TargetStatus.read(fd: status)
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
