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
        guard record.count >= Self.size else { return nil }
        // One pass over the bytes: this runs for every record, hundreds of thousands a second.
        (bootNanoseconds, cgroupID, mountNamespaceID, kind, pid, tid, ppid, uid, gid) = record.bytes.withUnsafeBytes { raw in
            (raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
             raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 24, as: UInt32.self),
             raw.loadUnaligned(fromByteOffset: 28, as: UInt32.self), raw.loadUnaligned(fromByteOffset: 32, as: UInt32.self),
             raw.loadUnaligned(fromByteOffset: 36, as: UInt32.self), raw.loadUnaligned(fromByteOffset: 40, as: UInt32.self),
             raw.loadUnaligned(fromByteOffset: 44, as: UInt32.self))
        }
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
