import Containers
import Events
import GadgetCatalog
import Foundation
import LinuxKit

/// snapshot process: the processes of the selected containers right now, from /proc. Each process
/// belongs to the container whose cgroup subtree holds its cgroup v2 (`/proc/PID/cgroup`).
public enum ProcessSnapshot {
    public static let source = "process"

    public static var catalog: FieldCatalog { GadgetDescription.processSnapshot.catalog }

    /// One process as /proc shows it.
    public struct Process: Sendable {
        public var pid: Int32
        public var ppid: Int32
        public var uid: UInt32
        public var gid: UInt32
        public var comm: String
        public var state: String
        public var threads: UInt64
        public var cmdline: [String]
        /// cgroup v2 path, relative to the hierarchy's root.
        public var cgroupPath: String
    }

    /// The processes of the containers the selector picks (every process with `host`), sorted by
    /// container, then pid. Processes that end while being read are left out.
    public static func take(collection: ContainerCollection, selector: ContainerSelector,
                            proc: String = "/proc") -> [Event] {
        let now = wallClockNanoseconds()
        var events: [Event] = []
        for pid in processIDs(proc: proc) {
            guard let process = read(pid: pid, proc: proc) else { continue }
            let container = owner(of: process.cgroupPath, in: collection)
            if !selector.host {
                guard let container, selector.matches(container) else { continue }
            }
            let cgroupID = (try? collection.cgroups.id(of: process.cgroupPath)) ?? 0
            let mntns = (try? Namespaces.mountNamespaceID(pid: pid)) ?? 0
            events.append(Event(
                timestamp: now, source: source,
                process: ProcessRef(pid: pid, tid: pid, ppid: process.ppid, uid: process.uid, gid: process.gid,
                                    comm: process.comm),
                cgroupID: cgroupID, mountNamespaceID: mntns, container: container,
                fields: [("state", .string(process.state)), ("threads", .uint(process.threads)),
                         ("cmdline", .strings(process.cmdline, truncated: false))]))
        }
        return events.sorted { ($0.container?.name ?? "", $0.process.pid) < ($1.container?.name ?? "", $1.process.pid) }
    }

    static func owner(of cgroupPath: String, in collection: ContainerCollection) -> Container? {
        if let id = try? collection.cgroups.id(of: cgroupPath), let container = collection.container(cgroupID: id) {
            return container
        }
        return collection.container(cgroupPath: cgroupPath)
    }

    /// Every numeric entry of /proc: the thread group leaders.
    static func processIDs(proc: String) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: proc)) ?? []).compactMap(Int32.init).sorted()
    }

    /// nil when the process is gone (or its files cannot be read).
    public static func read(pid: Int32, proc: String = "/proc") -> Process? {
        guard let stat = try? Files.readText("\(proc)/\(pid)/stat"), let parsed = parseStat(stat),
              let status = try? Files.readText("\(proc)/\(pid)/status"),
              let cgroup = try? Files.readText("\(proc)/\(pid)/cgroup") else { return nil }
        var uid: UInt32 = 0, gid: UInt32 = 0, threads: UInt64 = 0
        for line in status.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard parts.count >= 2 else { continue }
            switch parts[0] {
            case "Uid:": uid = UInt32(parts[1]) ?? 0
            case "Gid:": gid = UInt32(parts[1]) ?? 0
            case "Threads:": threads = UInt64(parts[1]) ?? 0
            default: break
            }
        }
        let cgroupPath = cgroup.split(separator: "\n").first { $0.hasPrefix("0::") }.map { String($0.dropFirst(3)) } ?? "/"
        let cmdline = (try? Files.readData("\(proc)/\(pid)/cmdline")).map(splitNUL) ?? []
        return Process(pid: pid, ppid: parsed.ppid, uid: uid, gid: gid, comm: parsed.comm, state: parsed.state,
                       threads: threads, cmdline: cmdline, cgroupPath: cgroupPath)
    }

    /// `/proc/PID/stat`: "pid (comm) state ppid ...". comm may hold spaces and parentheses: it
    /// runs to the last ")".
    static func parseStat(_ text: String) -> (comm: String, state: String, ppid: Int32)? {
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")") , open < close else { return nil }
        let comm = String(text[text.index(after: open)..<close])
        let rest = text[text.index(after: close)...].split(separator: " ")
        guard rest.count >= 2, let ppid = Int32(rest[1]) else { return nil }
        return (comm, String(rest[0]), ppid)
    }

    static func splitNUL(_ data: Data) -> [String] {
        data.split(separator: 0, omittingEmptySubsequences: false).dropLast(data.last == 0 ? 1 : 0)
            .map { String(decoding: $0, as: UTF8.self) }
    }

    public static func wallClockNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}
