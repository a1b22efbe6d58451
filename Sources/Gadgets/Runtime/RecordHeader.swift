import BPFKit

/// `struct sonde_event_header` of bpf/include/sonde/abi.h, which starts every record.
public struct RecordHeader: Sendable {
    public static let size = 64

    public enum Kind: UInt32, Sendable {
        case cgroupCreated = 1
        case cgroupRemoved = 2
        case exec = 16
    }

    public var bootNanoseconds: UInt64
    public var cgroupID: UInt64
    public var mountNamespaceID: UInt64
    public var kind: UInt32
    public var pid: UInt32
    public var tid: UInt32
    public var ppid: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var comm: String

    /// nil when the record is shorter than a header (a corrupt record).
    public init?(_ record: BPFRecord) {
        guard record.count >= Self.size,
              let ts = record.load(UInt64.self, at: 0), let cg = record.load(UInt64.self, at: 8),
              let mnt = record.load(UInt64.self, at: 16), let kind = record.load(UInt32.self, at: 24),
              let pid = record.load(UInt32.self, at: 28), let tid = record.load(UInt32.self, at: 32),
              let ppid = record.load(UInt32.self, at: 36), let uid = record.load(UInt32.self, at: 40),
              let gid = record.load(UInt32.self, at: 44) else { return nil }
        bootNanoseconds = ts
        cgroupID = cg
        mountNamespaceID = mnt
        self.kind = kind
        self.pid = pid
        self.tid = tid
        self.ppid = ppid
        self.uid = uid
        self.gid = gid
        comm = record.string(at: 48, capacity: 16)
    }
}

/// `struct sonde_cgroup_event`: a cgroup v2 directory created or removed while a gadget runs.
struct CgroupRecord {
    static let pathOffset = RecordHeader.size + 8
    static let pathCapacity = 512

    var id: UInt64
    /// As the kernel gives it: relative to the v2 root, starting with "/".
    var path: String

    init?(_ record: BPFRecord, header: RecordHeader) {
        guard record.count >= Self.pathOffset else { return nil }
        id = header.cgroupID
        path = record.string(at: Self.pathOffset, capacity: Self.pathCapacity)
    }
}
