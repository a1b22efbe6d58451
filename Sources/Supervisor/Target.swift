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
                return String(decoding: bytes, as: UTF8.self)
            }
            bytes += chunk
            cursor += UInt64(chunk.count)
        }
        throw tooLong
    }
}

/// The memory of a live process, by pid.
public struct ProcessMemory: TargetMemory {
    public let pid: Int32
    public init(pid: Int32) { self.pid = pid }

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

    /// Parses the text of /proc/PID/status (ids there are in the reader's user namespace: the host's).
    public init(text: String) { self.init(bytes: Array(text.utf8)) }

    /// Parses the bytes of /proc/PID/status. Works on bytes, not String: this runs once per
    /// notification, and String's character-level indexing cost more than the rest of a call.
    public init(bytes: [UInt8]) {
        var lineStart = 0
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count && bytes[lineEnd] != 0x0a { lineEnd += 1 }
            if let colon = bytes[lineStart..<lineEnd].firstIndex(of: 0x3a) {
                var valueStart = colon + 1
                while valueStart < lineEnd && (bytes[valueStart] == 0x09 || bytes[valueStart] == 0x20) { valueStart += 1 }
                let key = bytes[lineStart..<colon], value = bytes[valueStart..<lineEnd]
                switch key.count {
                case 3 where key.elementsEqual("Uid".utf8):
                    let ids = Self.numbers(value, radix: 10)
                    if ids.count == 4 { uid = UInt32(truncatingIfNeeded: ids[0]); fsuid = UInt32(truncatingIfNeeded: ids[3]) }
                case 3 where key.elementsEqual("Gid".utf8):
                    let ids = Self.numbers(value, radix: 10)
                    if ids.count == 4 { gid = UInt32(truncatingIfNeeded: ids[0]); fsgid = UInt32(truncatingIfNeeded: ids[3]) }
                case 4 where key.elementsEqual("Name".utf8): name = String(decoding: value, as: UTF8.self)
                case 4 where key.elementsEqual("Tgid".utf8): tgid = Int32(truncatingIfNeeded: Self.numbers(value, radix: 10).first ?? 0)
                case 4 where key.elementsEqual("PPid".utf8): ppid = Int32(truncatingIfNeeded: Self.numbers(value, radix: 10).first ?? 0)
                case 5 where key.elementsEqual("Umask".utf8): umask = UInt32(truncatingIfNeeded: Self.numbers(value, radix: 8).first ?? 0o022)
                case 6 where key.elementsEqual("CapEff".utf8):
                    capEff = value.reduce(0) { acc, byte in
                        let digit: UInt64
                        switch byte {
                        case 0x30...0x39: digit = UInt64(byte - 0x30)
                        case 0x61...0x66: digit = UInt64(byte - 0x61 + 10)
                        default: return acc
                        }
                        return acc << 4 | digit
                    }
                    return   // nothing after CapEff is needed
                default: break
                }
            }
            lineStart = lineEnd + 1
        }
    }

    /// Whitespace-separated unsigned numbers.
    static func numbers(_ bytes: ArraySlice<UInt8>, radix: UInt64) -> [UInt64] {
        var out: [UInt64] = []
        var current: UInt64 = 0, inNumber = false
        for byte in bytes {
            if byte >= 0x30 && byte < 0x30 + UInt8(radix) {
                current = current &* radix &+ UInt64(byte - 0x30)
                inNumber = true
            } else {
                if inNumber { out.append(current) }
                current = 0
                inNumber = false
            }
        }
        if inNumber { out.append(current) }
        return out
    }

    public init() {}

    public static func read(pid: Int32) throws(Errno) -> TargetStatus {
        let fd = open("/proc/\(pid)/status", O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw Errno(rawValue: ESRCH) }
        defer { close(fd) }
        return try read(fd: fd)
    }

    /// Reads an open /proc/PID/status from its start (seq_file regenerates it on each read at 0).
    public static func read(fd: Int32) throws(Errno) -> TargetStatus {
        // Name, Umask, Tgid, PPid, Uid, Gid come first; CapEff at about byte 800 (after the signal masks).
        var buffer = [UInt8](repeating: 0, count: 2048)
        let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        if got <= 0 { throw Errno(rawValue: ESRCH) }
        buffer.removeSubrange(got...)
        return TargetStatus(bytes: buffer)
    }
}

/// Open /proc/TID/status files of a container's recent callers, so a call costs one pread instead
/// of open + read + close. Safe to keep: a proc fd stays bound to the task it was opened for (its
/// struct pid), so once that task is gone reads fail with ESRCH - they never show a process that
/// reused the number. Confined to one session thread.
final class StatusFiles {
    private var files: [Int32: Int32] = [:]
    static let limit = 64

    func read(tid: Int32) throws(Errno) -> TargetStatus {
        if let fd = files[tid] {
            if let status = try? TargetStatus.read(fd: fd) { return status }
            close(fd)
            files[tid] = nil
        }
        if files.count >= Self.limit { closeAll() }
        let fd = open("/proc/\(tid)/status", O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw Errno(rawValue: ESRCH) }
        files[tid] = fd
        return try TargetStatus.read(fd: fd)
    }

    func closeAll() {
        for fd in files.values { close(fd) }
        files.removeAll()
    }
}
