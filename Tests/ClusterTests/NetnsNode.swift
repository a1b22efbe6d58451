import DaemonAPI
import Foundation
import TestSupport

/// A "node" for cluster tests: its own network namespace joined to the host by a veth pair, with
/// its own address, and (when started) its own `sonde daemon` listening there with mutual TLS,
/// with its own socket, state directory and no recorder pins (recording off), so that several run
/// side by side on this one kernel. Containers still run on the one host; each daemon is only
/// asked about its "node's" containers, which is what the fan-out decides.
final class NetnsNode: @unchecked Sendable {
    let name: String
    let namespace: String
    let hostVeth: String
    let nodeVeth: String
    /// The node's address (inside its namespace) and the host side's.
    let address: String
    let hostAddress: String
    let directory: String
    private var daemon: Process?
    private var recording = false
    var pinDirectory: String { "/sys/fs/bpf/\(namespace)" }
    var recorderState: String { "/run/\(namespace)-recorder" }
    private var extra: [Process] = []

    /// `subnet`: "10.A.B"; `index` picks the /30 inside it.
    init(name: String, subnet: String, index: Int, tag: String) throws {
        self.name = name
        namespace = "sonde-\(tag)-\(index)"
        // Interface names: 15 bytes at most.
        hostVeth = "sh\(tag.suffix(8))\(index)"
        nodeVeth = "sn\(tag.suffix(8))\(index)"
        hostAddress = "\(subnet).\(index * 4 + 1)"
        address = "\(subnet).\(index * 4 + 2)"
        directory = try scratchDirectory("sonde-node-\(tag)-\(index)")
        do {
            try must("/usr/sbin/ip", ["netns", "add", namespace])
            try must("/usr/sbin/ip", ["link", "add", hostVeth, "type", "veth", "peer", "name", nodeVeth])
            try must("/usr/sbin/ip", ["link", "set", nodeVeth, "netns", namespace])
            try must("/usr/sbin/ip", ["addr", "add", hostAddress + "/30", "dev", hostVeth])
            try must("/usr/sbin/ip", ["link", "set", hostVeth, "up"])
            try must("/usr/sbin/ip", ["-n", namespace, "addr", "add", address + "/30", "dev", nodeVeth])
            try must("/usr/sbin/ip", ["-n", namespace, "link", "set", nodeVeth, "up"])
            try must("/usr/sbin/ip", ["-n", namespace, "link", "set", "lo", "up"])
        } catch {
            remove()
            throw error
        }
    }

    /// Starts `sonde daemon` inside the namespace. nsenter joins the network namespace only:
    /// `ip netns exec` would also remount /sys, hiding bpffs, tracefs and the cgroup tree.
    /// The seccomp agent's socket when the daemon supervises (`supervising`).
    var agentSocket: String { directory + "/agent.sock" }

