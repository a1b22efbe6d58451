#if canImport(Glibc)
import Glibc
#endif

/// One line of /proc/self/mountinfo.
public struct MountEntry: Sendable, Equatable {
    public let mountPoint: String
    public let filesystemType: String
}

/// The mounts this process sees.
public enum MountTable {
    public static func current() throws(SondeError) -> [MountEntry] {
        parse(try Files.readText("/proc/self/mountinfo"))
    }

    /// Parses mountinfo: "36 35 0:30 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw".
    static func parse(_ text: String) -> [MountEntry] {
        var entries: [MountEntry] = []
        for line in text.split(separator: "\n") {
            let halves = line.split(separator: " - ", maxSplits: 1, omittingEmptySubsequences: false)
            guard halves.count == 2 else { continue }
            let fields = halves[0].split(separator: " ")
            let tail = halves[1].split(separator: " ")
            guard fields.count >= 5, let type = tail.first else { continue }
            entries.append(MountEntry(mountPoint: unescape(String(fields[4])), filesystemType: String(type)))
        }
        return entries
    }

    /// mountinfo escapes space, tab, newline and backslash as \ooo (three octal digits).
    static func unescape(_ s: String) -> String {
        let bytes = Array(s.utf8)
        var out = [UInt8]()
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\"), i + 3 < bytes.count,
               let value = UInt8(String(decoding: bytes[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(value)
                i += 4
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The kernel filesystems sonde needs, mounted on demand (a fresh machine may have neither).
public enum KernelFilesystems {
    public static let tracefsPath = "/sys/kernel/tracing"
    public static let bpffsPath = "/sys/fs/bpf"

    /// Mounts tracefs at /sys/kernel/tracing unless it is already there. Tracepoint programs
    /// need it: libbpf resolves tracepoint ids from tracefs's events directory.
    public static func ensureTracefs() throws(SondeError) {
        try ensureMounted(type: "tracefs", at: tracefsPath)
    }

    /// Mounts bpffs at /sys/fs/bpf unless it is already there (for pinned maps and programs).
    public static func ensureBPFFS() throws(SondeError) {
        try ensureMounted(type: "bpf", at: bpffsPath)
    }

    static func isMounted(_ path: String, type: String) -> Bool {
        (try? MountTable.current())?.contains { $0.mountPoint == path && $0.filesystemType == type } ?? false
    }

    static func ensureMounted(type: String, at path: String) throws(SondeError) {
        if isMounted(path, type: type) { return }
        if mount(type, path, type, 0, nil) != 0 {
            let error = Errno.current
            // Another sonde may have mounted it in between.
            if isMounted(path, type: type) { return }
            throw SondeError(.kernelFeatureMissing, "cannot mount \(type) at \(path)",
                             hint: "mount it by hand: mount -t \(type) \(type) \(path)", errno: error)
        }
    }
}
