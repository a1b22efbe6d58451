import BPFKit
import BPFObjects
import Events
import GadgetCatalog
import LinuxKit
import Synchronization

/// top tcp: bytes sent and received per TCP connection per process (bpf/toptcp.bpf.c; the map's
/// key and value are `struct sonde_toptcp_key` / `sonde_toptcp_value` of bpf/toptcp.h).
public final class TopTcpGadget: TopGadget {
    public init() {}

    public let name = "toptcp"
    public var object: EmbeddedBPFObject { EmbeddedBPF.toptcp }
    public let defaultSort = ["-sent", "-received"]

    public static var catalog: FieldCatalog { GadgetDescription.topTcp.catalog }
    public var catalog: FieldCatalog { Self.catalog }

    struct Key: BitwiseCopyable {
        var cgroupID: UInt64 = 0
        var sock: UInt64 = 0
        var pid: UInt32 = 0
        var reserved: UInt32 = 0
    }

    struct Endpoints: BitwiseCopyable {
        var family: UInt16
        var sourcePort: UInt16
        var destinationPort: UInt16
        var reserved: UInt16
        var sourceAddress: (UInt64, UInt64)
        var destinationAddress: (UInt64, UInt64)
    }

    struct Value: BitwiseCopyable {
        var sent: UInt64
        var received: UInt64
        var sends: UInt64
        var receives: UInt64
        var mountNamespaceID: UInt64
        var tid: UInt32
        var ppid: UInt32
        var uid: UInt32
        var gid: UInt32
        var comm: (UInt64, UInt64)
        var ends: Endpoints
    }

    private let stats = Mutex<BPFMap?>(nil)

    public func loaded(_ object: BPFObject) throws(SondeError) {
        let stats = try object.map("toptcp_stats")
        guard stats.keySize == MemoryLayout<Key>.size, stats.valueSize == MemoryLayout<Value>.size else {
            throw SondeError(.bpfLoadFailed, "toptcp_stats has \(stats.keySize)/\(stats.valueSize)-byte entries, sonde reads \(MemoryLayout<Key>.size)/\(MemoryLayout<Value>.size)")
        }
        self.stats.withLock { $0 = stats }
    }

    public func collect(now: Int64) throws(SondeError) -> [Event] {
        guard let stats = stats.withLock({ $0 }) else { return [] }
        return try stats.drain(keys: Key.self, values: Value.self).map { key, value in
            let ends = value.ends
            let ipv6 = ends.family == 10
            let length = ipv6 ? 16 : 4
            let saddr = withUnsafeBytes(of: ends.sourceAddress) { IPAddressText.format(Array($0.prefix(length))) }
            let daddr = withUnsafeBytes(of: ends.destinationAddress) { IPAddressText.format(Array($0.prefix(length))) }
            return Event(timestamp: now, source: name,
                         process: ProcessRef(pid: Int32(bitPattern: key.pid), tid: Int32(bitPattern: value.tid),
                                             ppid: Int32(bitPattern: value.ppid), uid: value.uid, gid: value.gid,
                                             comm: TopFileGadget.text(value.comm)),
                         cgroupID: key.cgroupID, mountNamespaceID: value.mountNamespaceID, fields: [
                            ("family", .string(ipv6 ? "ipv6" : "ipv4")),
                            ("src", .string(SocketSnapshot.endpoint(saddr, ends.sourcePort, ipv6: ipv6))),
                            ("dst", .string(SocketSnapshot.endpoint(daddr, ends.destinationPort, ipv6: ipv6))),
                            ("sent", .uint(value.sent)), ("received", .uint(value.received)),
                            ("sends", .uint(value.sends)), ("receives", .uint(value.receives)),
                            ("sport", .uint(UInt64(ends.sourcePort))), ("dport", .uint(UInt64(ends.destinationPort))),
                         ])
        }
    }
}
