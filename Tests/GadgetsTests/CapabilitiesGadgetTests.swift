import BPFKit
import BPFObjects
import Testing
@testable import Gadgets

@Suite struct CapabilitiesGadgetTests {
    @Test func namesCapabilityVerdictAndSyscall() throws {
        var bytes = [UInt8](repeating: 0, count: CapabilitiesGadget.Layout.size)
        func put<T>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value) { bytes.replaceSubrange(offset..<offset + $0.count, with: $0) }
        }
        put(Int32(21), at: CapabilitiesGadget.Layout.capability)
        put(Int32(-1), at: CapabilitiesGadget.Layout.ret)
        put(Int64(165), at: CapabilitiesGadget.Layout.syscallNumber)
        let r = BPFRecord(bytes: bytes)
        let header = try #require(RecordHeader(r))
        let fields = try #require(CapabilitiesGadget().decode(r, header: header))
        let byName = Dictionary(uniqueKeysWithValues: fields.map { ($0.name, $0.value) })
        #expect(byName["cap"] == .string("CAP_SYS_ADMIN"))
        #expect(byName["verdict"] == .string("deny"))
        #expect(byName["syscall"] == .string("mount"))
        #expect(byName["init_userns"] == .bool(false))
    }
}
