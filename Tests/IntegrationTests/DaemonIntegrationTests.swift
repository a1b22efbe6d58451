import DaemonAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import LinuxKit
import Recorder
import XCTest
import TestSupport

/// A `sonde daemon` of one test: its own socket, pins, registry, hook state and config, recording
/// only the containers the test names (other tests' containers on this host are none of its business).
final class DaemonProcess: @unchecked Sendable {
    let directory: String
    let socket: String
    let settings: RecorderSettings
    let configPath: String
    let logPath: String
    private var process: Process?

    /// `config` adds (or replaces) top-level keys of the daemon's config.
    init(recording names: [String], config extra: [String: Any] = [:]) throws {
        let tag = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        directory = NSTemporaryDirectory() + "sonde-daemon-\(tag)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        socket = directory + "/sonde.sock"
        settings = .isolated("sonde-dt", bytesPerCPU: 256 << 10, poolSize: 4)
        configPath = directory + "/daemon.json"
        logPath = directory + "/daemon.log"
        let config: [String: Any] = ["record": ["select": ["names": names], "crashDirectory": NSNull(), "bufferSize": "256K", "pool": 4]]
            .merging(extra) { $1 }
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
    }

    var hookExecutable: String { (sondeExecutable as NSString).deletingLastPathComponent + "/sonde-hook" }

    /// Starts it and waits until it answers. `fileLimit`: its RLIMIT_NOFILE, soft and hard (a limit
    /// can always be lowered; the daemon raises its soft limit to the hard one).
    /// `environment`: variables added to the test process's own.
    func start(fileLimit: Int? = nil, environment: [String: String] = [:]) async throws {
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        let process = Process()
        let arguments = ["daemon", "--socket", socket, "--config", configPath,
                         "--pin-directory", settings.pinDirectory, "--state-directory", settings.stateDirectory,
                         "--daemon-state-directory", directory + "/state"]
        if let fileLimit {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -n \(fileLimit) && exec \"$0\" \"$@\"", sondeExecutable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: sondeExecutable)
            process.arguments = arguments
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if !process.isRunning { throw TestFailure("daemon exited: \(self.log)") }
            if await DaemonClient.isAnswering(socket: socket, timeout: .seconds(1)) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("daemon did not answer in 60 s: \(self.log)")
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process?.isRunning ?? false }

