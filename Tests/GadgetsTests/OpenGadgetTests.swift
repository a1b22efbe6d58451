import BPFKit
import BPFObjects
import Testing
@testable import Gadgets

@Suite struct OpenGadgetTests {
    func record(ret: Int64, flags: UInt64, mode: UInt32, syscall: UInt32, eventFlags: UInt32 = 0, path: String) -> BPFRecord {
        var bytes = [UInt8](repeating: 0, count: OpenGadget.Layout.size)
        func put<T>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value) { bytes.replaceSubrange(offset..<offset + $0.count, with: $0) }
        }
        put(UInt32(17), at: 24)
        put(ret, at: OpenGadget.Layout.ret)
        put(flags, at: OpenGadget.Layout.flags)
        put(mode, at: OpenGadget.Layout.mode)
        put(syscall, at: OpenGadget.Layout.syscallNumber)
        put(Int32(-100), at: OpenGadget.Layout.dirfd)
        put(eventFlags, at: OpenGadget.Layout.eventFlags)
        let p = Array(path.utf8)
        bytes.replaceSubrange(OpenGadget.Layout.path..<OpenGadget.Layout.path + p.count, with: p)
        return BPFRecord(bytes: bytes)
    }

    @Test func decodesFlagsModeAndResult() throws {
        let r = record(ret: 3, flags: 0o1 | 0o100 | 0o1000 | 0o2000000, mode: 0o640, syscall: 437, path: "/tmp/x")
        let header = try #require(RecordHeader(r))
        let fields = try #require(OpenGadget().decode(r, header: header))
        let byName = Dictionary(uniqueKeysWithValues: fields.map { ($0.name, $0.value) })
        #expect(byName["syscall"] == .string("openat2"))
        #expect(byName["fd"] == .result(3))
        #expect(byName["flags"] == .string("O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC"))
        #expect(byName["mode"] == .string("0640"))
        #expect(byName["dirfd"] == .int(-100))
        #expect(byName["path"] == .string("/tmp/x"))
    }

    @Test func modeIsOnlyShownWhenAFileMayBeCreatedAndCutPathsAreMarked() throws {
        let r = record(ret: -2, flags: 0, mode: 0o777, syscall: 257, eventFlags: 1, path: "/a")
        let header = try #require(RecordHeader(r))
        let fields = try #require(OpenGadget().decode(r, header: header))
        #expect(fields.first { $0.name == "mode" }?.value == .string(""))
        #expect(fields.first { $0.name == "flags" }?.value == .string("O_RDONLY"))
        #expect(fields.first { $0.name == "path" }?.value == .string("/a..."))
    }

    @Test func aShortOrUnknownRecordIsCorrupt() throws {
        let r = record(ret: 0, flags: 0, mode: 0, syscall: 999, path: "/a")
        let header = try #require(RecordHeader(r))
        #expect(OpenGadget().decode(r, header: header) == nil)
        let short = BPFRecord(bytes: Array(r.bytes.prefix(100)))
        let shortHeader = try #require(RecordHeader(short))
        #expect(OpenGadget().decode(short, header: shortHeader) == nil)
    }
}
