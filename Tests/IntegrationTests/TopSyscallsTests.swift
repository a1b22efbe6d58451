import Foundation
import Testing
import TestSupport

/// `sonde top syscalls` end to end (the CLI, in JSON and columns) on real runc containers that make
/// a known number of calls, some failing.
@Suite(.serialized) struct TopSyscallsTests {
    func rows(_ stdout: String) throws -> [[String: Any]] {
        try stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    @Test func countsCallsErrorsAndLatencyPerSyscallOfTheSelectedContainer() async throws {
        let a = try SyscallWorkload.container(prefix: "sonde-it-topsys-a", ok: 777, failing: 123)
        let b = try SyscallWorkload.container(prefix: "sonde-it-topsys-b", ok: 50, failing: 5)
        defer { a.remove(); b.remove() }
        try a.start()
        try b.start()

        let top = try BackgroundCommand(sondeExecutable, ["top", "syscalls", "-c", a.name, "-o", "json", "--interval", "0.5",
                                                          "--max-rows", "0"])
        // The waiting loop's own calls (access, nanosleep) show once the programs are attached.
        let attached = try await eventually(timeout: .seconds(30)) { top.stdout.contains("\"access\"") }
        #expect(attached, "\(top.stderr)")
        SyscallWorkload.go(a)
        SyscallWorkload.go(b)
        // Until a's last calls (its rmdirs come after its getpgids) are counted; stopping shows the
        // last, partial interval too, so a count too many would still be in the totals below.
        let counted = try await eventually(timeout: .seconds(60)) {
            top.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .filter { $0["syscall"] as? String == "rmdir" }.reduce(0) { $0 + ($1["count"] as? Int ?? 0) } >= 123
        }
        #expect(counted, "\(top.stdout.suffix(2000))")
        let status = top.interrupt()
        #expect(status == 0, "\(top.stderr)")

        let all = try rows(top.stdout)
        for row in all {
            #expect((row["container"] as? [String: Any])?["name"] as? String == a.name)
            #expect(row["source"] as? String == "syscalls")
        }
        func total(_ syscall: String, _ field: String) -> Int {
            all.filter { $0["syscall"] as? String == syscall }.reduce(0) { $0 + ($1[field] as? Int ?? 0) }
        }
        #expect(total("getpgid", "count") == 777)
        #expect(total("getpgid", "errors") == 0)
        #expect(total("rmdir", "count") == 123)
        #expect(total("rmdir", "errors") == 123)
        #expect(total("exit_group", "count") == SyscallWorkload.children) // counted when each child ends
        #expect(total("rt_sigreturn", "count") == SyscallWorkload.signals, "\(all.map { "\($0["syscall"] ?? "")=\($0["count"] ?? "")" })")
        let getpgid = try #require(all.first { $0["syscall"] as? String == "getpgid" })
        #expect(getpgid["nr"] as? Int == 121)
        // Percentiles come from the histogram: ordered, and a getpgid takes well under 1 ms.
        let p50 = try #require(getpgid["p50"] as? Int), p99 = try #require(getpgid["p99"] as? Int)
        #expect(p50 > 0 && p50 <= p99 && p99 < 1_000_000, "\(getpgid)")
    }

    @Test func sortsCutsAndShowsColumns() async throws {
        // More failing rmdirs than the waiting loop's failing accesses in any interval (it polls
        // every 20 ms), so the interval with the rmdirs sorts them first however slow the machine.
        let a = try SyscallWorkload.container(prefix: "sonde-it-topsys-c", ok: 2000, failing: 500)
        defer { a.remove() }
        try a.start()
        let top = try BackgroundCommand(sondeExecutable, ["top", "syscalls", "-c", a.name, "--interval", "0.5",
                                                          "--sort", "-errors", "--max-rows", "1",
                                                          "--fields", "container,syscall,count,errors,p50,p99"])
        let attached = try await eventually(timeout: .seconds(30)) { top.stdout.contains("access") }
        #expect(attached, "\(top.stderr)")
        SyscallWorkload.go(a)
        // Stopped once the failures were shown, however long the machine took to get there.
        let shown = try await eventually(timeout: .seconds(60)) { top.stdout.contains(" rmdir ") }
        #expect(shown, "\(top.stdout.suffix(2000))")
        #expect(top.interrupt() == 0, "\(top.stderr)")
        let lines = top.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("CONTAINER") && $0.contains("SYSCALL") && $0.contains("ERRORS") && $0.contains("P99") })
        // The interval with the failures shows rmdir first (most errors), with its unit-suffixed latency.
        let rmdir = try #require(lines.first { $0.contains(" rmdir ") }, "\(top.stdout)")
        let words = rmdir.split(separator: " ").map(String.init)
        // CONTAINER SYSCALL COUNT ERRORS P50 P99: every rmdir failed.
        #expect(words.count == 6 && words[2] == words[3] && (Int(words[3]) ?? 0) > 0 && words[5].hasSuffix("s"), "\(rmdir)")
        // --max-rows 1: never two syscall rows in one interval.
        let dataLines = lines.filter { $0.hasPrefix(a.name.prefix(16)) }
        let headers = lines.filter { $0.hasPrefix("CONTAINER") }
        #expect(!dataLines.isEmpty && dataLines.count <= headers.count, "\(top.stdout)")

        let bad = try run(sondeExecutable, ["top", "syscalls", "--sort", "-nosuch"])
        #expect(bad.status != 0 && bad.stderr.contains("unknown field 'nosuch'"), "\(bad.stderr)")
    }
}