    func kill9() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then its exit status (nil when it was not running).
    @discardableResult
    func stop() -> Int32? {
        guard let process, process.isRunning else { return nil }
        process.terminate()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Stops the daemon, frees its recorder and removes its files.
    func remove() {
        stop()
        try? FlightRecorder.stop(settings)
        try? FileManager.default.removeItem(atPath: directory)
    }

    func api<R: Sendable>(_ body: (SondeAPIClient) async throws -> R) async throws -> R {
        try await DaemonClient.with(socket: socket, body)
    }

    /// `sonde record dump` through this daemon.
    func dump(_ container: String, json: Bool = false) throws -> (status: Int32, stdout: String, stderr: String) {
        try run(sondeExecutable, ["record", "dump", "-c", container, "--daemon-socket", socket] + (json ? ["-o", "json"] : []), timeout: 60)
    }

    /// Runs sonde-hook with `stdin` as the OCI state.
    func hook(_ arguments: [String], stdin: String) throws -> (status: Int32, stderr: String, seconds: Double) {
        let input = directory + "/stdin-\(UInt32.random(in: 0...UInt32.max))"
        try stdin.write(toFile: input, atomically: true, encoding: .utf8)
        let started = ContinuousClock.now
        let result = try run("/bin/sh", ["-c", "exec \"$0\" \"$@\" < \"\(input)\"", hookExecutable] + arguments, timeout: 30)
        let elapsed = ContinuousClock.now - started
        return (result.status, result.stderr, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
}

extension RuncContainer {
    /// Adds sonde-hook as the bundle's prestart and poststop hook (deploy/runc-hooks.md). With a
    /// generous bound rather than the default 2 s: these tests need the registration to happen, and
    /// in the kernel-matrix lane (qemu TCG) a daemon's answer can take longer than that.
    func addHooks(hook: String, socket: String, log: String) throws {
        let url = bundle.appendingPathComponent("config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        func entry(_ stage: String) -> [String: Any] {
            ["path": hook, "args": ["sonde-hook", stage, "--socket", socket, "--log", log, "--timeout", "30"], "timeout": 40]
        }
        config["hooks"] = ["prestart": [entry("prestart")], "poststop": [entry("poststop")]]
        try JSONSerialization.data(withJSONObject: config).write(to: url)
    }
}

final class DaemonIntegrationTests: XCTestCase {
    override func setUp() async throws {
        try requireRoot()
    }

    /// The issue's first test: a container registered by the prestart hook is recorded from its
    /// first syscall, so the dump holds its entrypoint's execve (and runc's setup before it).
    func testHookRegisteredRuncContainerIsRecordedFromItsFirstSyscall() async throws {
        let container = try RuncContainer(prefix: "sonde-dhook", args: ["/bin/sh", "-c", "echo hooked-start; sleep 2; echo hooked-end"])
        defer { container.remove() }
        let daemon = try DaemonProcess(recording: [container.name])
        defer { daemon.remove() }
        try await daemon.start()
        let hookLog = daemon.directory + "/hook.log"
        try container.addHooks(hook: daemon.hookExecutable, socket: daemon.socket, log: hookLog)
        try container.start()

        // While it runs the daemon lists it as registered by the hook and recording.
        let listed = try await eventuallyValue {
            try await daemon.api { client in
                try await client.listContainers(.with { $0.selector.names = [container.name] })
            }.containers.first { $0.recording }
        }
        XCTAssertEqual(listed?.container.id, container.name)
        XCTAssertEqual(listed?.fromHook, true)
        let hookText = (try? String(contentsOfFile: hookLog, encoding: .utf8)) ?? ""
        XCTAssertTrue(hookText.contains("prestart: registered runc container \(container.name)"), hookText)

        let done = try await eventually(timeout: .seconds(30)) {
            ((try? daemon.dump(container.name).stdout) ?? "").contains("hooked-end")
        }
        XCTAssertTrue(done, daemon.log)
        let dump = try daemon.dump(container.name)
        XCTAssertEqual(dump.status, 0, dump.stderr)
        let lines = dump.stdout.split(separator: "\n")
        // (Strings are cut at 32 bytes, as strace does.)
        let execve = lines.firstIndex { $0.contains("execve(\"/bin/sh\", [\"/bin/sh\", \"-c\", \"echo hooked-start;") }
        XCTAssertNotNil(execve, "the entrypoint's execve is not in the dump:\n" + lines.prefix(40).joined(separator: "\n"))
        // Recorded from the start: runc's own setup in the container's cgroup comes before the execve.
        XCTAssertGreaterThan(execve ?? 0, 10)
        XCTAssertTrue(dump.stdout.contains("write(1, \"hooked-start\\n\", 13) = 13"), dump.stdout.suffix(2000).description)
        // strace's reading options reach the daemon: only the writes, and their descriptors' kind.
        let writes = try TestSupport.run(sondeExecutable, ["record", "dump", "-c", container.name, "--daemon-socket", daemon.socket,
                                               "-e", "trace=write", "-o", "json"], timeout: 60)
        XCTAssertEqual(writes.status, 0, writes.stderr)
        let objects = writes.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertFalse(objects.isEmpty)
        XCTAssertTrue(objects.allSatisfy { $0["syscall"] == nil || $0["syscall"] as? String == "write" }, writes.stdout.prefix(2000).description)
        let refused = try TestSupport.run(sondeExecutable, ["record", "dump", "-c", container.name, "--daemon-socket", daemon.socket,
                                                "-e", "trace=%nosuchclass"], timeout: 60)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("invalid system call '%nosuchclass'"), refused.stderr)

        // poststop runs at `runc delete`.
        container.remove()
        let removed = try await eventually(timeout: .seconds(10)) {
            ((try? String(contentsOfFile: hookLog, encoding: .utf8)) ?? "").contains("poststop: container \(container.name) removed")
        }
        XCTAssertTrue(removed, (try? String(contentsOfFile: hookLog, encoding: .utf8)) ?? "")
        XCTAssertTrue(daemon.isRunning)
    }

    /// The same with podman and the hooks.d recipe (deploy/hooks.d): podman names the container, and
    /// the hook already knows that name (from containers-storage), so selection by name works at once.
    func testHookRegisteredPodmanContainerIsRecordedFromItsFirstSyscall() async throws {
        let setup = try TestSupport.run("/bin/bash", [packageRoot.appendingPathComponent("scripts/setup-podman.sh").path], timeout: 600)
        XCTAssertEqual(setup.status, 0, setup.stderr)
        let name = "sonde-dpod-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { _ = try? TestSupport.run("/usr/bin/podman", ["rm", "-f", "-t", "0", name], timeout: 60) }
        let daemon = try DaemonProcess(recording: [name])
        defer { daemon.remove() }
        try await daemon.start()
        // deploy/hooks.d's recipe, pointed at this test's daemon and binary.
        let hooksDirectory = daemon.directory + "/hooks.d"
        let hookLog = daemon.directory + "/hook.log"
        try FileManager.default.createDirectory(atPath: hooksDirectory, withIntermediateDirectories: true)
        for stage in ["prestart", "poststop"] {
            let recipe = packageRoot.appendingPathComponent("deploy/hooks.d/sonde-\(stage).json")
            var hook = try JSONSerialization.jsonObject(with: Data(contentsOf: recipe)) as! [String: Any]
            var command = hook["hook"] as! [String: Any]
            command["path"] = daemon.hookExecutable
            command["args"] = (command["args"] as! [String]) + ["--socket", daemon.socket, "--log", hookLog]
            hook["hook"] = command
            try JSONSerialization.data(withJSONObject: hook).write(to: URL(fileURLWithPath: hooksDirectory + "/sonde-\(stage).json"))
        }
        let started = try TestSupport.run("/usr/bin/podman", ["--hooks-dir", hooksDirectory, "run", "-d", "--name", name, "--runtime", "runc",
                                                                   "--network", "none", "localhost/sonde-busybox:latest",
                                                                   "/bin/sh", "-c", "echo podman-start; sleep 2; echo podman-end"], timeout: 120)
        XCTAssertEqual(started.status, 0, started.stderr)
        let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let hookText = (try? String(contentsOfFile: hookLog, encoding: .utf8)) ?? ""
        XCTAssertTrue(hookText.contains("prestart: registered podman container \(name), id \(id)"), hookText)
        XCTAssertTrue(hookText.contains(", recording"), hookText)

        let done = try await eventually(timeout: .seconds(30)) {
            ((try? daemon.dump(name).stdout) ?? "").contains("podman-end")
        }
        XCTAssertTrue(done, daemon.log)
        let dump = try daemon.dump(name).stdout
        XCTAssertTrue(dump.contains("execve(\"/bin/sh\", [\"/bin/sh\", \"-c\", \"echo podman-start;"), dump.suffix(3000).description)
        XCTAssertTrue(dump.contains("write(1, \"podman-start\\n\", 13) = 13"))

        _ = try TestSupport.run("/usr/bin/podman", ["rm", "-f", "-t", "0", name], timeout: 60)
        let removed = try await eventually(timeout: .seconds(10)) {
            ((try? String(contentsOfFile: hookLog, encoding: .utf8)) ?? "").contains("poststop: container \(id) removed")
        }
        XCTAssertTrue(removed, (try? String(contentsOfFile: hookLog, encoding: .utf8)) ?? "")
    }

    /// The hook never holds a container back: no daemon, a stale socket, malformed state.
    func testHookIsBoundedAndClearWithoutADaemonOrWithBadState() async throws {
        let daemon = try DaemonProcess(recording: [])
        defer { daemon.remove() }
        let state = #"{"ociVersion":"1.0.2","id":"nobody","status":"creating","pid":\#(getpid()),"bundle":"/tmp"}"#

        // No socket at all.
        var result = try daemon.hook(["prestart", "--socket", daemon.socket], stdin: state)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("no sonde daemon at \(daemon.socket)"), result.stderr)
        XCTAssertLessThan(result.seconds, 2)
        result = try daemon.hook(["prestart", "--socket", daemon.socket, "--strict"], stdin: state)
        XCTAssertEqual(result.status, 1)

        // A socket file nobody listens on (a daemon killed with -9).
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: daemon.socket.utf8)
            raw[daemon.socket.utf8.count] = 0
        }
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(stale, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        close(stale)
        result = try daemon.hook(["prestart", "--socket", daemon.socket, "--timeout", "1"], stdin: state)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("did not answer"), result.stderr)
        XCTAssertLessThan(result.seconds, 2.5)
        unlink(daemon.socket)

