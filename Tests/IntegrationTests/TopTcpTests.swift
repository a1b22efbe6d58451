import Foundation
import Testing
import TestSupport

/// `sonde top tcp` end to end (the CLI, in JSON) on runc containers moving known amounts of data.
@Suite(.serialized) struct TopTcpTests {
    /// 300000 bytes from a client to a server on the container's loopback, IPv4.
    static func script(port: Int, bytes: Int) -> [String] {
        ["sh", "-c", "ip link set lo up; while [ ! -e /tmp/go ]; do usleep 20000; done; " +
            "sleep 3 | nc -l -p \(port) > /tmp/got & usleep 300000; head -c \(bytes) /dev/zero | nc 127.0.0.1 \(port); " +
            "wait; sleep 5"]
    }

    @Test func bytesPerConnectionOfTheSelectedContainer() async throws {
        let a = try RuncContainer(prefix: "sonde-it-toptcp-a", args: Self.script(port: 7100, bytes: 300_000))
        let b = try RuncContainer(prefix: "sonde-it-toptcp-b", args: Self.script(port: 7200, bytes: 5_000))
        defer { a.remove(); b.remove() }
        try a.start()
        try b.start()
        let sonde = Task.detached {
            try run(sondeExecutable, ["top", "tcp", "-c", a.name, "-o", "json", "--interval", "0.5", "--timeout", "6", "--max-rows", "0"])
        }
        try await Task.sleep(for: .seconds(2))
        for c in [a, b] { FileManager.default.createFile(atPath: c.rootfs.appendingPathComponent("tmp/go").path, contents: nil) }
        let result = try await sonde.value
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try result.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
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
