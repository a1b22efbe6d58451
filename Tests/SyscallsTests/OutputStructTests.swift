import Foundation
import Syscalls
import Testing

/// Structs the kernel fills, formatted from the bytes the recorder would capture, against strace's
/// line for the very same call: the program prints the bytes it got, strace prints its decoding.
@Suite(.enabled(if: TraceOracle.available, "needs gcc and strace"))
struct OutputStructTests {
    /// Runs C `body` (which writes the struct's bytes in hex to stdout) under strace; returns
    /// strace's line for `name` and the bytes.
    static func traced(_ name: String, _ body: String) throws -> (line: String, bytes: [UInt8]) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-structs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = directory + "/p.c", binary = directory + "/p", output = directory + "/strace.txt"
        try """
        #include <stdio.h>
        #include <sys/sysinfo.h>
        #include <sys/statfs.h>
        static void hex(const void *p, size_t n) { for (size_t i = 0; i < n; i++) fprintf(stderr, "%02x", ((const unsigned char *)p)[i]); }
        int main(void) { \(body) return 0; }
        """.write(toFile: source, atomically: true, encoding: .utf8)
        let (built, errors) = try TraceOracle.run("/usr/bin/gcc", ["-O0", "-o", binary, source])
        #expect(built == 0, "\(errors)")
        // The program writes the bytes to stderr; strace's lines go to their file.
        let (status, text) = try TraceOracle.run("/usr/bin/strace", ["-e", "trace=" + name, "-o", output, binary])
        #expect(status == 0)
        let line = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").first { $0.hasPrefix(name + "(") }.map(String.init) ?? ""
        var bytes: [UInt8] = []
        var index = text.startIndex
        while let next = text.index(index, offsetBy: 2, limitedBy: text.endIndex), next > index, let byte = UInt8(text[index..<next], radix: 16) {
            bytes.append(byte)
            index = next
        }
        return (line, bytes)
    }

    @Test func sysinfoAsStracePrintsIt() throws {
        let (line, bytes) = try Self.traced("sysinfo", "struct sysinfo si; if (sysinfo(&si) == 0) hex(&si, sizeof si);")
        #expect(bytes.count == 112)
        let record = SyscallRecord(number: 99, arguments: [0x1000, 0, 0, 0, 0, 0], captured: [0: CapturedData(bytes: bytes)],
                                   completion: .returned(0))
        #expect(SyscallFormatter.format(record) == line)
        #expect(SyscallTable.x86_64[99]?.hasDedicatedFormat == true)
    }

    @Test func statfsAsStracePrintsIt() throws {
        // /proc and / : a named magic and flags; the same call's bytes, so the counts agree.
        for path in ["/", "/proc", "/dev"] {
            let (line, bytes) = try Self.traced("statfs", "struct statfs sf; if (statfs(\"\(path)\", &sf) == 0) hex(&sf, sizeof sf);")
            #expect(bytes.count == 120)
            let record = SyscallRecord(number: 137, arguments: [0x1000, 0x2000, 0, 0, 0, 0],
                                       captured: [0: CapturedData(bytes: Array(path.utf8)), 1: CapturedData(bytes: bytes)],
                                       completion: .returned(0))
            #expect(SyscallFormatter.format(record) == line, "\(path)")
        }
    }
}
