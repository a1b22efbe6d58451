import Foundation
import Testing
import TestSupport

/// `sonde supervise` running as its own process for one test, with its events (JSON lines) and log
/// in files; stopped by its pid.
final class SupervisorAgent: @unchecked Sendable {
    let directory: URL
    let socket: String
    let policyPath: String
    let process = Process()
    /// A successor shares its predecessor's directory; only the first agent removes it.
    let ownsDirectory: Bool
    let tag: String
    var eventsPath: String { directory.appendingPathComponent("events\(tag).jsonl").path }
    var logPath: String { directory.appendingPathComponent("agent\(tag).log").path }

    /// `groups`: supplementary groups the agent process runs with (setpriv), to show they never
    /// reach a caller's call.
    /// `fileLimit`: a lower soft RLIMIT_NOFILE for the agent (lowering needs no privilege).
    init(policy: String, groups: [Int] = [], fileLimit: Int? = nil) throws {
        directory = URL(fileURLWithPath: "/tmp/sonde-sv-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        ownsDirectory = true
        tag = ""
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        socket = directory.appendingPathComponent("agent.sock").path
        policyPath = directory.appendingPathComponent("policy.json").path
        try policy.write(toFile: policyPath, atomically: true, encoding: .utf8)
        try launch(["supervise", "--socket", socket, "--policy", policyPath, "--events", "-o", "json"], groups: groups, fileLimit: fileLimit)
    }

    /// A new agent that takes over `predecessor`'s socket and containers (`--takeover`).
    init(succeeding predecessor: SupervisorAgent) throws {
        directory = predecessor.directory
        ownsDirectory = false
        tag = "-successor"
        socket = predecessor.socket
        policyPath = predecessor.policyPath
        try launch(["supervise", "--socket", socket, "--policy", policyPath, "--events", "-o", "json", "--takeover"])
    }

    private func launch(_ arguments: [String], groups: [Int] = [], fileLimit: Int? = nil) throws {
        _ = FileManager.default.createFile(atPath: eventsPath, contents: nil)
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        // setpriv and the shell exec sonde in place: the pid stays the agent's.
        var command = [sondeExecutable] + arguments
        if !groups.isEmpty { command = ["/usr/bin/setpriv", "--groups", groups.map(String.init).joined(separator: ","), "--"] + command }
        if let fileLimit { command = ["/bin/sh", "-c", "ulimit -Sn \(fileLimit) && exec \"$@\"", "sh"] + command }
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: eventsPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: socket) {
            guard process.isRunning, Date() < deadline else { throw TestFailure("the agent did not start: \(log)") }
            usleep(20_000)
        }
    }

    var events: [[String: Any]] {
        let text = (try? String(contentsOfFile: eventsPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Open fds of the agent process (a leak check).
    var openFDs: Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(process.processIdentifier)/fd").count) ?? -1 }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        if ownsDirectory { try? FileManager.default.removeItem(at: directory) }
    }

    deinit { stop() }

    /// The seccomp section that sends the supervised syscalls to this agent.
    func seccomp(metadata: String) -> [String: Any] { Self.seccomp(socket: socket, metadata: metadata) }

    /// The seccomp section that sends the supervised syscalls to the agent listening on `socket`.
    static func seccomp(socket: String, metadata: String) -> [String: Any] {
        ["defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "listenerPath": socket,
         "listenerMetadata": metadata,
         "syscalls": [["names": ["mknod", "mknodat", "mount", "setxattr", "lsetxattr", "fsetxattr"], "action": "SCMP_ACT_NOTIFY"]]]
    }
}

extension RuncContainer {
    /// Edits the bundle's config.json.
    func editConfig(_ body: (inout [String: Any]) throws -> Void) throws {
        let url = bundle.appendingPathComponent("config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        try body(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: url)
    }

    /// Sends the container's supervised syscalls to `agent`.
    func supervise(by agent: SupervisorAgent, metadata: String) throws {
        try supervise(socket: agent.socket, metadata: metadata)
    }

    /// Sends the container's supervised syscalls to the agent listening on `socket` (a daemon's too).
    func supervise(socket: String, metadata: String) throws {
        try editConfig { config in
            var linux = config["linux"] as! [String: Any]
            linux["seccomp"] = SupervisorAgent.seccomp(socket: socket, metadata: metadata)
            config["linux"] = linux
        }
    }

    /// Runs the container in a new user namespace whose root is host uid/gid `hostID`; the rootfs is
    /// chowned to it so the mapped root owns its files.
    func useUserNamespace(hostID: Int) throws {
        let chowned = try run("/bin/chown", ["-R", "-h", "\(hostID):\(hostID)", rootfs.path])
        guard chowned.status == 0 else { throw TestFailure("chown failed: \(chowned.stderr)") }
        try editConfig { config in
            var linux = config["linux"] as! [String: Any]
            var namespaces = linux["namespaces"] as! [[String: Any]]
            namespaces.append(["type": "user"])
            linux["namespaces"] = namespaces
            linux["uidMappings"] = [["containerID": 0, "hostID": hostID, "size": 65536]]
            linux["gidMappings"] = [["containerID": 0, "hostID": hostID, "size": 65536]]
            config["linux"] = linux
            // A cgroup mount needs a cgroup namespace owned by the user namespace; these tests do not need one.
            config["mounts"] = (config["mounts"] as! [[String: Any]]).filter { $0["type"] as? String != "cgroup" }
        }
    }
}

extension SupervisorAgent {
    /// The probe program (bench/supervise-probe.c), built statically into the agent's directory
    /// (removed with it) the first time a test asks.
    func probe() throws -> String {
        let binary = directory.appendingPathComponent("probe").path
        if FileManager.default.isExecutableFile(atPath: binary) { return binary }
        let source = packageRoot.appendingPathComponent("bench/supervise-probe.c").path
        let built = try run("/usr/bin/gcc", ["-O2", "-static", "-o", binary, source])
        guard built.status == 0 else { throw TestFailure("could not build probe.c: \(built.stderr)") }
        return binary
    }
}

extension SupervisorAgent {
    /// A runc container (not started) running `script` with the probe at /bin/probe, whose supervised
    /// syscalls go to this agent with `metadata`.
    func container(_ script: String, prefix: String = "sonde-it-sv", metadata: String = "sonde-test") throws -> RuncContainer {
        let container = try RuncContainer(prefix: prefix, args: ["sh", "-c", script], extraBinaries: [try probe()])
        try container.supervise(by: self, metadata: metadata)
        return container
    }

    /// Waits until the agent released the container's session: its events are all written then (an
    /// event follows its answer, so it may trail the container's own end).
    func settle(_ container: RuncContainer) async throws {
        let released = try await eventually { self.log.contains("container \(container.name): no process uses its filter any more") }
        #expect(released, "\(log)")
    }

    /// The agent's events for one container.
    func events(of container: RuncContainer) -> [[String: Any]] {
        events.filter { ($0["container"] as? [String: Any])?["id"] as? String == container.name }
    }
}

/// A node's type, device numbers and owner as the host sees them; nil when there is none.
func deviceNode(_ path: String) -> (isChar: Bool, major: UInt64, minor: UInt64, uid: UInt32)? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    let rdev = UInt64(info.st_rdev)
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & ~UInt64(0xfff))
    let minor = (rdev & 0xff) | ((rdev >> 12) & ~UInt64(0xff))
    return (info.st_mode & S_IFMT == S_IFCHR, major, minor, info.st_uid)
}
