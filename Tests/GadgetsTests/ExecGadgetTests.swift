import BPFKit
import BPFObjects
import Testing
@testable import Gadgets

/// The exec record as the BPF program lays it out, checked against the compiler's own layout.
@Suite struct ExecGadgetTests {
    func record(args: [String], ret: Int64, flags: UInt32 = 0, syscall: UInt32 = 59, cutLast: Bool = false) -> BPFRecord {
        var bytes = [UInt8](repeating: 0, count: ExecGadget.Layout.args)
        func put<T>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value) { bytes.replaceSubrange(offset..<offset + $0.count, with: $0) }
        }
        var argv: [UInt8] = args.flatMap { Array($0.utf8) + [UInt8(0)] }
        if cutLast { argv.removeLast() }
        put(UInt32(16), at: 24) // kind
        put(ret, at: ExecGadget.Layout.retval)
        put(UInt32(args.count), at: ExecGadget.Layout.argsCount)
        put(UInt32(argv.count), at: ExecGadget.Layout.argsSize)
        put(flags, at: ExecGadget.Layout.flags)
        put(syscall, at: ExecGadget.Layout.syscallNumber)
        let path = Array("/bin/ls".utf8)
        bytes.replaceSubrange(ExecGadget.Layout.path..<ExecGadget.Layout.path + path.count, with: path)
        return BPFRecord(bytes: bytes + argv)
    }

    @Test func decodesArgvResultAndSyscall() throws {
        let r = record(args: ["ls", "-l", "/tmp"], ret: -2, syscall: 322)
        let header = try #require(RecordHeader(r))
        let fields = try #require(ExecGadget().decode(r, header: header))
        #expect(fields.map(\.name) == ["syscall", "ret", "path", "args"])
        #expect(fields[0].value == .string("execveat"))
        #expect(fields[1].value == .result(-2))
        #expect(fields[2].value == .string("/bin/ls"))
        #expect(fields[3].value == .strings(["ls", "-l", "/tmp"], truncated: false))
    }

    @Test func aCutArgumentIsKeptAndMarked() throws {
        let r = record(args: ["sh", "-c", "aaaa"], ret: 0, flags: 1, cutLast: true)
        let header = try #require(RecordHeader(r))
        let fields = try #require(ExecGadget().decode(r, header: header))
        #expect(fields[3].value == .strings(["sh", "-c", "aaaa"], truncated: true))
    }

    @Test func corruptRecordsAreRejectedNotTrusted() throws {
        let good = record(args: ["ls"], ret: 0)
        // Claims more argv bytes than the record holds.
        var bytes = good.bytes
        withUnsafeBytes(of: UInt32(4000)) { bytes.replaceSubrange(ExecGadget.Layout.argsSize..<ExecGadget.Layout.argsSize + 4, with: $0) }
        let lying = BPFRecord(bytes: bytes)
        let lyingHeader = try #require(RecordHeader(lying))
        #expect(ExecGadget().decode(lying, header: lyingHeader) == nil)
        // Shorter than a header.
        #expect(RecordHeader(BPFRecord(bytes: [1, 2, 3])) == nil)
        // A header and nothing else.
        let short = BPFRecord(bytes: Array(good.bytes.prefix(RecordHeader.size)))
        let shortHeader = try #require(RecordHeader(short))
        #expect(ExecGadget().decode(short, header: shortHeader) == nil)
    }
}
