import Foundation
import LinuxKit
import Recorder
import Syscalls
import Testing
import TestSupport

/// The recording of a wide program (the ~290 harmless calls of Oracle/harmless-syscalls.txt, one
/// per syscall) against strace on the very same run: strace traces the program while the recorder
/// records the cgroup both run in, so every result is the same call's.
@Suite(.serialized) struct RecorderWideOracleTests {
    /// A line from its syscall name on, the padding strace puts before ` = ` removed.
    static func call<S: StringProtocol>(_ line: S) -> String? {
        guard let start = line.range(of: #"[a-z_0-9]+\("#, options: .regularExpression) else { return nil }
        return String(line[start.lowerBound...]).replacingOccurrences(of: #" +="#, with: " =", options: .regularExpression)
    }

    @Test func everyCallOfAWideProgramReadsAsStraceShowsIt() throws {
        let oracle = packageRoot.appendingPathComponent("Tests/IntegrationTests/Oracle/harmless-syscalls.txt")
        let calls = try String(contentsOf: oracle, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }
        let table = SyscallTable.x86_64
        var source = "#include <unistd.h>\n#include <string.h>\n"
        source += "static void mark(const char *t) { (void)!write(-1, t, strlen(t)); }\nint main(void) {\n    mark(\"SONDE-WIDE-BEGIN\");\n"
        for line in calls {
            let name = String(line.split(separator: " ")[0])
            guard let number = table.number(of: name) else { continue }
            let arguments = line.dropFirst(name.count).trimmingCharacters(in: .whitespaces)
            source += "    syscall(\(number)\(arguments.isEmpty ? "" : ", " + arguments));\n"
        }
        source += "    mark(\"SONDE-WIDE-END\");\n    return 0;\n}\n"

        let (want, got) = try Self.recordBesideStrace(source: source, name: "wide")
        let names = Set(want.compactMap { $0.split(separator: "(").first })
        #expect(names.count >= 100, "only \(names.count) distinct syscalls")
        #expect(got.count == want.count, "strace \(want.count) lines, sonde \(got.count)")

        // Every line's name and result; whole lines for the syscalls sonde formats as strace does.
        var whole = 0, strict = 0
        for (index, line) in want.enumerated() where index < got.count {
            let name = String(line.split(separator: "(")[0])
            let result = { (text: String) in text.range(of: " = ", options: .backwards).map { String(text[$0.upperBound...]) } ?? "" }
            #expect(got[index].hasPrefix(name + "(") && result(got[index]) == result(line), "strace: \(line)\nsonde:  \(got[index])")
            if got[index] == line { whole += 1 } else { print("  strace: \(line)\n  sonde:  \(got[index])") }
            if table[table.number(of: name) ?? -1]?.decoding == .strace {
                strict += 1
                #expect(got[index] == line, "strace: \(line)\nsonde:  \(got[index])")
            }
        }
        print("sonde wide oracle: \(names.count) distinct syscalls, \(whole) of \(want.count) lines whole (\(strict) checked whole)")
    }

    /// Arrays the kernel fills or reads and the time left: every line whole.
    @Test func writtenBackArraysMasksAndTimeLeftReadAsStraceShowsThem() throws {
        let source = try String(contentsOf: packageRoot.appendingPathComponent("Tests/IntegrationTests/Oracle/written-back.c"), encoding: .utf8)
        let (want, got) = try Self.recordBesideStrace(source: source, name: "written-back")
        #expect(want.count >= 25, "strace showed \(want.count) lines")
        #expect(got == want, "strace:\n\(want.joined(separator: "\n"))\nsonde:\n\(got.joined(separator: "\n"))")
        for call in ["getgroups(64, [1, 2, 3])", "mincore(", "rt_sigreturn({mask=[]})", "rt_sigreturn({mask=[USR2 TERM]})", ", left {tv_sec=",
                     "setgroups(40, [100, 101,"] {
            #expect(got.contains { $0.contains(call) }, "no \(call) line in:\n\(got.joined(separator: "\n"))")
        }
    }

    /// Builds `source` (whose main writes SONDE-WIDE-BEGIN and SONDE-WIDE-END to fd -1), runs it
    /// under strace inside a cgroup recorded from before anything enters it, so both tools see the
    /// same run, and returns the calls between the markers as each shows them (strace's padding
    /// before ` = ` removed).
    static func recordBesideStrace(source: String, name: String) throws -> (strace: [String], sonde: [String]) {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-\(name)-\(getpid())-\(UInt32.random(in: 0...99999))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let program = work.appendingPathComponent(name).path
        try source.write(toFile: program + ".c", atomically: true, encoding: .utf8)
        let built = try run("/usr/bin/gcc", ["-O1", "-w", "-static", "-o", program, program + ".c"])
        #expect(built.status == 0, "\(built.stderr)")

        // A cgroup recorded from before anything enters it; strace and the program run in it.
        let settings = RecorderSettings.isolated("sonde-wide", bytesPerCPU: 4 << 20, poolSize: 4)
        let location = ["--pin-directory", settings.pinDirectory, "--state-directory", settings.stateDirectory]
        defer { _ = try? run(sondeExecutable, ["record", "stop"] + location) }
        let cgroup = try TestCgroup(prefix: "sonde-it-wide")
        defer { cgroup.remove() }
        let cgroups = cgroup.cgroups, path = cgroup.path
        let started = try run(sondeExecutable, ["record", "start", "--cgroup", path, "--timeout", "1"] + location)
        #expect(started.status == 0, "\(started.stderr)")
        let straceOut = work.appendingPathComponent("strace.txt").path
        let traced = try run("/bin/sh", ["-c", "echo $$ > \(cgroups.directory(of: path))/cgroup.procs && exec /usr/bin/strace -f -qq -s 32 -o \(straceOut) \(program)"])
        #expect(traced.status == 0, "\(traced.stderr)")
        let dump = try run(sondeExecutable, ["record", "dump", "--cgroup", path] + location)
        #expect(dump.status == 0, "\(dump.stderr)")

        // strace's lines of the program between the markers, and the recording's of the same thread.
        let straceLines = try String(contentsOfFile: straceOut, encoding: .utf8).split(separator: "\n")
        func between(_ lines: [Substring]) -> [Substring] {
            guard let begin = lines.firstIndex(where: { $0.contains("SONDE-WIDE-BEGIN") }),
                  let end = lines.firstIndex(where: { $0.contains("SONDE-WIDE-END") }), begin < end else { return [] }
            return Array(lines[(begin + 1)..<end])
        }
        let expected = between(straceLines)
        let tid = try #require(straceLines.first { $0.contains("SONDE-WIDE-BEGIN") }?.split(separator: " ").first)
        let recorded = between(dump.stdout.split(separator: "\n").filter { $0.split(separator: " ", omittingEmptySubsequences: true).first == tid })
        return (expected.compactMap(Self.call), recorded.compactMap(Self.call))
    }
}