        // Malformed state.
        for (input, expected) in [("{not json", "is not JSON"), ("[1,2]", "not a JSON object"), ("", "no OCI state"),
                                  (#"{"id":"x","pid":"12"}"#, "\"pid\" is not a process id"), (#"{"pid":1}"#, "has no \"id\"")] {
            result = try daemon.hook(["prestart", "--socket", daemon.socket], stdin: input)
            XCTAssertEqual(result.status, 0, input)
            XCTAssertTrue(result.stderr.contains(expected), "\(input): \(result.stderr)")
            XCTAssertEqual(try daemon.hook(["prestart", "--strict"], stdin: input).status, 1, input)
        }
        // Wrong arguments are an installation mistake: exit 2.
        XCTAssertEqual(try daemon.hook(["prestrat"], stdin: state).status, 2)
        XCTAssertEqual(try daemon.hook(["prestart", "--timeout", "-1"], stdin: state).status, 2)
    }

    /// Bad clients do not take the daemon down: unknown RPCs, a client that goes away mid-stream,
    /// malformed hook state, a container that vanished before its registration, unknown names.
    func testDaemonSurvivesBadClients() async throws {
        let container = try RuncContainer(prefix: "sonde-dbad", args: ["/bin/sh", "-c", "while true; do /bin/echo marker; sleep 0.3; done"])
        defer { container.remove() }
        let daemon = try DaemonProcess(recording: [container.name])
        defer { daemon.remove() }
        try await daemon.start()
        try container.start()

        // An RPC the daemon does not have.
        do {
            let transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: daemon.socket), transportSecurity: .plaintext)
            _ = try await withGRPCClient(transport: transport) { client in
                try await client.unary(request: ClientRequest(message: Sonde_V1_StatusRequest()),
                                       descriptor: MethodDescriptor(fullyQualifiedService: "sonde.v1.Sonde", method: "NoSuchCall"),
                                       serializer: ProtobufSerializer<Sonde_V1_StatusRequest>(),
                                       deserializer: ProtobufDeserializer<Sonde_V1_StatusReply>(),
                                       options: .defaults) { try $0.message }
            }
            XCTFail("an unknown RPC succeeded")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .unimplemented)
        }

        // The exec gadget's stream: read until an event of the container, then go away mid-stream.
        let event = try await daemon.api { client in
            try await client.runGadget(.with { $0.gadget = "exec"; $0.selector.names = [container.name]; $0.timeoutSeconds = 30 }) { response in
                for try await reply in response.messages {
                    if case .event(let event) = reply.kind, event.fields.contains(where: { $0.strings.values == ["/bin/echo", "marker"] }) {
                        return event as Sonde_V1_Event?
                    }
                }
                return nil
            }
        }
        XCTAssertEqual(event?.container.name, container.name)
        XCTAssertEqual(event?.source, "exec")
        // The client went away: the daemon ends that gadget session (and detaches its programs).
        let ended = try await eventuallyValue {
            try await daemon.api { try await $0.status(Sonde_V1_StatusRequest()) }.gadgetSessions == 0 ? true : nil
        }
        XCTAssertEqual(ended, true)

        // The same through the CLI (`sonde daemon trace`), as columns and as JSON.
        let traced = try await TestSupport.run(until: { out, _ in out.contains("\"args\":[\"/bin/echo\",\"marker\"]") }, sondeExecutable,
                                               ["daemon", "trace", "exec", "-c", container.name, "-o", "json", "--daemon-socket", daemon.socket])
        XCTAssertEqual(traced.status, 0, traced.stderr)
        XCTAssertTrue(traced.stdout.contains("\"args\":[\"/bin/echo\",\"marker\"]"), traced.stdout)
        XCTAssertTrue(traced.stdout.contains(container.name), traced.stdout)
        let table = try await TestSupport.run(until: { out, _ in out.contains("/bin/echo marker") }, sondeExecutable,
                                              ["daemon", "trace", "exec", "-c", container.name, "--daemon-socket", daemon.socket])
        XCTAssertTrue(table.stdout.hasPrefix("CONTAINER"), table.stdout)
        XCTAssertTrue(table.stdout.contains("/bin/echo marker"), table.stdout)

        // A gadget that does not exist, and a container the recorder never saw.
        do {
            _ = try await daemon.api { client in
                try await client.runGadget(.with { $0.gadget = "nope" }) { response in
                    for try await _ in response.messages {}
                }
            }
            XCTFail("an unknown gadget ran")
        } catch let error as SondeError {
            XCTAssertEqual(error.code, .notFound)
            XCTAssertTrue(error.message.contains("known: exec, open, tcp, bind"), error.message)
        }
        let unknownDump = try daemon.dump("no-such-container-\(getpid())")
        XCTAssertNotEqual(unknownDump.status, 0)
        XCTAssertTrue(unknownDump.stderr.contains("was not recorded"), unknownDump.stderr)

        // A container that vanished between its hook and the call: a clear error, nothing registered.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let vanished = #"{"id":"vanished-\#(getpid())","status":"creating","pid":\#(child.processIdentifier)}"#
        let hooked = try daemon.hook(["prestart", "--socket", daemon.socket], stdin: vanished)
        XCTAssertEqual(hooked.status, 0)
        XCTAssertTrue(hooked.stderr.contains("is gone"), hooked.stderr)
        // Malformed state never reaches the daemon; unknown removals are answered.
        XCTAssertEqual(try daemon.hook(["prestart", "--socket", daemon.socket], stdin: "{").status, 0)
        let removal = try daemon.hook(["poststop", "--socket", daemon.socket], stdin: #"{"id":"never-registered"}"#)
        XCTAssertTrue(removal.stderr.contains("was not registered"), removal.stderr)

        // Still there, and still recording the container.
        XCTAssertTrue(daemon.isRunning)
        let status = try await daemon.api { try await $0.status(Sonde_V1_StatusRequest()) }
        XCTAssertEqual(status.pid, daemon.isRunning ? status.pid : -1)
        XCTAssertGreaterThanOrEqual(status.recorded, 1)
        let dump = try daemon.dump(container.name)
        XCTAssertTrue(dump.stdout.contains("execve(\"/bin/echo\", [\"/bin/echo\", \"marker\"]"), dump.stderr)
    }

    /// `kill -9` and a restart lose nothing: what was recorded stays (pinned), the container was
    /// recorded meanwhile, and one that started while no daemon ran is found and recorded.
    func testKill9AndRestartKeepTheRecording() async throws {
        let ticker = try RuncContainer(prefix: "sonde-dtick", args: ["/bin/sh", "-c", "i=0; while [ $i -lt 60 ]; do echo tick-$i; i=$((i+1)); sleep 0.2; done"])
        defer { ticker.remove() }
        let late = try RuncContainer(prefix: "sonde-dlate", args: ["/bin/sh", "-c", "echo late-start; sleep 30"])
        defer { late.remove() }
        let daemon = try DaemonProcess(recording: [ticker.name, late.name])
        defer { daemon.remove() }
        try await daemon.start()
        try ticker.start()
        let recording = try await eventually(timeout: .seconds(20)) {
            ((try? daemon.dump(ticker.name).stdout) ?? "").contains("tick-3\\n")
        }
        XCTAssertTrue(recording, daemon.log)
        func ticks(_ dump: String) -> [Int] {
            dump.split(separator: "\n").compactMap { line -> Int? in
                guard let range = line.range(of: "\"tick-") else { return nil }
                return Int(line[range.upperBound...].prefix { $0.isNumber })
            }
        }
        let beforeKill = ticks(try daemon.dump(ticker.name).stdout).max() ?? 0

        daemon.kill9()
        try late.start() // while no daemon runs
        try await Task.sleep(for: .seconds(2))
        try await daemon.start()

        // The ticker: every tick from the first to the last written so far, none missing.
        let dump = try daemon.dump(ticker.name).stdout
        let all = ticks(dump)
        XCTAssertEqual(all.first, 0, dump.suffix(1500).description)
        // Written while no daemon ran (2 s at one tick per 0.2 s), recorded all the same.
        XCTAssertGreaterThan(all.last ?? 0, beforeKill + 2, "ticks while the daemon was down must be there")
        XCTAssertEqual(all, Array(0..<all.count), "a gap in the recording")

        // The container that started while the daemon was down: recorded from its first exec.
        let found = try await eventually(timeout: .seconds(20)) {
            ((try? daemon.dump(late.name).stdout) ?? "").contains("late-start")
        }
        XCTAssertTrue(found, daemon.log)
        XCTAssertTrue(try daemon.dump(late.name).stdout.contains("execve(\"/bin/sh\", [\"/bin/sh\", \"-c\", \"echo late-start; sleep 30\"]"))
    }

    /// `sonde containers` and `sonde daemon status` through the daemon.
    func testCLIAsksTheDaemon() async throws {
        let container = try RuncContainer(prefix: "sonde-dcli", args: ["/bin/sleep", "30"])
        defer { container.remove() }
        let daemon = try DaemonProcess(recording: [container.name])
        defer { daemon.remove() }
        try await daemon.start()
        try container.start()
        let listed = try TestSupport.run(sondeExecutable, ["containers", "-c", container.name, "-o", "json", "--daemon-socket", daemon.socket])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertTrue(listed.stdout.contains("\"name\":\"\(container.name)\""), listed.stdout)
        let status = try TestSupport.run(sondeExecutable, ["daemon", "status", "--daemon-socket", daemon.socket])
        XCTAssertEqual(status.status, 0, status.stderr)
        XCTAssertTrue(status.stdout.contains("sonde daemon sonde.v1"), status.stdout)
        XCTAssertTrue(status.stdout.contains("gadgets: exec, open, tcp, bind, signal, mount, capabilities, oomkill, ptrace"), status.stdout)
        // A second daemon on the same socket is refused; the first goes on.
        let second = try TestSupport.run(sondeExecutable, ["daemon", "--socket", daemon.socket, "--config", daemon.configPath,
                                               "--pin-directory", daemon.settings.pinDirectory, "--state-directory", daemon.settings.stateDirectory],
                             timeout: 30)
        XCTAssertNotEqual(second.status, 0)
        XCTAssertTrue(second.stderr.contains("already listens"), second.stderr)
        XCTAssertTrue(daemon.isRunning)
        // No daemon: a clear error from status, and `containers` works on its own.
        let none = try TestSupport.run(sondeExecutable, ["daemon", "status", "--daemon-socket", daemon.directory + "/none.sock"])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("no sonde daemon listens"), none.stderr)
        let local = try TestSupport.run(sondeExecutable, ["containers", "-c", container.name, "--daemon-socket", daemon.directory + "/none.sock"])
        XCTAssertEqual(local.status, 0, local.stderr)
        XCTAssertTrue(local.stdout.contains(container.name))
    }
}

/// Polls an async producer until it gives a value.
func eventuallyValue<T>(timeout: Duration = .seconds(20), _ produce: () async throws -> T?) async throws -> T? {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if let value = try? await produce() { return value }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await produce()
}
