import BPFKit
import BPFObjects
import Events
import Testing
@testable import Gadgets

@Suite struct TcpGadgetTests {
    func record(type: UInt32, family: UInt16, sport: UInt16, dport: UInt16, saddr: [UInt8], daddr: [UInt8], ret: Int64, state: UInt32 = 0) -> BPFRecord {
        var bytes = [UInt8](repeating: 0, count: TcpGadget.Layout.size)
        func put<T>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value) { bytes.replaceSubrange(offset..<offset + $0.count, with: $0) }
        }
        put(TcpGadget.kind, at: 24)
        put(ret, at: TcpGadget.Layout.retval)
        put(type, at: TcpGadget.Layout.type)
        put(family, at: TcpGadget.Layout.family)
        put(sport, at: TcpGadget.Layout.sourcePort)
        put(dport, at: TcpGadget.Layout.destinationPort)
        put(state, at: TcpGadget.Layout.state)
        bytes.replaceSubrange(TcpGadget.Layout.sourceAddress..<TcpGadget.Layout.sourceAddress + saddr.count, with: saddr)
        bytes.replaceSubrange(TcpGadget.Layout.destinationAddress..<TcpGadget.Layout.destinationAddress + daddr.count, with: daddr)
        return BPFRecord(bytes: bytes)
    }

    @Test func decodesBothFamiliesAndTheCloseState() throws {
        let v4 = record(type: 1, family: 2, sport: 40000, dport: 80, saddr: [10, 0, 0, 1], daddr: [10, 0, 0, 2], ret: -111)
        let h4 = try #require(RecordHeader(v4))
        let fields = try #require(TcpGadget().decode(v4, header: h4))
        let byName = Dictionary(uniqueKeysWithValues: fields.map { ($0.name, $0.value) })
        #expect(byName["type"] == .string("connect") && byName["family"] == .string("ipv4"))
        #expect(byName["src"] == .string("10.0.0.1:40000") && byName["dst"] == .string("10.0.0.2:80"))
        #expect(byName["ret"] == .result(-111) && byName["state"] == nil)

        let loopback6: [UInt8] = Array(repeating: 0, count: 15) + [1]
        let v6 = record(type: 3, family: 10, sport: 8080, dport: 5000, saddr: loopback6, daddr: loopback6, ret: 0, state: 1)
        let h6 = try #require(RecordHeader(v6))
        let closed = try #require(TcpGadget().decode(v6, header: h6))
        let close = Dictionary(uniqueKeysWithValues: closed.map { ($0.name, $0.value) })
        #expect(close["type"] == .string("close") && close["src"] == .string("[::1]:8080"))
        #expect(close["state"] == .string("ESTABLISHED") && close["ret"] == nil)

        // An unknown family or type is a corrupt record, not a guess.
        let bad = record(type: 9, family: 2, sport: 1, dport: 1, saddr: [], daddr: [], ret: 0)
        let hb = try #require(RecordHeader(bad))
        #expect(TcpGadget().decode(bad, header: hb) == nil)
    }
}
