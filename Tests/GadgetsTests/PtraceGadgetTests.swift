import BPFKit
import BPFObjects
import Testing
@testable import Gadgets

@Suite struct PtraceGadgetTests {
    @Test func namesTheRequestAndKeepsTheTarget() throws {
        var bytes = [UInt8](repeating: 0, count: PtraceGadget.Layout.size)
        func put<T>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value) { bytes.replaceSubrange(offset..<offset + $0.count, with: $0) }
        }
        put(Int64(-1), at: PtraceGadget.Layout.retval)
        put(Int64(0x4206), at: PtraceGadget.Layout.request)
        put(Int64(42), at: PtraceGadget.Layout.targetPID)
        let record = BPFRecord(bytes: bytes)
        let header = try #require(RecordHeader(record))
        let fields = try #require(PtraceGadget().decode(record, header: header))
        let byName = Dictionary(uniqueKeysWithValues: fields.map { ($0.name, $0.value) })
        #expect(byName["request"] == .string("PTRACE_SEIZE"))
        #expect(byName["target_pid"] == .int(42))
        #expect(byName["ret"] == .result(-1))

        put(Int64(0x7777), at: PtraceGadget.Layout.request)
        let unknown = try #require(PtraceGadget().decode(BPFRecord(bytes: bytes), header: header))
        #expect(unknown.first { $0.name == "request" }?.value == .string("30583"))
        // A record cut short is corrupt, not a crash.
        #expect(PtraceGadget().decode(BPFRecord(bytes: Array(bytes.prefix(70))), header: header)?.count == nil)
    }
}
