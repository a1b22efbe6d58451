import BPFKit
import BPFObjects
import Events
import Testing
@testable import Gadgets

@Suite struct TopTests {
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
