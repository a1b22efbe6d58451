import Foundation
import Testing
@testable import Syscalls

/// Runs a C program under `strace -f -s 32` on this machine and checks that sonde formats every call
/// the program logged exactly as strace printed it, padding included.
@Suite(.enabled(if: StraceOracle.available, "needs gcc and strace"))
struct StraceOracleTests {
    @Test func sondeMatchesStraceLineForLine() throws {
        let oracle = try StraceOracle.run()
        #expect(oracle.logged.count >= 100, "the program logged \(oracle.logged.count) calls")
        var mismatches: [String] = []
        for (record, straceLine) in zip(oracle.logged, oracle.straceLines) {
            let prefixWidth = straceLine.prefixWidth
            let formatter = SyscallFormatter(stringLimit: 32, alignmentColumn: 40 - prefixWidth)
            let ours = formatter.format(record)
            let theirs = StraceOracle.withoutKnownGaps(String(straceLine.text.dropFirst(prefixWidth)))
            if ours != theirs { mismatches.append("strace: \(theirs)\nsonde:  \(ours)") }
        }
        #expect(oracle.straceLines.count == oracle.logged.count)
        #expect(mismatches.isEmpty, "\(mismatches.count) lines differ:\n\(mismatches.joined(separator: "\n"))")
    }

    @Test func theOracleCoversManySyscalls() throws {
        let oracle = try StraceOracle.run()
        let names = Set(oracle.logged.compactMap { SyscallTable.x86_64[$0.number]?.name })
        #expect(names.count >= 120, "\(names.count) distinct syscalls: \(names.sorted())")
    }
}

/// The program, its log and strace's output, built once per test process.
struct StraceOracle: Sendable {
    struct Line: Sendable {
        let text: String
        /// Width of strace's `PID ` prefix.
        var prefixWidth: Int {
            var width = 0
            for c in text.utf8 { if c >= 0x30 && c <= 0x39 { width += 1 } else { break } }
            for c in text.utf8.dropFirst(width) { if c == 0x20 { width += 1 } else { break } }
            return width
        }
    }

    let logged: [SyscallRecord]
    let straceLines: [Line]

    /// What strace prints that sonde's captures cannot reproduce, removed from strace's line: the
    /// count of environment variables (the recorder walks one string array per call: argv).
    static func withoutKnownGaps(_ line: String) -> String {
        guard line.hasPrefix("execve"), let start = line.range(of: " /* "),
              let end = line.range(of: " vars */", range: start.upperBound..<line.endIndex) else { return line }
        return String(line[..<start.lowerBound]) + String(line[end.upperBound...])
    }

    static let available: Bool = ["/usr/bin/gcc", "/usr/bin/strace"].allSatisfy {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    private static let cached: Result<StraceOracle, Error> = Result { try build() }

    static func run() throws -> StraceOracle { try cached.get() }

    private static func build() throws -> StraceOracle {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-oracle-\(getpid())")
        try? FileManager.default.removeItem(at: work)
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let source = work.appendingPathComponent("oracle.c")
        let binary = work.appendingPathComponent("oracle")
        let log = work.appendingPathComponent("log")
        let trace = work.appendingPathComponent("trace")
        let scratch = work.appendingPathComponent("scratch")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        try oracleProgram.write(to: source, atomically: true, encoding: .utf8)
        try execute("/usr/bin/gcc", ["-O1", "-w", "-o", binary.path, source.path])
        try execute("/usr/bin/strace", ["-f", "-s", "32", "-o", trace.path, binary.path, log.path, scratch.path])

        var records: [SyscallRecord] = []
        for line in try String(contentsOf: log, encoding: .utf8).split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.first == "exit" {
                records.append(SyscallRecord(number: Int(fields[1], radix: 16)!,
                                             arguments: [UInt64(fields[2], radix: 16)!, 0, 0, 0, 0, 0],
                                             completion: .noReturn))
                continue
            }
            guard fields.first == "call", fields.count >= 9 else { continue }
            let number = Int(fields[1], radix: 16)!
            let arguments = fields[2..<8].map { UInt64($0, radix: 16)! }
            let ret = fields[8].hasPrefix("-") ? -Int64(fields[8].dropFirst(), radix: 16)! : Int64(fields[8], radix: 16)!
            var captured: [Int: CapturedData] = [:]
            for capture in fields.dropFirst(9) {
                let parts = capture.split(separator: ":", omittingEmptySubsequences: false)
                let index = Int(parts[0], radix: 16)!
                let hex = Array(parts[2].utf8)
                var bytes: [UInt8] = []
                bytes.reserveCapacity(hex.count / 2)
                var k = 0
                while k + 1 < hex.count {
                    bytes.append(UInt8(String(decoding: hex[k...k + 1], as: UTF8.self), radix: 16)!)
                    k += 2
                }
                captured[index] = CapturedData(bytes: bytes, truncated: parts[1] == "t")
            }
            records.append(SyscallRecord(number: number, arguments: arguments, captured: captured,
                                         completion: .returned(ret)))
        }

        // strace's lines from the marker on; the log file's own open/write/close are not logged.
        let all = try String(contentsOf: trace, encoding: .utf8).split(separator: "\n").map(String.init)
        guard let marker = all.firstIndex(where: { $0.contains("close(-12345)") }) else {
            throw OracleError.noMarker
        }
        var lines: [Line] = []
        var remaining = all[(marker + 1)...].filter { !$0.contains("+++ ") && !$0.contains("--- ") }[...]
        for record in records {
            if record.completion == .noReturn {
                remaining = remaining.drop { !$0.contains("exit_group(") }
            }
            guard let line = remaining.first else { break }
            lines.append(Line(text: line))
            remaining = remaining.dropFirst()
        }
        return StraceOracle(logged: records, straceLines: lines)
    }

    enum OracleError: Error { case noMarker, failed(String) }

    private static func execute(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 || tool.hasSuffix("strace") else {
            throw OracleError.failed("\(tool): \(String(decoding: message, as: UTF8.self))")
        }
    }
}
