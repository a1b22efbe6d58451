import Containers
import Events
import Foundation
import Gadgets
import LinuxKit
import Testing
import TestSupport

/// `sonde trace tcp` against real runc containers talking over their own loopback with busybox nc.
@Suite(.serialized) struct TraceTcpTests {
    /// An IPv4 connection to `port`, a refused IPv6 connect to port+1, an IPv6 connection to port+2.
    static func script(port: Int) -> String {
        "ip link set lo up; while [ ! -e /tmp/go ]; do usleep 20000; done; " +
            "echo hi | nc -l -p \(port) & usleep 300000; echo yo | nc 127.0.0.1 \(port); wait; " +
            "nc ::1 \(port + 1); " +
            "echo ho | nc -l -p \(port + 2) & usleep 300000; echo x | nc ::1 \(port + 2); wait; usleep 500000"
    }

    func text(_ event: Event, _ name: String) -> String? {
        event.field(name).map(FieldText.text)
    }

    @Test func connectAcceptAndCloseWithBothEndsPerContainer() async throws {
        let a = try RuncContainer(prefix: "sonde-it-tcp-a", args: ["sh", "-c", Self.script(port: 7000)])
        defer { a.remove() }
        try a.start()
        let collection = ContainerCollection(cgroups: try CgroupV2.find(), sources: [RuncSource()])
        let session = GadgetSession(gadget: TcpGadget(), collection: collection,
                                    options: GadgetOptions(selector: ContainerSelector(runtimes: [.runc])),
                                    notice: { print("sonde:", $0) })
        let events = Locked([Event]())
        let ready = Locked(false)
        let task = Task { try await session.run(ready: { ready.set(true) }, sink: { e in events.update { $0.append(e) } }) }
        guard try await eventually(timeout: .seconds(30), { ready.get() }) else {
            task.cancel()
            _ = try await task.value
            throw TestFailure("the tcp gadget did not attach")
        }
        // B starts after the gadget: followed from its start.
        let b = try RuncContainer(prefix: "sonde-it-tcp-b", args: ["sh", "-c", "touch /tmp/go; " + Self.script(port: 9000)])
        defer { b.remove() }
        try b.start()
        FileManager.default.createFile(atPath: a.rootfs.appendingPathComponent("tmp/go").path, contents: nil)

        func mine(_ c: RuncContainer) -> [Event] { events.get().filter { $0.container?.name == c.name } }
        let complete = try await eventually(timeout: .seconds(30)) {
            // Per container: 3 connects, 2 accepts, 4 closes.
            [a, b].allSatisfy { c in
                let e = mine(c)
                return e.filter { $0.field("type") == .string("connect") }.count == 3
                    && e.filter { $0.field("type") == .string("accept") }.count == 2
                    && e.filter { $0.field("type") == .string("close") }.count == 4
            }
        }
        task.cancel()
        let stats = try await task.value
        #expect(complete, "\(events.get().map { ($0.container?.name ?? "-", self.text($0, "type") ?? "", self.text($0, "src") ?? "", self.text($0, "dst") ?? "") })")
        #expect(stats.lost == 0, "\(stats.lossSummary ?? "")")

        for (container, port) in [(a, 7000), (b, 9000)] {
            let e = mine(container)
            // IPv4: the client's connect, the server's accept, both closes, on the same ports.
            let connect = try #require(e.first { $0.field("type") == .string("connect") && $0.field("dport") == .uint(UInt64(port)) })
            #expect(connect.process.comm == "nc")
            #expect(connect.field("family") == .string("ipv4"))
            #expect(connect.field("ret") == .result(0))
            #expect(connect.field("daddr") == .string("127.0.0.1") && connect.field("saddr") == .string("127.0.0.1"))
            guard case .uint(let clientPort)? = connect.field("sport") else { throw TestFailure("no source port") }
            #expect(clientPort != 0)
            #expect(connect.field("dst") == .string("127.0.0.1:\(port)"))

            // busybox nc listens on an IPv6 socket: the accepted end shows IPv4-mapped addresses.
            let accept = try #require(e.first { $0.field("type") == .string("accept") && $0.field("sport") == .uint(UInt64(port)) })
            #expect(accept.field("dport") == .uint(clientPort))
            #expect(accept.field("daddr") == .string("::ffff:127.0.0.1"))
            if case .result(let fd)? = accept.field("ret") { #expect(fd >= 0) } else { Issue.record("accept without ret") }
            #expect(accept.process.comm == "nc" && accept.process.pid != connect.process.pid)

            // Closes run in softirq context: attributed to the processes that owned the connection.
            let clientClose = try #require(e.first { $0.field("type") == .string("close") && $0.field("sport") == .uint(clientPort) })
            #expect(clientClose.process.pid == connect.process.pid)
            #expect(clientClose.field("dport") == .uint(UInt64(port)))
            #expect(clientClose.field("state") != nil && clientClose.field("ret") == nil)
            let serverClose = try #require(e.first { $0.field("type") == .string("close") && $0.field("dport") == .uint(clientPort) })
            #expect(serverClose.process.pid == accept.process.pid)

            // IPv6: refused, then a connection.
            let refused = try #require(e.first { $0.field("type") == .string("connect") && $0.field("dport") == .uint(UInt64(port + 1)) })
            #expect(refused.field("family") == .string("ipv6"))
            #expect(refused.field("dst") == .string("[::1]:\(port + 1)"))
            #expect(refused.field("ret") == .result(-Int64(ECONNREFUSED)))
            let six = try #require(e.first { $0.field("type") == .string("connect") && $0.field("dport") == .uint(UInt64(port + 2)) })
            #expect(six.field("ret") == .result(0) && six.field("saddr") == .string("::1") && six.field("daddr") == .string("::1"))
            let sixAccept = try #require(e.first { $0.field("type") == .string("accept") && $0.field("sport") == .uint(UInt64(port + 2)) })
            #expect(sixAccept.field("dst") == six.field("src"))
        }
        // Nothing of one container on the other's ports.
        #expect(!mine(a).contains { $0.field("dport") == .uint(9000) || $0.field("sport") == .uint(9000) })
        #expect(!mine(b).contains { $0.field("dport") == .uint(7000) || $0.field("sport") == .uint(7000) })
    }

    /// A connection opened before sonde started has no connect or accept event; closing it with
    /// close(2) in a selected process still gives its close events, attributed to that process.
    @Test func aConnectionOpenedBeforeTheStartIsSeenClosing() async throws {
        let cgroups = try CgroupV2.find()
        let name = "sonde-it-tcpcg-\(UInt32.random(in: 0...UInt32.max))"
        let directory = cgroups.directory(of: "/" + name)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { rmdir(directory) }
        // Joins the cgroup, connects to itself, waits for a line, then closes both ends.
        let script = """
            import socket, sys
            open("\(directory)/cgroup.procs", "w").write("0")
            server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1)
            client = socket.create_connection(server.getsockname())
            conn, _ = server.accept()
            print(server.getsockname()[1], client.getsockname()[1], flush=True)
            sys.stdin.readline()
            client.close(); conn.close(); server.close()
            sys.stdin.readline()
            """
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        python.arguments = ["-c", script]
        let input = Pipe(), output = Pipe()
        python.standardInput = input
        python.standardOutput = output
        try python.run()
        defer { try? input.fileHandleForWriting.close(); python.waitUntilExit() }
        var line = ""
        while !line.contains("\n") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += String(decoding: chunk, as: UTF8.self)
        }
        let ports = line.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt64($0) }
        #expect(ports.count == 2, "python said: \(line)")
        guard ports.count == 2 else { return }
        let (serverPort, clientPort) = (ports[0], ports[1])

