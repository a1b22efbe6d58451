import Foundation

/// The cgroup v2 (unified) hierarchy. sonde keys per-container kernel state by cgroup v2 id, which
/// is what bpf_get_current_cgroup_id() returns and equals the inode number of the cgroup directory.
public struct CgroupV2: Sendable {
    /// Where cgroup2 is mounted: /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones.
    public let mountPoint: String

    public init(mountPoint: String) { self.mountPoint = mountPoint }

    /// Finds the cgroup2 mount in /proc/self/mountinfo.
    public static func find() throws(SondeError) -> CgroupV2 {
        guard let entry = try MountTable.current().first(where: { $0.filesystemType == "cgroup2" }) else {
            throw SondeError(.kernelFeatureMissing, "no cgroup v2 (unified) hierarchy is mounted",
                             hint: "mount it: mount -t cgroup2 none /sys/fs/cgroup/unified")
        }
        return CgroupV2(mountPoint: entry.mountPoint)
    }

    /// Normalises a cgroup path as users write it ("/system.slice/foo.service", "foo", or the full
    /// /sys/fs/cgroup/... path) to a path relative to the hierarchy root, starting with "/".
    /// Rejects ".." so a hostile name cannot leave the hierarchy.
    public func normalize(_ path: String) throws(SondeError) -> String {
        var relative = path
        if relative.hasPrefix(mountPoint + "/") || relative == mountPoint {
            relative = String(relative.dropFirst(mountPoint.count))
        }
        let parts = relative.split(separator: "/", omittingEmptySubsequences: true)
        if parts.contains("..") {
            throw SondeError(.invalidArgument, "cgroup path \(path) must not contain '..'")
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The absolute directory of a hierarchy-relative cgroup path.
    public func directory(of path: String) -> String {
        path == "/" ? mountPoint : mountPoint + path
    }

    /// The cgroup id of a hierarchy-relative path.
    public func id(of path: String) throws(SondeError) -> UInt64 {
        let dir = directory(of: path)
        do {
            return try Files.inode(dir)
        } catch {
            throw SondeError(.notFound, "no cgroup \(path) under \(mountPoint)", errno: error.errno)
        }
    }

    /// The path and id of the cgroup itself and every cgroup below it (a container may nest its own).
    public func subtree(of path: String) -> [(path: String, id: UInt64)] {
        var result: [(String, UInt64)] = []
        var stack = [path]
        while let current = stack.popLast() {
            guard let id = try? id(of: current) else { continue } // removed meanwhile
            result.append((current, id))
            let dir = directory(of: current)
            guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
            for entry in entries {
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: dir + "/" + entry, isDirectory: &isDir), isDir.boolValue {
                    stack.append(current == "/" ? "/" + entry : current + "/" + entry)
                }
            }
        }
        return result
    }

    /// The v2 cgroup of a process, relative to the hierarchy root, from /proc/PID/cgroup ("0::/path").
    public static func cgroupOfProcess(_ pid: Int32) throws(SondeError) -> String {
        let text = try Files.readText("/proc/\(pid)/cgroup")
        for line in text.split(separator: "\n") where line.hasPrefix("0::") {
            return String(line.dropFirst(3))
        }
        throw SondeError(.notFound, "process \(pid) has no cgroup v2 entry")
    }
}

/// Namespace ids are the inode numbers of /proc/PID/ns/* links.
public enum Namespaces {
    public static func mountNamespaceID(pid: Int32) throws(SondeError) -> UInt64 {
        try Files.inode("/proc/\(pid)/ns/mnt")
    }
}
