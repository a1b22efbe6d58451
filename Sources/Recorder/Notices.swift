import BPFKit
import Containers
import LinuxKit

/// What the recorder's kernel side tells user space (struct sonde_rec_notice).
public struct RecorderNotice: Sendable, Equatable {
    public enum Kind: UInt32, Sendable {
        case cgroupCreated = 1
        case cgroupRemoved = 2
        case processExit = 3
        case poolEmpty = 4
    }

    public var kind: Kind
    public var slot: UInt32
    public var key: UInt64
    public var bootNanoseconds: UInt64
    public var pid: UInt32
    /// The wait status: the signal in the low 7 bits, the exit status in bits 8 to 15.
    public var exitCode: Int32
    public var namespaceInit: Bool
    public var comm: String
    public var path: String

    static let size = 312

    init?(_ record: BPFRecord) {
        guard record.count >= Self.size, let raw = record.load(UInt32.self, at: 0), let kind = Kind(rawValue: raw),
              let slot = record.load(UInt32.self, at: 4), let key = record.load(UInt64.self, at: 8),
              let time = record.load(UInt64.self, at: 16), let pid = record.load(UInt32.self, at: 24),
              let code = record.load(Int32.self, at: 28), let initFlag = record.load(UInt8.self, at: 32) else { return nil }
        self.kind = kind
        self.slot = slot
        self.key = key
        bootNanoseconds = time
        self.pid = pid
        exitCode = code
        namespaceInit = initFlag != 0
        comm = record.string(at: 40, capacity: 16)
        path = record.string(at: 56, capacity: 256)
    }

    /// The fatal signal, when the process died of one.
    public var signal: Int32? { exitCode & 0x7f != 0 ? exitCode & 0x7f : nil }
    public var exitStatus: Int32 { (exitCode >> 8) & 0xff }
}

extension FlightRecorder {
    /// Reads the notices waiting now and brings the registry up to date with them: rings the
    /// kernel gave to new cgroups, cgroups that went away. Returns them for the caller's own
    /// decisions (crash dumps, resolving pending cgroups to containers).
    public func takeNotices() throws(SondeError) -> [RecorderNotice] {
        try readNotices()
        defer { heldNotices = [] }
        return heldNotices
    }

    /// Reads the notices waiting now into the registry and holds them for the next takeNotices()
    /// (record() needs the registry current, its caller still needs the crash notices).
    func readNotices() throws(SondeError) {
        if noticeReader == nil { noticeReader = try RingBufferReader(map: notices) }
        let notices = try noticeReader!.available().compactMap(RecorderNotice.init)
        guard !notices.isEmpty else { return }
        heldNotices += notices
        try store.update { (registry: inout RecorderRegistry) throws(SondeError) in
            for notice in notices {
                switch notice.kind {
                case .cgroupCreated:
                    registry.pool.removeAll { $0 == notice.slot }
                    registry.rings[notice.slot] = .init(
                        slot: notice.slot, sizeClass: registry.defaultSizeClass, keys: [notice.key], path: notice.path,
                        container: nil, pending: true, started: Self.now())
                case .cgroupRemoved:
                    registry.rings[notice.slot]?.ended = Self.now()
                case .processExit, .poolEmpty:
                    break
                }
            }
        }
    }

    /// The notice ring's map fd, for poll: a BPF ring buffer map is readable while it holds
    /// records (the kernel wakes pollers on a submit when the reader has caught up).
    public var noticeDescriptor: Int32 { notices.fileDescriptor }

    /// Rings given to new cgroups that no container claimed yet; `ended` when the cgroup is gone.
    public func pendingRings() throws(SondeError) -> [(slot: UInt32, path: String, cgroupID: UInt64, ended: Bool)] {
        try store.load().rings.values.filter(\.pending).map { ($0.slot, $0.path ?? "", $0.keys.first ?? 0, $0.ended != nil) }
    }

    /// Stops recording a pending cgroup that turned out not to be wanted, and frees its ring.
    public func discardPending(slot: UInt32) throws(SondeError) {
        try store.update { (registry: inout RecorderRegistry) throws(SondeError) in
            guard registry.rings[slot]?.pending == true else { return }
            release(slot: slot, registry: &registry)
        }
    }
}