    func startDaemon(certificates: String, port: Int = 7443, recording names: [String] = [], supervising policy: String? = nil) async throws {
        // Without names, no flight recorder; with them, a recorder of its own (pins and registry
        // named for this node): daemons on one kernel would otherwise share the default pins.
        let record: [String: Any] = names.isEmpty ? ["enabled": false] : [
            "select": ["names": names], "crashDirectory": NSNull(), "bufferSize": "256K", "pool": 4,
            "pinDirectory": pinDirectory, "stateDirectory": recorderState,
        ]
        recording = !names.isEmpty
        var config: [String: Any] = [
            "socket": directory + "/sonde.sock",
            "stateDirectory": directory + "/state",
            "record": record,
            "runtimes": ["containerdAddress": directory + "/no-containerd.sock"],
            "tcp": ["address": "\(address):\(port)", "certificate": certificates + "/daemon.pem",
                    "key": certificates + "/daemon.key", "clientCA": certificates + "/ca.pem",
                    // The tests' one client reads the whole node (their containers have no pods).
                    "clients": [["user": "sonde-client", "wholeNode": true]]],
        ]
        if let policy {
            try policy.write(toFile: directory + "/policy.json", atomically: true, encoding: .utf8)
            config["supervise"] = ["socket": agentSocket, "policy": directory + "/policy.json"]
        }
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: directory + "/daemon.json"))
        daemon = try spawn(["/usr/bin/nsenter", "--net=/run/netns/\(namespace)", executable("sonde"), "daemon",
                            "--config", directory + "/daemon.json"], log: directory + "/daemon.log")
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            guard daemon!.isRunning else { throw TestFailure("daemon of \(name) exited: \(log)") }
            if await DaemonClient.isAnswering(socket: directory + "/sonde.sock", timeout: .seconds(1)) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("daemon of \(name) did not answer in 60 s: \(log)")
    }

    /// A listener on the node's address that never accepts: TCP connects (the kernel completes the
    /// handshake into the backlog) but TLS never starts; a "slow" node.
    func startSilentListener(port: Int = 7443) throws {
        let script = "import signal,socket,time\nsignal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])\ns=socket.socket()\ns.bind(('\(address)',\(port)))\ns.listen(64)\nopen('\(directory)/listening','w').close()\ntime.sleep(3600)\n"
        extra.append(try spawn(["/usr/bin/nsenter", "--net=/run/netns/\(namespace)", "/usr/bin/python3", "-c", script],
                               log: directory + "/silent.log"))
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: directory + "/listening") && Date() < deadline { usleep(20_000) }
    }

    var log: String { (try? String(contentsOfFile: directory + "/daemon.log", encoding: .utf8)) ?? "" }

    private func spawn(_ command: [String], log: String) throws -> Process {
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Stops what it started (by pid) and removes the namespace, the veth pair and its files.
    func remove() {
        for process in [daemon].compactMap({ $0 }) + extra where process.isRunning {
            // Children spawned from the test's worker threads inherit their blocked signal mask
            // (SIGTERM included): the daemon unblocks what it handles, python does not. SIGTERM
            // first, SIGKILL when it has not ended within 10 s.
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            while process.isRunning { usleep(20_000) }
        }
        if recording {
            _ = try? run(executable("sonde"), ["record", "stop", "--pin-directory", pinDirectory, "--state-directory", recorderState])
        }
        _ = try? run("/usr/sbin/ip", ["link", "del", hostVeth])
        _ = try? run("/usr/sbin/ip", ["netns", "del", namespace])
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Recorded API objects for the fixture: a PodList and a NodeList as the API server sends them.
enum Fixture {
    static func pod(_ name: String, namespace: String, node: String, hostIP: String, labels: [String: String],
                    containers: [(name: String, id: String)]) -> [String: Any] {
        [
            "metadata": ["name": name, "namespace": namespace, "uid": UUID().uuidString.lowercased(), "labels": labels,
                         "resourceVersion": "1000"],
            "spec": ["nodeName": node, "containers": containers.map { ["name": $0.name, "image": "busybox"] }],
            "status": ["phase": "Running", "hostIP": hostIP,
                       "containerStatuses": containers.map { ["name": $0.name, "ready": true, "containerID": "containerd://" + $0.id] }],
        ]
    }

    static func node(_ name: String, address: String) -> [String: Any] {
        ["metadata": ["name": name, "labels": ["kubernetes.io/hostname": name]],
         "status": ["addresses": [["type": "InternalIP", "address": address], ["type": "Hostname", "address": name]]]]
    }

    /// Writes `{"pods": PodList, "nodes": NodeList}` for `--cluster-file`.
    static func write(pods: [[String: Any]], nodes: [[String: Any]], watch: [[String: Any]] = [], to path: String) throws {
        let file: [String: Any] = [
            "watch": watch,
            "pods": ["kind": "PodList", "apiVersion": "v1", "metadata": ["resourceVersion": "1000"], "items": pods],
            "nodes": ["kind": "NodeList", "apiVersion": "v1", "items": nodes],
        ]
        try JSONSerialization.data(withJSONObject: file).write(to: URL(fileURLWithPath: path))
    }
}
