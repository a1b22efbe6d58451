import Foundation
import Testing
import TestSupport

/// `sonde top file` end to end (the CLI, in JSON) on real runc containers with known I/O.
@Suite(.serialized) struct TopFileTests {
    static func workload(_ file: String, writeBlocks: Int) -> [String] {
        ["sh", "-c", "while true; do dd if=/dev/zero of=/tmp/\(file) bs=1000 count=\(writeBlocks) 2>/dev/null; " +
            "dd if=/tmp/\(file) of=/dev/null bs=500 count=10 2>/dev/null; usleep 100000; done"]
    }

    func rows(_ stdout: String) throws -> [[String: Any]] {
        try stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    @Test func countsCallsAndBytesPerFilePerProcessOfTheSelectedContainer() async throws {
        let a = try RuncContainer(prefix: "sonde-it-topfile-a", args: Self.workload("data-a", writeBlocks: 37))
        let b = try RuncContainer(prefix: "sonde-it-topfile-b", args: Self.workload("data-b", writeBlocks: 5))
        defer { a.remove(); b.remove() }
        try a.start()
        try b.start()

        // Until a's file shows both its writes and its reads (the workload repeats).
        let result = try await run(until: { out, _ in out.contains("\"writes\":37") && out.contains("\"reads\":10") },
                                   sondeExecutable, ["top", "file", "-c", a.name, "-o", "json", "--interval", "0.5"])
        #expect(result.status == 0, "\(result.stderr)")
        let all = try rows(result.stdout)
        #expect(!all.isEmpty)
        // Only the selected container.
        for row in all {
            #expect((row["container"] as? [String: Any])?["name"] as? String == a.name)
            #expect(row["source"] as? String == "topfile")
        }
        let writes = all.filter { $0["comm"] as? String == "dd" && $0["file"] as? String == "data-a" && ($0["writes"] as? Int ?? 0) > 0 }
        #expect(!writes.isEmpty, "\(all)")
        for row in writes {
            #expect(row["writes"] as? Int == 37 && row["wbytes"] as? Int == 37_000 && row["reads"] as? Int == 0)
            #expect(row["type"] as? String == "R")
        }
        let reads = all.filter { $0["comm"] as? String == "dd" && $0["file"] as? String == "data-a" && ($0["reads"] as? Int ?? 0) > 0 }
        #expect(!reads.isEmpty)
        for row in reads {
            #expect(row["reads"] as? Int == 10 && row["rbytes"] as? Int == 5_000 && row["writes"] as? Int == 0)
        }
        // /dev/zero and /dev/null are devices: not counted without --all-files.
        #expect(!all.contains { ($0["file"] as? String) == "zero" || ($0["file"] as? String) == "null" })
    }

    @Test func sortsCutsFiltersAndCountsEveryFileWhenAsked() async throws {
        let a = try RuncContainer(prefix: "sonde-it-topfile-c", args: Self.workload("data-c", writeBlocks: 37))
        defer { a.remove() }
        try a.start()
        // Three intervals with a row each, then stopped (its last, partial interval may add one).
        let result = try await run(until: { out, _ in out.split(separator: "\n").count >= 3 },
                                   sondeExecutable, ["top", "file", "-c", a.name, "-o", "json", "--interval", "0.5",
                                                     "--all-files", "--sort", "-rbytes", "--max-rows", "1", "--filter", "comm=dd"])
        #expect(result.status == 0, "\(result.stderr)")
        let all = try rows(result.stdout)
        // One row per interval: the most read, which is /dev/zero (37 x 1000 bytes).
        #expect(all.count >= 3, "\(all.count) rows")
        #expect(Set(all.compactMap { $0["time"] as? String }).count == all.count)
        for row in all {
            #expect(row["comm"] as? String == "dd")
            #expect(row["file"] as? String == "zero" && row["type"] as? String == "C" && row["rbytes"] as? Int == 37_000, "\(row)")
        }

        let bad = try run(sondeExecutable, ["top", "file", "--sort", "-nosuch"])
        #expect(bad.status != 0 && bad.stderr.contains("unknown field 'nosuch'"), "\(bad.stderr)")
    }
}
