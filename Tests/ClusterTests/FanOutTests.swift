import Cluster
import DaemonAPI
import Foundation
import Testing
import TestSupport

/// `kubectl sonde` against real daemons: each "node" is a network namespace with its own address
/// and its own `sonde daemon` on TCP with mutual TLS; the pods are real runc containers, placed on
/// nodes by a fixture of recorded API objects (`--cluster-file`).
@Suite(.serialized) struct ClusterFanOutTests {
    /// Three nodes, a pod on each; plus, in the failure test, a node that is down and one that
    /// accepts but never answers.
    struct Cluster {
        let tag = String(UInt32.random(in: 0x1000_0000...0xffff_ffff), radix: 16)
        let subnet = "10.\(Int.random(in: 100...250)).\(Int.random(in: 0...250))"
        var nodes: [NetnsNode] = []
        var containers: [TestContainer] = []
        let certificates: String
        let clusterFile: String

        init() throws {
            certificates = try scratchDirectory("sonde-cluster-certs")
            clusterFile = certificates + "/cluster.json"
            try makeCertificates(in: certificates)
        }

        func remove() {
            for container in containers { container.remove() }
            for node in nodes { node.remove() }
            try? FileManager.default.removeItem(atPath: certificates)
        }

        func plugin(_ arguments: [String], timeout: TimeInterval = 90, path: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
            try run("/usr/bin/env", pluginCommand(arguments, path: path), timeout: timeout)
        }

        /// The plugin run without a --timeout until its output holds what the test needs (the
        /// containers keep making events), then stopped as with Ctrl-C (TestSupport's `run(until:)`).
        func plugin(until done: @escaping (_ stdout: String, _ stderr: String) -> Bool, _ arguments: [String],
                    path: String? = nil) async throws -> (status: Int32, stdout: String, stderr: String) {
            try await run(until: done, "/usr/bin/env", pluginCommand(arguments, path: path))
        }

        /// `env [PATH=...] kubectl-sonde ARGUMENTS` with this cluster's file and certificates.
        func pluginCommand(_ arguments: [String], path: String? = nil) -> [String] {
            (path.map { ["PATH=" + $0] } ?? []) + [executable("kubectl-sonde")] + arguments + [
                "--cluster-file", clusterFile, "--tls-cert", certificates + "/client.pem", "--tls-key", certificates + "/client.key",
                "--tls-ca", certificates + "/ca.pem",
            ]
        }
    }

