import BPFKit
import BPFObjects
import Events
import Testing
@testable import Gadgets

@Suite struct TopTests {
    @Test func theMapLayoutIsTheProgramsOne() throws {
        let object = try BPFObject(name: "topfile", bytes: EmbeddedBPF.topfile.bytes)
        let key = try #require(object.structLayout("sonde_topfile_key"))
        #expect(key.size == MemoryLayout<TopFileGadget.Key>.size)
        #expect(key.offsets["cgroup_id"] == MemoryLayout<TopFileGadget.Key>.offset(of: \.cgroupID))
        #expect(key.offsets["pid"] == MemoryLayout<TopFileGadget.Key>.offset(of: \.pid))
        #expect(key.offsets["inode"] == MemoryLayout<TopFileGadget.Key>.offset(of: \.inode))
        let value = try #require(object.structLayout("sonde_topfile_value"))
        #expect(value.size == MemoryLayout<TopFileGadget.Value>.size)
        #expect(value.offsets["write_bytes"] == MemoryLayout<TopFileGadget.Value>.offset(of: \.writeBytes))
        #expect(value.offsets["mode"] == MemoryLayout<TopFileGadget.Value>.offset(of: \.mode))
        #expect(value.offsets["comm"] == MemoryLayout<TopFileGadget.Value>.offset(of: \.comm))
        #expect(value.offsets["name"] == MemoryLayout<TopFileGadget.Value>.offset(of: \.name))
    }

    @Test func theTcpMapLayoutIsTheProgramsOne() throws {
        let object = try BPFObject(name: "toptcp", bytes: EmbeddedBPF.toptcp.bytes)
        let key = try #require(object.structLayout("sonde_toptcp_key"))
        #expect(key.size == MemoryLayout<TopTcpGadget.Key>.size)
        #expect(key.offsets["pid"] == MemoryLayout<TopTcpGadget.Key>.offset(of: \.pid))
        let value = try #require(object.structLayout("sonde_toptcp_value"))
        #expect(value.size == MemoryLayout<TopTcpGadget.Value>.size)
        #expect(value.offsets["comm"] == MemoryLayout<TopTcpGadget.Value>.offset(of: \.comm))
        #expect(value.offsets["ends"] == MemoryLayout<TopTcpGadget.Value>.offset(of: \.ends))
        let ends = try #require(object.structLayout("sonde_toptcp_endpoints"))
        #expect(ends.size == MemoryLayout<TopTcpGadget.Endpoints>.size)
        #expect(ends.offsets["saddr"] == MemoryLayout<TopTcpGadget.Endpoints>.offset(of: \.sourceAddress))
        #expect(ends.offsets["daddr"] == MemoryLayout<TopTcpGadget.Endpoints>.offset(of: \.destinationAddress))
    }

    func row(_ comm: String, _ wbytes: UInt64) -> Event {
        Event(timestamp: 0, source: "topfile", process: ProcessRef(pid: 1, tid: 1, ppid: 0, uid: 0, gid: 0, comm: comm),
              cgroupID: 0, mountNamespaceID: 0, fields: [("wbytes", .uint(wbytes))])
    }

    @Test func rowsSortByFieldsEachWayAndUnknownFieldsAreErrors() throws {
        let rows = [row("b", 10), row("a", 10), row("c", 99)]
        let byBytesThenName = try RowOrder(parsing: ["-wbytes", "comm"], catalog: TopFileGadget.catalog)
        #expect(byBytesThenName.sorted(rows).map(\.process.comm) == ["c", "a", "b"])
        let byName = try RowOrder(parsing: ["+comm"], catalog: TopFileGadget.catalog)
        #expect(byName.sorted(rows).map(\.process.comm) == ["a", "b", "c"])
        #expect(throws: (any Error).self) { try RowOrder(parsing: ["-bogus"], catalog: TopFileGadget.catalog) }
    }
}
