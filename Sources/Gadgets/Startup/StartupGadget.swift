import BPFKit
import BPFObjects
import Events
import Glibc
import LinuxKit

/// trace startup: the milestones of each new container (bpf/startup.bpf.c; the record is
/// `struct sonde_startup_event` of bpf/startup.h). The gadget decodes one record per milestone;
/// `StartupTracker` assembles them per container into a timeline with durations.
public struct StartupGadget: Gadget {
    public init() {}

    public let name = "startup"
    public var dispatchedPrograms: DispatchedPrograms? { DispatchedPrograms(enter: nil, exit: "sonde_startup_sys_exit") }
    /// A start-up timeline needs its container's cgroup seen being made (StartupTracker), so the
    /// accept exits of containers that ran before are never wanted: they would only cost.
    public var dispatchesExistingContainers: Bool { false }
    public var object: EmbeddedBPFObject { EmbeddedBPF.startup }

    // Offsets in struct sonde_startup_event (checked against the object's BTF by a test).
    enum Layout {
        static let cgroupID = RecordHeader.size
        static let runtimeExec = cgroupID + 8
        static let step = runtimeExec + 8
        static let port = step + 4
        static let peerPort = port + 4
        static let level = peerPort + 4
        static let runtimePath = level + 4
        static let pathCapacity = 256
        static let cgroupPath = runtimePath + pathCapacity
        static let size = cgroupPath + pathCapacity
    }

    /// Fields of the raw records (what `decode` gives; the tracker turns them into timeline rows).
    public static let recordCatalog = FieldCatalog(own: [
        .gadget("step", .string, "runtime, cgroup, entrypoint, listen, accept or gone", width: 10),
        .gadget("cgroup", .uint, "the container's cgroup v2 id", width: 10),
        .gadget("runtime_exec_ns", .int, "cgroup: when the creating process was exec'd (Unix ns; 0: before sonde)", width: 0),
        .gadget("path", .string, "cgroup: file the runtime exec'd; entrypoint: the file exec'd", width: 24),
        .gadget("cgroup_path", .string, "cgroup, gone: the cgroup's path", width: 24),
        .gadget("port", .uint, "listen, accept: the local TCP port", width: 6),
        .gadget("peer_port", .uint, "accept: the remote TCP port", width: 6),
    ], defaultFields: ["container", "step", "path"])
    public var catalog: FieldCatalog { Self.recordCatalog }

    public func configure(_ object: BPFObject) throws(SondeError) {
        try object.setConstant("sonde_host_mntns", to: try Self.hostMountNamespace())
    }

    /// The mount namespace of pid 1: where the runtime itself runs (sonde may run in a container of
    /// its own with the host's pid namespace, so not /proc/self first). Read from the link's text,
    /// "mnt:[4026531832]": stat(2) of another process's namespace file needs ptrace access, which
    /// readlink(2) does not.
    static func hostMountNamespace() throws(SondeError) -> UInt64 {
        for path in ["/proc/1/ns/mnt", "/proc/self/ns/mnt"] {
            guard let text = Files.link(path) else { continue }
            if text.hasPrefix("mnt:["), text.hasSuffix("]"), let inode = UInt64(text.dropFirst(5).dropLast()) {
                return inode
            }
        }
        throw SondeError(.system, "cannot read the host's mount namespace from /proc/1/ns/mnt", errno: Errno.current)
    }

    static let clock = BootClock()

    public func decode(_ record: BPFRecord, header: RecordHeader) -> [(name: String, value: FieldValue)]? {
        guard record.count >= Layout.size,
              let cgroup = record.load(UInt64.self, at: Layout.cgroupID),
              let runtimeExec = record.load(UInt64.self, at: Layout.runtimeExec),
              let rawStep = record.load(UInt32.self, at: Layout.step),
              let port = record.load(UInt32.self, at: Layout.port),
              let peerPort = record.load(UInt32.self, at: Layout.peerPort),
              let step = StartupRecordStep(rawValue: rawStep) else { return nil }
        var fields: [(name: String, value: FieldValue)] = [("step", .string(step.name)), ("cgroup", .uint(cgroup))]
        switch step {
        case .cgroup:
            fields.append(("runtime_exec_ns", .int(runtimeExec == 0 ? 0 : Self.clock.wallNanoseconds(boot: runtimeExec))))
            fields.append(("path", .string(record.string(at: Layout.runtimePath, capacity: Layout.pathCapacity))))
            fields.append(("cgroup_path", .string(record.string(at: Layout.cgroupPath, capacity: Layout.pathCapacity))))
        case .entrypoint:
            fields.append(("path", .string(record.string(at: Layout.runtimePath, capacity: Layout.pathCapacity))))
        case .listen:
            fields.append(("port", .uint(UInt64(port))))
        case .accept:
            fields.append(("port", .uint(UInt64(port))))
            fields.append(("peer_port", .uint(UInt64(peerPort))))
        case .gone:
            fields.append(("cgroup_path", .string(record.string(at: Layout.cgroupPath, capacity: Layout.pathCapacity))))
        }
        return fields
    }
}

/// `enum sonde_startup_step` of bpf/startup.h.
enum StartupRecordStep: UInt32 {
    case cgroup = 1, entrypoint = 2, listen = 3, accept = 4, gone = 5

    var name: String {
        switch self {
        case .cgroup: "cgroup"
        case .entrypoint: "entrypoint"
        case .listen: "listen"
        case .accept: "accept"
        case .gone: "gone"
        }
    }
}