    /// Starts `count` nodes with a daemon and a container each (an exec loop), and writes the fixture.
    func startCluster(nodes count: Int, latePod: Bool = false,
                      setUp: (inout Cluster) throws -> [(name: String, address: String)] = { _ in [] }) async throws -> Cluster {
        var cluster = try Cluster()
        do {
            var pods: [[String: Any]] = []
            var nodeObjects: [[String: Any]] = []
            for index in 0..<count {
                let node = try NetnsNode(name: "node-\(index)", subnet: cluster.subnet, index: index, tag: cluster.tag)
                cluster.nodes.append(node)
                try await node.startDaemon(certificates: cluster.certificates)
                // Execs /bin/cat every 100 ms: a steady stream of exec events on this node.
                let container = try TestContainer(prefix: "sonde-cl-\(index)", script: "while true; do /bin/cat /etc/passwd > /dev/null; sleep 0.1; done")
                cluster.containers.append(container)
                try container.start()
                pods.append(Fixture.pod("web-\(index)", namespace: "shop", node: node.name, hostIP: node.address,
                                        labels: ["app": "web", "tier": index == 0 ? "front" : "back"],
                                        containers: [(name: "app", id: container.name)]))
                nodeObjects.append(Fixture.node(node.name, address: node.address))
                // The DaemonSet's pod on this node, which `--via port-forward` forwards to.
                pods.append(Fixture.pod("sonde-daemon-\(index)", namespace: "sonde", node: node.name, hostIP: node.address,
                                        labels: ["app.kubernetes.io/name": "sonde-daemon"], containers: [(name: "sonde", id: "daemon-\(index)")]))
            }
            for extra in try setUp(&cluster) {
                let container = try TestContainer(prefix: "sonde-cl-x", script: "sleep 600")
                cluster.containers.append(container)
                try container.start()
                pods.append(Fixture.pod("web-\(extra.name)", namespace: "shop", node: extra.name, hostIP: extra.address,
                                        labels: ["app": "web"], containers: [(name: "app", id: container.name)]))
                nodeObjects.append(Fixture.node(extra.name, address: extra.address))
            }
            // A pod elsewhere, which the selection must leave out.
            pods.append(Fixture.pod("db-0", namespace: "data", node: "node-0", hostIP: cluster.nodes[0].address, labels: ["app": "db"],
                                    containers: [(name: "postgres", id: "0123456789abcdef-not-running")]))
            // A pod the first list does not have: the pod watch reports it (ADDED, then MODIFIED
            // once its container runs), and the fan-out follows it on its node.
            var watch: [[String: Any]] = []
            if latePod {
                let container = try TestContainer(prefix: "sonde-cl-late", script: "while true; do /bin/cat /etc/group > /dev/null; sleep 0.1; done")
                cluster.containers.append(container)
                try container.start()
                var created = Fixture.pod("late-1", namespace: "shop", node: "node-1", hostIP: cluster.nodes[1].address,
                                          labels: ["app": "web", "tier": "back"], containers: [(name: "app", id: container.name)])
                var pending = created
                pending["status"] = ["phase": "Pending"]
                watch.append(["type": "ADDED", "object": pending])
                created["metadata"] = (created["metadata"] as! [String: Any]).merging(["resourceVersion": "1001"]) { $1 }
                watch.append(["type": "MODIFIED", "object": created])
            }
            try Fixture.write(pods: pods, nodes: nodeObjects, watch: watch, to: cluster.clusterFile)
            return cluster
        } catch {
            cluster.remove()
            throw error
        }
    }