        let collection = ContainerCollection(cgroups: cgroups, sources: [CgroupSource(paths: ["/" + name])])
        let session = GadgetSession(gadget: TcpGadget(), collection: collection,
                                    options: GadgetOptions(selector: ContainerSelector(cgroupPaths: ["/" + name])),
                                    notice: { print("sonde:", $0) })
        let events = Locked([Event]())
        let ready = Locked(false)
        let task = Task { try await session.run(ready: { ready.set(true) }, sink: { e in events.update { $0.append(e) } }) }
        guard try await eventually(timeout: .seconds(30), { ready.get() }) else {
            task.cancel()
            _ = try await task.value
            throw TestFailure("the tcp gadget did not attach")
        }
        input.fileHandleForWriting.write(Data("close\n".utf8))
        let closes = { events.get().filter { $0.field("type") == .string("close") } }
        let seen = try await eventually { closes().count == 2 }
        task.cancel()
        _ = try await task.value
        #expect(seen, "\(events.get().map { ($0.field("type"), $0.field("src"), $0.field("dst")) })")
        for event in closes() {
            #expect(event.process.pid == python.processIdentifier)
            #expect(event.container?.name == name)
        }
        #expect(closes().contains { $0.field("sport") == .uint(clientPort) && $0.field("dport") == .uint(serverPort) })
        #expect(closes().contains { $0.field("sport") == .uint(serverPort) && $0.field("dport") == .uint(clientPort) })
        // Nothing else: the connection was made before the start.
        #expect(!events.get().contains { $0.field("type") == .string("connect") || $0.field("type") == .string("accept") })
    }
}
