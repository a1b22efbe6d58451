import Foundation

/// The cgroup v2 (unified) hierarchy. sonde keys per-container kernel state by cgroup v2 id, which
/// is what bpf_get_current_cgroup_id() returns and equals the inode number of the cgroup directory.
///
/// Hosts with cgroup v1 only have no unified hierarchy; there the pids controller's v1 hierarchy
/// stands in for it (`v1Controller`): runc and the other runtimes give every container a cgroup
/// there, its ids are inode numbers like v2 ones, and sonde's BPF programs read the same id from
/// a task's pids cgroup instead of calling bpf_get_current_cgroup_id() (which reports the root of
/// the unmounted v2 hierarchy for every task there).
public struct CgroupV2: Sendable {
    /// Where cgroup2 is mounted: /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid
    /// ones; on v1-only hosts where the stand-in v1 hierarchy is (/sys/fs/cgroup/pids).
    public let mountPoint: String
    /// nil for the unified hierarchy; the v1 controller whose hierarchy stands in for it.
    public let v1Controller: String?

    public init(mountPoint: String, v1Controller: String? = nil) {
        self.mountPoint = mountPoint
        self.v1Controller = v1Controller
    }

    /// Whether this is the unified (v2) hierarchy.
    public var isUnified: Bool { v1Controller == nil }

    /// The controller whose v1 hierarchy stands in for the unified one on v1-only hosts.
    public static let standInController = "pids"

    /// Finds the cgroup2 mount in /proc/self/mountinfo, or on a host without one the v1 hierarchy
    /// of the pids controller.
    public static func find() throws(SondeError) -> CgroupV2 {
        let mounts = try MountTable.current()
        if let entry = mounts.first(where: { $0.filesystemType == "cgroup2" }) {
            return CgroupV2(mountPoint: entry.mountPoint)
        }
        // A v1 hierarchy is mounted where its controllers name it (/sys/fs/cgroup/pids, or a
        // joint mount such as /sys/fs/cgroup/cpu,cpuacct).
        if let entry = mounts.first(where: { entry in
            entry.filesystemType == "cgroup" &&
                (entry.mountPoint.split(separator: "/").last?.split(separator: ",").contains(Substring(standInController)) ?? false)
        }) {
            return CgroupV2(mountPoint: entry.mountPoint, v1Controller: standInController)
        }
        throw SondeError(.kernelFeatureMissing, "no cgroup v2 (unified) hierarchy is mounted, nor a v1 hierarchy of the \(standInController) controller",
                         hint: "mount one: mount -t cgroup2 none /sys/fs/cgroup/unified")
    }

    /// The key of this hierarchy in a runc state file's cgroup_paths (the unified one is "").
    public var runtimeStateKey: String { v1Controller ?? "" }

    /// The cgroup of a process in this hierarchy, relative to its root, from /proc/PID/cgroup
    /// ("0::/path" for the unified hierarchy, "ID:pids:/path" for the v1 stand-in).
    public func cgroup(ofProcess pid: Int32) throws(SondeError) -> String {
        guard let controller = v1Controller else { return try Self.cgroupOfProcess(pid) }
        let text = try Files.readText("/proc/\(pid)/cgroup")
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            if fields.count == 3, fields[1].split(separator: ",").contains(Substring(controller)) {
                return String(fields[2])
            }
        }
        throw SondeError(.notFound, "process \(pid) has no \(controller) cgroup")
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