    @Test func execEventsFromEveryNodeCarryTheirNodeAndPod() async throws {
        try requireRoot()
        let cluster = try await startCluster(nodes: 3, latePod: true)
        defer { cluster.remove() }

        // JSON: every node's events, each with its own node, namespace, pod and container name.
        // Until every pod, the late one included, has shown five execs.
        let json = try await cluster.plugin(until: { out, err in
            let pods = out.split(separator: "\n").compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["pod"] as? String }
            return ["web-0", "web-1", "web-2", "late-1"].allSatisfy { pod in pods.filter { $0 == pod }.count >= 5 }
                && err.contains("node node-1: following shop/late-1 app")
        }, ["trace", "exec", "-n", "shop", "-l", "app=web", "-o", "json"])
        #expect(json.status == 0, "\(json.stderr)")
        var seen: [String: Int] = [:]
        var late = 0
        for line in json.stdout.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            let node = try #require(object["node"] as? String)
            let index = node.dropFirst("node-".count)
            if object["pod"] as? String == "late-1" {
                #expect(node == "node-1")
                #expect((object["container"] as? [String: Any])?["id"] as? String == cluster.containers.last?.name)
                late += 1
                continue
            }
            #expect(object["pod"] as? String == "web-\(index)", "\(line)")
            #expect(object["namespace"] as? String == "shop")
            let container = try #require(object["container"] as? [String: Any])
            #expect(container["name"] as? String == "app")
            #expect(container["id"] as? String == cluster.containers[Int(index)!].name, "\(line)")
            #expect(object["source"] as? String == "exec")
            seen[node, default: 0] += 1
        }
        #expect(Set(seen.keys) == ["node-0", "node-1", "node-2"], "\(seen) \(json.stderr)")
        #expect(seen.values.allSatisfy { $0 >= 5 }, "\(seen)")
        #expect(late >= 5, "the watched pod's events: \(late); \(json.stderr)")
        #expect(json.stderr.contains("node node-1: following shop/late-1 app"), "\(json.stderr)")

        // Columns, narrowed by a set-based selector and a node: only that node's pod.
        let table = try await cluster.plugin(until: { out, _ in out.split(separator: "\n").count > 3 },
                                             ["trace", "exec", "-A", "-l", "tier in (back),app", "--node", "node-2"])
        #expect(table.status == 0, "\(table.stderr)")
        let lines = table.stdout.split(separator: "\n").map(String.init)
        let header = try #require(lines.first)
        #expect(header.hasPrefix("NODE"), "\(header)")
        for column in ["NAMESPACE", "POD", "CONTAINER", "PID", "COMM"] { #expect(header.contains(column), "\(header)") }
        #expect(lines.count > 3, "\(table.stdout) \(table.stderr)")
        for line in lines.dropFirst() {
            let cells = line.split(separator: " ", omittingEmptySubsequences: true)
            #expect(Array(cells.prefix(4)) == ["node-2", "shop", "web-2", "app"], "\(line)")
        }

        // Through the API server: `kubectl port-forward` to each node's daemon pod. A stand-in
        // kubectl forwards 127.0.0.1:random to the pod's node, as the real one does through the
        // API server; TLS is still checked end to end, by the certificate's name.
        let fakeBin = cluster.certificates + "/bin"
        try FileManager.default.createDirectory(atPath: fakeBin, withIntermediateDirectories: true)
        var forwards: [String: String] = [:]
        for (index, node) in cluster.nodes.enumerated() { forwards["sonde-daemon-\(index)"] = node.address }
        try JSONSerialization.data(withJSONObject: forwards).write(to: URL(fileURLWithPath: cluster.certificates + "/forwards.json"))
        try """
        #!/usr/bin/python3
        import json, signal, socket, sys, threading
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
        args = sys.argv[1:]
        assert args[0] == "port-forward" and args[1:3] == ["-n", "sonde"], args
        pod, port = args[3][len("pod/"):], int(args[4].lstrip(":"))
        address = json.load(open("\(cluster.certificates)/forwards.json"))[pod]
        with open("\(cluster.certificates)/forwarded.log", "a") as log: log.write(pod + "\\n")
        server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(16)
        print("Forwarding from 127.0.0.1:%d -> %d" % (server.getsockname()[1], port), flush=True)
        def pipe(a, b):
            try:
                while True:
                    data = a.recv(65536)
                    if not data: break
                    b.sendall(data)
            except OSError: pass
            try: b.shutdown(socket.SHUT_WR)
            except OSError: pass
        while True:
            client, _ = server.accept()
            upstream = socket.create_connection((address, port))
            threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
        """.write(toFile: fakeBin + "/kubectl", atomically: true, encoding: .utf8)
        chmod(fakeBin + "/kubectl", 0o755)
        let forwarded = try await cluster.plugin(until: { out, _ in out.contains("\"node\":\"node-0\"") && out.contains("\"node\":\"node-2\"") },
                                                 ["trace", "exec", "-n", "shop", "-p", "web-0", "-p", "web-2", "--via", "port-forward", "-o", "json"],
                                                 path: fakeBin + ":/usr/bin:/bin")
        #expect(forwarded.status == 0, "\(forwarded.stderr)")
        let forwardedNodes = Set(forwarded.stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["node"] as? String
        })
        #expect(forwardedNodes == ["node-0", "node-2"], "\(forwarded.stdout.prefix(500)) \(forwarded.stderr)")
        let log = (try? String(contentsOfFile: cluster.certificates + "/forwarded.log", encoding: .utf8)) ?? ""
        #expect(Set(log.split(separator: "\n")) == ["sonde-daemon-0", "sonde-daemon-2"], "\(log)")
        // Every forward ended with the plugin.
        let left = try run("/usr/bin/pgrep", ["-f", fakeBin + "/kubectl"])
        #expect(left.stdout.isEmpty, "port-forwards left running: \(left.stdout)")

        // The plan: which node and address each selected container is on.
        let pods = try cluster.plugin(["pods", "-n", "shop", "-p", "web-1", "-p", "web-0"])
        #expect(pods.status == 0, "\(pods.stderr)")
        #expect(pods.stdout.contains("node-0") && pods.stdout.contains(cluster.nodes[0].address), "\(pods.stdout)")
        #expect(pods.stdout.contains("web-1") && !pods.stdout.contains("web-2"), "\(pods.stdout)")
    }

    @Test func aNodeDownAndASlowNodeAreReportedAndDoNotStallTheOthers() async throws {
        try requireRoot()
        let cluster = try await startCluster(nodes: 2) { cluster in
            // node-down: its namespace and address exist, nothing listens (connection refused).
            let down = try NetnsNode(name: "node-down", subnet: cluster.subnet, index: 2, tag: cluster.tag)
            cluster.nodes.append(down)
            // node-slow: accepts TCP, never speaks TLS.
            let slow = try NetnsNode(name: "node-slow", subnet: cluster.subnet, index: 3, tag: cluster.tag)
            cluster.nodes.append(slow)
            try slow.startSilentListener()
            return [(down.name, down.address), (slow.name, slow.address)]
        }
        defer { cluster.remove() }

        let started = ContinuousClock.now
        // Until both missing nodes are reported and the healthy ones have streamed ten execs each.
        let result = try await cluster.plugin(until: { out, _ in
            let nodes = out.split(separator: "\n").compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
            let failed = Set(nodes.filter { $0["reason"] != nil }.compactMap { $0["node"] as? String })
            let events = nodes.filter { $0["reason"] == nil }.compactMap { $0["node"] as? String }
            return failed == ["node-down", "node-slow"] && ["node-0", "node-1"].allSatisfy { node in events.filter { $0 == node }.count >= 10 }
        }, ["trace", "exec", "-n", "shop", "-o", "json", "--connect-timeout", "2"])
        let elapsed = ContinuousClock.now - started
        #expect(result.status == 0, "\(result.stderr)")
        var eventsByNode: [String: Int] = [:]
        var failures: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            let node = try #require(object["node"] as? String)
            if let reason = object["reason"] as? String {
                #expect(object["error"] as? String == "node unavailable")
                failures[node] = reason
            } else {
                eventsByNode[node, default: 0] += 1
            }
        }
        // The healthy nodes streamed for the whole run, not just after the others gave up.
        #expect(Set(eventsByNode.keys) == ["node-0", "node-1"], "\(eventsByNode) \(result.stderr)")
        #expect(eventsByNode.values.allSatisfy { $0 >= 10 }, "\(eventsByNode)")
        #expect(Set(failures.keys) == ["node-down", "node-slow"], "\(failures)")
        #expect(failures["node-slow"]?.contains("no answer within 2 s") == true, "\(failures)")
        #expect(failures["node-down"].map { $0.contains("refused") || $0.contains("did not answer") } == true, "\(failures)")
        #expect(result.stderr.contains("2 of 4 nodes missing from this output: node-down, node-slow"), "\(result.stderr)")
        // Bounded: the failures came within the connect timeout, not after a TCP or TLS timeout of minutes.
        #expect(elapsed < .seconds(25), "\(elapsed)")

        // Columns: the failure goes to stderr, naming the node and the reason.
        let table = try await cluster.plugin(until: { out, err in
            err.contains("node node-slow unavailable") && out.contains("node-0")
        }, ["trace", "exec", "-n", "shop", "--connect-timeout", "1"])
        #expect(table.stderr.contains("node node-slow unavailable, its events are missing: no answer within 1 s"), "\(table.stderr)")
        #expect(table.stdout.contains("node-0"), "\(table.stdout)")

        // A daemon certificate that does not carry the name the client expects: refused, every
        // node missing, and the exit status says so.
        let impostor = try cluster.plugin(["trace", "exec", "-n", "shop", "--timeout", "2", "--connect-timeout", "2", "--tls-server-name", "not-sonde"])
        #expect(impostor.status != 0)
        #expect(impostor.stderr.contains("4 of 4 nodes missing from this output"), "\(impostor.stderr)")
        #expect(impostor.stdout.split(separator: "\n").count <= 1, "\(impostor.stdout)")
    }

    @Test func recorderDumpsOfEveryNodeArePrefixedWithTheirPod() async throws {
        try requireRoot()
        var cluster = try Cluster()
        defer { cluster.remove() }
        var pods: [[String: Any]] = []
        var nodeObjects: [[String: Any]] = []
        for index in 0..<2 {
            let node = try NetnsNode(name: "node-\(index)", subnet: cluster.subnet, index: index, tag: cluster.tag)
            cluster.nodes.append(node)
            let container = try TestContainer(prefix: "sonde-cl-rec-\(index)", script: "echo marker-of-node-\(index); sleep 600")
            cluster.containers.append(container)
            // Each node's daemon records its own container, from its first syscall.
            try await node.startDaemon(certificates: cluster.certificates, recording: [container.name])
            try container.start()
            pods.append(Fixture.pod("rec-\(index)", namespace: "ops", node: node.name, hostIP: node.address, labels: ["app": "rec"],
                                    containers: [(name: "main", id: container.name)]))
            nodeObjects.append(Fixture.node(node.name, address: node.address))
        }
        try Fixture.write(pods: pods, nodes: nodeObjects, to: cluster.clusterFile)

        // Dumped again until both containers have written their marker (they run from now on).
        var text = (status: Int32(-1), stdout: "", stderr: "")
        _ = try await eventually(timeout: .seconds(60)) {
            text = (try? cluster.plugin(["record", "dump", "-n", "ops", "-l", "app=rec"])) ?? text
            return (0..<2).allSatisfy { index in text.stdout.contains("write(1, \"marker-of-node-\(index)\\n\"") }
        }
        #expect(text.status == 0, "\(text.stderr)")
        for index in 0..<2 {
            let marker = text.stdout.split(separator: "\n").first { $0.contains("write(1, \"marker-of-node-\(index)\\n\"") }
            let line = try #require(marker, "\(text.stdout.suffix(2000)) \(text.stderr)")
            #expect(Array(line.split(separator: " ", omittingEmptySubsequences: true).prefix(4)) == ["node-\(index)", "ops", "rec-\(index)", "main"], "\(line)")
        }
        // strace's reading options travel to every node's daemon.
        let writes = try cluster.plugin(["record", "dump", "-n", "ops", "-l", "app=rec", "-e", "trace=write", "-y"])
        #expect(writes.status == 0, "\(writes.stderr)")
        let calls = writes.stdout.split(separator: "\n").dropFirst() // the header
            .filter { !$0.contains(" --- ") && !$0.contains(" +++ ") && !$0.contains(" > ") }
        #expect(!calls.isEmpty && calls.allSatisfy { $0.contains(" write(") }, "\(calls.filter { !$0.contains(" write(") }.prefix(5))")
        let table = try cluster.plugin(["record", "dump", "-n", "ops", "-p", "rec-0", "--summary"])
        #expect(table.status == 0 && table.stdout.contains("% time     seconds  usecs/call     calls    errors syscall"), "\(table.stdout)")
        let json = try cluster.plugin(["record", "dump", "-n", "ops", "-p", "rec-1", "-o", "json", "--last", "20"])
        #expect(json.status == 0, "\(json.stderr)")
        let objects = try json.stdout.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(objects.count == 20)
        for object in objects {
            #expect(object["node"] as? String == "node-1" && object["pod"] as? String == "rec-1" && object["namespace"] as? String == "ops")
            #expect(object["pod_container"] as? String == "main" && object["syscall"] is String)
        }
    }

    /// RBAC is the daemons' to enforce: a certificate of the cluster's CA that no daemon's
    /// tcp.clients names gets nothing from any node, whatever pods the API lists for it.
    @Test func aCertificateNoDaemonAuthorisesGetsNothing() async throws {
        try requireRoot()
        let cluster = try await startCluster(nodes: 1)
        defer { cluster.remove() }
        let d = cluster.certificates
        try must("/bin/sh", ["-c", """
            cd "\(d)" && openssl req -newkey rsa:2048 -nodes -keyout alice.key -out alice.csr -subj /CN=alice 2>/dev/null \
              && openssl x509 -req -in alice.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out alice.pem -days 1 2>/dev/null
            """], timeout: 60)
        let denied = try run("/usr/bin/env", [executable("kubectl-sonde"), "trace", "exec", "-n", "shop", "-l", "app=web", "--timeout", "2", "-o", "json",
                                              "--cluster-file", cluster.clusterFile, "--tls-cert", d + "/alice.pem", "--tls-key", d + "/alice.key",
                                              "--tls-ca", d + "/ca.pem"], timeout: 90)
        #expect(denied.status != 0)
        // With -o json the node's failure is a record: {"node":"node-0","error":"node unavailable","reason":...}.
        #expect(denied.stdout.contains("alice") && denied.stdout.contains("is not authorised on this daemon"), "\(denied.stdout) \(denied.stderr)")
        #expect(!denied.stdout.contains("\"source\":\"exec\""), "\(denied.stdout)")
        // The same pods with a certificate the daemon grants the node: served.
        let served = try await cluster.plugin(until: { out, _ in out.contains("\"source\":\"exec\"") },
                                              ["trace", "exec", "-n", "shop", "-l", "app=web", "-o", "json"])
        #expect(served.status == 0, "\(served.stderr)")
        #expect(served.stdout.contains("\"source\":\"exec\""), "\(served.stdout.suffix(500))")
    }

    @Test func supervisorDecisionsOfEveryNodeCarryTheirPod() async throws {
        try requireRoot()
        var cluster = try Cluster()
        defer { cluster.remove() }
        let policy = """
        { "default": "EPERM",
          "containers": [ { "name": "devices", "match": { "metadata": "cluster-test" },
                            "mknod": [ { "type": "char", "major": 1, "minor": 3 } ] } ] }
        """
        var pods: [[String: Any]] = []
        var nodeObjects: [[String: Any]] = []
        for index in 0..<2 {
            let node = try NetnsNode(name: "node-\(index)", subnet: cluster.subnet, index: index, tag: cluster.tag)
            cluster.nodes.append(node)
            try await node.startDaemon(certificates: cluster.certificates, supervising: policy)
            // Allowed (char 1:3), then refused (block 8:0), once the plugin watches.
            let container = try TestContainer(prefix: "sonde-cl-sv-\(index)",
                                              script: "mknod /root/null c 1 3; mknod /root/disk b 8 0; sleep 600")
            try container.supervise(socket: node.agentSocket, metadata: "cluster-test")
            cluster.containers.append(container)
            pods.append(Fixture.pod("dev-\(index)", namespace: "ops", node: node.name, hostIP: node.address, labels: ["app": "dev"],
                                    containers: [(name: "main", id: container.name)]))
            nodeObjects.append(Fixture.node(node.name, address: node.address))
        }
        try Fixture.write(pods: pods, nodes: nodeObjects, to: cluster.clusterFile)

        // The plugin subscribes first (each node says when it streams); the containers start while it watches.
        let watching = try BackgroundCommand("/usr/bin/env", cluster.pluginCommand(["supervise-events", "-n", "ops", "-o", "json"]))
        let streaming = try await eventually(timeout: .seconds(60)) {
            (0..<2).allSatisfy { watching.stderr.contains("node node-\($0): streaming") }
        }
        #expect(streaming, "\(watching.stderr)")
        for container in cluster.containers { try container.start() }
        #expect(try await eventually(timeout: .seconds(60)) { watching.stdout.split(separator: "\n").count >= 4 }, "\(watching.stdout)")
        let status = watching.interrupt()
        let result = (status: status, stdout: watching.stdout, stderr: watching.stderr)
        #expect(result.status == 0, "\(result.stderr)")
        var verdicts: [String: [String]] = [:]
        for line in result.stdout.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            let node = try #require(object["node"] as? String, "\(line)")
            #expect(object["pod"] as? String == "dev-" + node.dropFirst("node-".count), "\(line)")
            #expect(object["source"] as? String == "supervise")
            verdicts[node, default: []].append("\(object["syscall"] ?? "?") \(object["verdict"] ?? "?")")
        }
        #expect(verdicts["node-0"] == ["mknodat allow", "mknodat deny"], "\(verdicts) \(result.stderr)")
        #expect(verdicts["node-1"] == ["mknodat allow", "mknodat deny"], "\(verdicts) \(result.stderr)")
    }
}
