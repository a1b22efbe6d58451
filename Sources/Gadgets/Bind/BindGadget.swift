import BPFKit
import BPFObjects
import Events
import GadgetCatalog
import LinuxKit
import Syscalls

/// trace bind: bind(2) in the selected containers, with the address family, the address and port
/// (IPv4, IPv6, or a unix socket's path), the socket's type and protocol, and the result
/// (bpf/bind.bpf.c; the record is `struct sonde_bind_event` of bpf/bind.h).
public struct BindGadget: StreamGadget {
    public init() {}

    public var object: EmbeddedBPFObject { EmbeddedBPF.bind }

    // Offsets in struct sonde_bind_event (checked against the object's BTF by a test).
    enum Layout {
        static let ret = RecordHeader.size
        static let fd = ret + 8
        static let addrlen = fd + 4
        static let socketType = addrlen + 4
        static let protocolNumber = socketType + 2
        static let copied = protocolNumber + 2
        static let addr = copied + 4
        static let addrCapacity = 128
        static let size = addr + addrCapacity
    }

    public static var about: GadgetDescription { .bind }

    public func decode(_ record: BPFRecord, header: RecordHeader) -> [(name: String, value: FieldValue)]? {
        guard record.count >= Layout.size,
              let ret = record.load(Int64.self, at: Layout.ret),
              let fd = record.load(Int32.self, at: Layout.fd),
              let socketType = record.load(UInt16.self, at: Layout.socketType),
              let protocolNumber = record.load(UInt16.self, at: Layout.protocolNumber),
              let copied = record.load(UInt32.self, at: Layout.copied),
              copied <= Layout.addrCapacity else { return nil }
        let address = Self.socketAddress(Array(record.slice(at: Layout.addr, count: Int(copied))))
        return [
            ("fd", .int(Int64(fd))),
            ("family", .string(address.family)),
            // Protocol 0 of a unix socket is no IP protocol: shown empty.
            ("proto", .string(socketType == 0 || (protocolNumber == 0 && !address.isIP) ? "" : SymbolText.ipProtocol(Int64(protocolNumber)))),
            ("type", .string(socketType == 0 ? "" : SymbolText.socketType(Int64(socketType)))),
            ("address", .string(address.address)),
            ("port", .uint(UInt64(address.port))),
            ("ret", .result(ret)),
        ]
    }

    static let afUnix: UInt16 = 1
    static let afInet: UInt16 = 2
    static let afInet6: UInt16 = 10

    /// A sockaddr as the caller passed it: family name, address text, port (0 when none).
    static func socketAddress(_ bytes: [UInt8]) -> (family: String, address: String, port: UInt16, isIP: Bool) {
        guard bytes.count >= 2 else { return ("", "", 0, false) }
        let family = UInt16(bytes[0]) | UInt16(bytes[1]) << 8
        let name = SymbolText.addressFamily(Int64(family))
        func port() -> UInt16 { bytes.count >= 4 ? UInt16(bytes[2]) << 8 | UInt16(bytes[3]) : 0 }
        switch family {
        case afInet where bytes.count >= 8:
            return (name, SymbolText.ipv4(bytes[4..<8]), port(), true)
        case afInet6 where bytes.count >= 24:
            return (name, SymbolText.ipv6(bytes[8..<24]), port(), true)
        case afUnix:
            let path = bytes[2...]
            // An abstract socket's name starts with a NUL and may hold more; a path ends at its NUL.
            if path.first == 0 {
                return (name, "@" + String(decoding: path.dropFirst().prefix { $0 != 0 }, as: UTF8.self), 0, false)
            }
            return (name, String(decoding: path.prefix { $0 != 0 }, as: UTF8.self), 0, false)
        default:
            return (name, "", 0, false)
        }
    }
}
