import Containers
import Events
import Foundation
import Gadgets
import LinuxKit
import Testing
import TestSupport

/// `sonde snapshot process` and `snapshot socket` on real runc containers, each with its own network
/// namespace and a TCP connection over its loopback.
@Suite(.serialized) struct SnapshotIntegrationTests {
    static func server(port: Int) -> [String] {
        ["sh", "-c", "ip link set lo up; sleep 60 | nc -l -p \(port) & sleep 0.3; sleep 60 | nc 127.0.0.1 \(port) & exec sleep 61"]
    }

    func string(_ event: Event, _ name: String) -> String? {
        if case .string(let s)? = event.field(name) { return s }
        return nil
    }

    func startBoth() throws -> (RuncContainer, RuncContainer) {
        let a = try RuncContainer(prefix: "sonde-it-snap-a", args: Self.server(port: 8080))
        let b = try RuncContainer(prefix: "sonde-it-snap-b", args: Self.server(port: 9090))
        try a.start()
        try b.start()
        return (a, b)
    }

    @Test func processesAreListedPerContainer() async throws {
        let (a, b) = try startBoth()
        defer { a.remove(); b.remove() }
        let collection = ContainerCollection(cgroups: try CgroupV2.find(), sources: [RuncSource()])
        collection.refresh()
        let selector = ContainerSelector(names: [a.name, b.name])
        var events: [Event] = []
        let complete = try await eventually {
            events = ProcessSnapshot.take(collection: collection, selector: selector)
            return events.filter { $0.process.comm == "nc" }.count == 4
        }
        #expect(complete, "\(events.map { ($0.container?.name ?? "-", $0.process.comm) })")
        #expect(Set(events.compactMap { $0.container?.name }) == [a.name, b.name])
        for (container, port) in [(a, "8080"), (b, "9090")] {
            let mine = events.filter { $0.container?.name == container.name }
            let initProcess = try #require(mine.first { $0.field("cmdline") == .strings(["sleep", "61"], truncated: false) })
            #expect(initProcess.process.comm == "sleep")
            #expect(initProcess.cgroupID == (try CgroupV2.find().id(of: "/" + container.name)))
            let listener = try #require(mine.first { $0.field("cmdline") == .strings(["nc", "-l", "-p", port], truncated: false) })
            #expect(listener.process.ppid == initProcess.process.pid)
            #expect(listener.process.uid == 0)
            #expect(listener.field("state") == .string("S"))
            #expect(listener.field("threads") == .uint(1))
        }
        // Nothing of the host.
        #expect(!events.contains { $0.process.pid == getpid() })
    }

    @Test func socketsAreListedWithTheirOwnerAndContainer() async throws {
        let (a, b) = try startBoth()
        defer { a.remove(); b.remove() }
        let collection = ContainerCollection(cgroups: try CgroupV2.find(), sources: [RuncSource()])
        collection.refresh()
        let selector = ContainerSelector(names: [a.name, b.name])
        var sockets: [Event] = []
        let complete = try await eventually {
            sockets = SocketSnapshot.take(collection: collection, selector: selector)
            // A process started during the listing has its socket listed without its owner: wait for a quiet moment.
            return sockets.filter { $0.field("state") == .string("ESTABLISHED") && $0.process.pid != 0 }.count == 4
        }
        #expect(complete, "\(sockets.map { ($0.container?.name ?? "-", $0.field("local"), $0.field("state")) })")
        let processes = ProcessSnapshot.take(collection: collection, selector: selector)
        for (container, port) in [(a, UInt64(8080)), (b, UInt64(9090))] {
            let mine = sockets.filter { $0.container?.name == container.name && $0.field("state") == .string("ESTABLISHED") }
            #expect(mine.count == 2)
            // The server's end: local port is the service's, owned by `nc -l`.
            let serverEnd = try #require(mine.first { $0.field("local_port") == .uint(port) })
            let clientEnd = try #require(mine.first { $0.field("remote_port") == .uint(port) })
            #expect(serverEnd.field("remote_port") == clientEnd.field("local_port"))
            #expect(serverEnd.field("protocol") == .string("TCP"))
            #expect(clientEnd.field("local") == .string("127.0.0.1:\(clientEnd.field("local_port").map(FieldText.text) ?? "")"))
            #expect(clientEnd.field("remote") == .string("127.0.0.1:\(port)"))
            let server = try #require(processes.first { $0.process.pid == serverEnd.process.pid })
            let client = try #require(processes.first { $0.process.pid == clientEnd.process.pid }, "client end \(clientEnd.process) \(clientEnd.fields.map { "\($0.name)=\($0.value)" }) among \(processes.map { ($0.process.pid, $0.process.comm) })")
            #expect(server.field("cmdline") == .strings(["nc", "-l", "-p", String(port)], truncated: false))
            #expect(client.field("cmdline") == .strings(["nc", "127.0.0.1", String(port)], truncated: false))
            #expect(server.container?.name == container.name && client.container?.name == container.name)
            // The socket inode is the one in the owner's fd table.
            if case .uint(let inode)? = serverEnd.field("inode") {
                let links = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(server.process.pid)/fd")
                    .compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(server.process.pid)/fd/\($0)") }
                #expect(links.contains("socket:[\(inode)]"))
            }
        }
        // Each container's sockets are in its own network namespace.
        let namespaces = Dictionary(grouping: sockets, by: { $0.container?.name ?? "" }).mapValues { Set($0.compactMap { $0.field("netns_id") }) }
        #expect(namespaces[a.name]?.count == 1 && namespaces[b.name]?.count == 1 && namespaces[a.name] != namespaces[b.name])
    }

    @Test func theCommandFiltersAndPrintsJSON() throws {
        let (a, b) = try startBoth()
        defer { a.remove(); b.remove() }
        var result = (status: Int32(0), stdout: "", stderr: "")
        for _ in 0..<40 {
            result = try run(sondeExecutable, ["snapshot", "socket", "-c", a.name, "-c", b.name, "-o", "json",
                                               "--filter", "local_port=9090"])
            if result.stdout.contains("ESTABLISHED") { break }
            Thread.sleep(forTimeInterval: 0.25)
        }
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stdout)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect((object["container"] as? [String: Any])?["name"] as? String == b.name)
        #expect(object["local_port"] as? Int == 9090)
        #expect(object["comm"] as? String == "nc")

        let bad = try run(sondeExecutable, ["snapshot", "process", "--filter", "nosuchfield=1"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("unknown field 'nosuchfield'") && bad.stderr.contains("cmdline"), "\(bad.stderr)")
    }
}
