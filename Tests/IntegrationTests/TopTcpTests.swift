import Foundation
import Testing
import TestSupport

/// `sonde top tcp` end to end (the CLI, in JSON) on runc containers moving known amounts of data.
@Suite(.serialized) struct TopTcpTests {
    /// Until /tmp/go exists, small exchanges on port+1 (so the test sees when sonde counts); then
    /// `bytes` bytes from a client to a server on the container's loopback, IPv4.
    static func script(port: Int, bytes: Int) -> [String] {
        ["sh", "-c", "ip link set lo up; while [ ! -e /tmp/go ]; do " +
            "sleep 1 | nc -l -p \(port + 1) > /dev/null & usleep 100000; echo warm | nc 127.0.0.1 \(port + 1); wait; done; " +
            "sleep 3 | nc -l -p \(port) > /tmp/got & usleep 300000; head -c \(bytes) /dev/zero | nc 127.0.0.1 \(port); " +
            "wait; sleep 60"]
    }

    static func rows(_ output: String) -> [[String: Any]] {
        output.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test func bytesPerConnectionOfTheSelectedContainer() async throws {
        let a = try RuncContainer(prefix: "sonde-it-toptcp-a", args: Self.script(port: 7100, bytes: 300_000))
        let b = try RuncContainer(prefix: "sonde-it-toptcp-b", args: Self.script(port: 7200, bytes: 5_000))
        defer { a.remove(); b.remove() }
        try a.start()
        try b.start()
        let sonde = try BackgroundCommand(sondeExecutable, ["top", "tcp", "-c", a.name, "-o", "json", "--interval", "0.5", "--max-rows", "0"])
        // Counting once a's warm-up connections show; then both move their data.
        let counting = try await eventually(timeout: .seconds(60)) { Self.rows(sonde.stdout).contains { $0["dport"] as? Int == 7101 } }
        #expect(counting, "\(sonde.stderr)")
        for c in [a, b] { FileManager.default.createFile(atPath: c.rootfs.appendingPathComponent("tmp/go").path, contents: nil) }
        // Both servers got everything (b's while sonde ran: it must not show), and a's counts are in.
        let moved = try await eventually(timeout: .seconds(60)) {
            let got = { (c: RuncContainer) in (try? FileManager.default.attributesOfItem(atPath: c.rootfs.appendingPathComponent("tmp/got").path)[.size] as? Int) ?? 0 }
            return got(a) == 300_000 && got(b) == 5_000
                && Self.rows(sonde.stdout).filter { $0["sport"] as? Int == 7100 }.reduce(0) { $0 + ($1["received"] as? Int ?? 0) } == 300_000
        }
        #expect(moved, "\(sonde.stdout)\n\(sonde.stderr)")
        let status = sonde.interrupt()
        let result = (status: status, stdout: sonde.stdout, stderr: sonde.stderr)
        #expect(result.status == 0, "\(result.stderr)")
        let rows = Self.rows(result.stdout)
        #expect(rows.count == result.stdout.split(separator: "\n").count, "every line is one JSON object")
        #expect(!rows.isEmpty, "\(result.stderr)")
        for row in rows {
            #expect((row["container"] as? [String: Any])?["name"] as? String == a.name)
            #expect(row["dport"] as? Int != 7200 && row["sport"] as? Int != 7200)
        }
        // Summed over the intervals: the client sent everything to port 7100, the server received it.
        func total(_ key: String, where predicate: ([String: Any]) -> Bool) -> Int {
            rows.filter(predicate).reduce(0) { $0 + ($1[key] as? Int ?? 0) }
        }
        let toServer: ([String: Any]) -> Bool = { $0["dport"] as? Int == 7100 && $0["comm"] as? String == "nc" }
        let atServer: ([String: Any]) -> Bool = { $0["sport"] as? Int == 7100 && $0["comm"] as? String == "nc" }
        #expect(total("sent", where: toServer) == 300_000, "\(rows)")
        #expect(total("received", where: atServer) == 300_000)
        #expect(total("sent", where: atServer) == 0)
        let client = try #require(rows.first(where: toServer))
        #expect(client["src"] as? String == "127.0.0.1:\(client["sport"] as? Int ?? -1)")
        #expect(client["dst"] as? String == "127.0.0.1:7100" && client["family"] as? String == "ipv4")
        let server = try #require(rows.first(where: atServer))
        #expect(server["dst"] as? String == "[::ffff:127.0.0.1]:\(client["sport"] as? Int ?? -1)")
        #expect(server["pid"] as? Int != client["pid"] as? Int)
    }
}
