import BPFKit
import BPFObjects
import Events
import GadgetCatalog
import LinuxKit

/// trace tcp: connect, accept and close of TCP connections, IPv4 and IPv6 (bpf/tcp.bpf.c; the
/// record is `struct sonde_tcp_event` of bpf/tcp.h).
public struct TcpGadget: StreamGadget {
    public init() {}

    public var object: EmbeddedBPFObject { EmbeddedBPF.tcp }

    enum Layout {
        static let retval = RecordHeader.size
        static let type = retval + 8
        static let family = type + 4
        static let sourcePort = family + 2
        static let destinationPort = sourcePort + 2
        static let state = destinationPort + 4
        static let sourceAddress = state + 4
        static let destinationAddress = sourceAddress + 16
        static let size = destinationAddress + 16
    }

    static let kind: UInt32 = 40 // SONDE_KIND_TCP
    static let types = [1: "connect", 2: "accept", 3: "close"]
    static let afInet: UInt16 = 2, afInet6: UInt16 = 10

    public static var about: GadgetDescription { .tcp }

    public func decode(_ record: BPFRecord, header: RecordHeader) -> [(name: String, value: FieldValue)]? {
        guard header.kind == Self.kind, record.count >= Layout.size,
              let retval = record.load(Int64.self, at: Layout.retval),
              let type = record.load(UInt32.self, at: Layout.type).flatMap({ Self.types[Int($0)] }),
              let family = record.load(UInt16.self, at: Layout.family), family == Self.afInet || family == Self.afInet6,
              let sport = record.load(UInt16.self, at: Layout.sourcePort),
              let dport = record.load(UInt16.self, at: Layout.destinationPort),
              let state = record.load(UInt32.self, at: Layout.state) else { return nil }
        let length = family == Self.afInet ? 4 : 16
        let saddr = IPAddressText.format(Array(record.slice(at: Layout.sourceAddress, count: length)))
        let daddr = IPAddressText.format(Array(record.slice(at: Layout.destinationAddress, count: length)))
        let ipv6 = family == Self.afInet6
        var fields: [(name: String, value: FieldValue)] = [
            ("type", .string(type)), ("family", .string(ipv6 ? "ipv6" : "ipv4")),
            ("src", .string(SocketSnapshot.endpoint(saddr, sport, ipv6: ipv6))),
            ("dst", .string(SocketSnapshot.endpoint(daddr, dport, ipv6: ipv6))),
        ]
        if type == "close" {
            let index = Int(state)
            fields.append(("state", .string(index < SocketSnapshot.tcpStates.count ? SocketSnapshot.tcpStates[index] : "STATE_\(state)")))
        } else {
            fields.append(("ret", .result(retval)))
        }
        fields += [("saddr", .string(saddr)), ("sport", .uint(UInt64(sport))),
                   ("daddr", .string(daddr)), ("dport", .uint(UInt64(dport)))]
        return fields
    }
}
