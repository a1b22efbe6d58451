import DaemonAPI
import Events
import Foundation
import GRPCCore
import LinuxKit
import XCTest
import TestSupport

/// The daemon running the seccomp agent (config key "supervise") and streaming its decisions
/// (WatchSupervisor) to clients, with a real runc container whose config.json sends mknod to the
/// daemon's agent socket.
final class DaemonSupervisorTests: XCTestCase {
    override func setUp() async throws {
        try requireRoot()
    }

    /// A daemon that records nothing and supervises on its own directory's socket with the
    /// supervisor tests' policy.
    func supervisingDaemon() throws -> (daemon: DaemonProcess, agentSocket: String) {
        let directory = NSTemporaryDirectory() + "sonde-dsv-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let policy = directory + "/policy.json"
        try SupervisorIntegrationTests.policy.write(toFile: policy, atomically: true, encoding: .utf8)
        let socket = directory + "/agent.sock"
        let daemon = try DaemonProcess(recording: [], config: ["record": ["enabled": false],
                                                               "supervise": ["socket": socket, "policy": policy]])
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        return (daemon, socket)
    }

    /// Runs the container to its end off the cooperative pool (runc blocks).
    func runToCompletion(_ container: RuncContainer) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try container.runToCompletion() })
            }
        }
    }

    func testSubscribersReceiveEveryDecisionAndOneLeavingMidStreamDisturbsNothing() async throws {
        let (daemon, agentSocket) = try supervisingDaemon()
        defer { daemon.remove() }
        try await daemon.start()
        XCTAssertTrue(daemon.log.contains("supervising on \(agentSocket)"), daemon.log)

        // Three calls, a second apart, so the leaving client is gone before the later ones.
        let container = try RuncContainer(prefix: "sonde-dsv", args: ["sh", "-c", """
            mknod /root/null c 1 3; echo null=$?; sleep 1; mknod /root/disk b 8 0; echo disk=$?; sleep 1
            mknod /root/zero c 1 5; echo zero=$?
            """])
        defer { container.remove() }
        try container.supervise(socket: agentSocket, metadata: "sonde-test")

        // Client A stays to the end; client B leaves after its first event; the CLI watches too.
        let staying = Locked<[Event]>([])
        let stayingReady = Locked(false)
        let a = Task {
            try await daemon.api { client in
                try await client.watchSupervisor(.with { $0.timeoutSeconds = 0 }) { response in
                    for try await reply in response.messages {
                        switch reply.kind {
                        case .ready: stayingReady.set(true)
                        case .event(let event): staying.update { $0.append(event.event) }
                        default: break
                        }
                    }
                }
            }
        }
        defer { a.cancel() }
        let leaving = Locked<[Event]>([])
        let leavingReady = Locked(false)
        let b = Task {
            try await daemon.api { client in
                try await client.watchSupervisor(.init()) { response in
                    for try await reply in response.messages {
                        if case .ready = reply.kind { leavingReady.set(true) }
                        if case .event(let event) = reply.kind {
                            leaving.update { $0.append(event.event) }
                            return // ends the call mid-stream: the client cancels its RPC
                        }
                    }
                }
            }
        }
        let cliOutput = daemon.directory + "/cli.jsonl"
        FileManager.default.createFile(atPath: cliOutput, contents: nil)
        let cli = Process()
        cli.executableURL = URL(fileURLWithPath: sondeExecutable)
        cli.arguments = ["daemon", "supervise-events", "-o", "json", "--timeout", "20", "--daemon-socket", daemon.socket]
        cli.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: cliOutput))
        cli.standardError = FileHandle.nullDevice
        try cli.run()
        defer { if cli.isRunning { cli.terminate(); cli.waitUntilExit() } }

        let subscribed = try await eventually { stayingReady.get() && leavingReady.get() }
        XCTAssertTrue(subscribed, daemon.log)
        // The CLI has no ready signal of its own: give it time to connect.
        try await Task.sleep(for: .seconds(1))

        let result = try await runToCompletion(container)
        // The container's calls were answered as the policy says, whatever the clients did.
        XCTAssertEqual(result.status, 0, "\(result.stderr)\n\(daemon.log)")
        for line in ["null=0", "disk=1", "zero=0"] {
            XCTAssertTrue(result.stdout.contains(line), "\(line) missing: \(result.stdout)\n\(result.stderr)\n\(daemon.log)")
        }
        _ = try await b.value // returned by itself after its first event

        let all = try await eventually(timeout: .seconds(10)) { staying.get().count >= 3 }
        XCTAssertTrue(all, "\(staying.get())\n\(daemon.log)")
        let events = staying.get()
        func decision(_ path: String) -> Event? { events.first { $0.field("args").map(FieldText.text)?.contains(path) == true } }
        for (path, verdict) in [("/root/null", "allow"), ("/root/disk", "deny"), ("/root/zero", "allow")] {
            let event = decision(path)
            XCTAssertEqual(event?.source, "supervise", "\(events)")
            XCTAssertEqual(event?.container?.id, container.name)
            XCTAssertEqual(event?.field("syscall").map(FieldText.text), "mknodat")
            XCTAssertEqual(event?.field("verdict").map(FieldText.text), verdict, "\(path): \(events)")
        }
        XCTAssertEqual(decision("/root/disk")?.field("ret").map(FieldText.text), "EPERM")
        XCTAssertEqual(leaving.get().count, 1)
        XCTAssertTrue(leaving.get().first?.field("args").map(FieldText.text)?.contains("/root/null") == true, "\(leaving.get())")

        // The CLI rendered the same decisions (JSON lines, as `sonde supervise --events -o json`).
        let rendered = try await eventually(timeout: .seconds(10)) {
            ((try? String(contentsOfFile: cliOutput, encoding: .utf8)) ?? "").contains("/root/zero")
        }
        let lines = ((try? String(contentsOfFile: cliOutput, encoding: .utf8)) ?? "").split(separator: "\n")
        XCTAssertTrue(rendered, "\(lines)\n\(daemon.log)")
        let denied = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .first { ($0["args"] as? String)?.contains("/root/disk") == true }
        XCTAssertEqual(denied?["verdict"] as? String, "deny", "\(lines)")
        XCTAssertEqual(denied?["source"] as? String, "supervise")
        XCTAssertEqual((denied?["container"] as? [String: Any])?["id"] as? String, container.name)

        // The daemon serves on: status lists the agent among what it watches.
        let status = try await daemon.api { try await $0.status(Sonde_V1_StatusRequest()) }
        XCTAssertTrue(status.watchers.contains { $0.hasPrefix("seccomp agent on \(agentSocket)") }, "\(status.watchers)")
        XCTAssertTrue(daemon.isRunning)
    }

    /// A client that subscribes and then reads nothing, while the container makes more decisions than
    /// an HTTP/2 stream's initial window holds: the agent answers every call and the reading client
    /// gets every decision all the same.
    func testAClientThatStopsReadingDelaysNeitherTheAgentNorTheOthers() async throws {
        let (daemon, agentSocket) = try supervisingDaemon()
        defer { daemon.remove() }
        try await daemon.start()
        let calls = 600 // about 200 KB of events: more than a stream's initial HTTP/2 window (64 KB)
        let container = try RuncContainer(prefix: "sonde-dsvs", args: ["sh", "-c", """
            i=0; while [ $i -lt \(calls) ]; do mknod /root/n c 1 3 || exit 1; rm /root/n; i=$((i+1)); done; echo made=$i
            """])
        defer { container.remove() }
        try container.supervise(socket: agentSocket, metadata: "sonde-test")

        let stalledReady = Locked(false)
        let stalled = Task {
            try await daemon.api { client in
                try await client.watchSupervisor(.init()) { response in
                    var messages = response.messages.makeAsyncIterator()
                    if case .ready? = try await messages.next()?.kind { stalledReady.set(true) }
                    // Reads nothing more until cancelled.
                    try await Task.sleep(for: .seconds(300))
                }
            }
        }
        defer { stalled.cancel() }
        let received = Locked(0)
        let readerReady = Locked(false)
        let reader = Task {
            try await daemon.api { client in
                try await client.watchSupervisor(.init()) { response in
                    for try await reply in response.messages {
                        if case .ready = reply.kind { readerReady.set(true) }
                        if case .event = reply.kind { received.update { $0 += 1 } }
                    }
                }
            }
        }
        defer { reader.cancel() }
        let subscribed = try await eventually { stalledReady.get() && readerReady.get() }
        XCTAssertTrue(subscribed, daemon.log)

        let started = ContinuousClock.now
        let result = try await runToCompletion(container)
        let elapsed = ContinuousClock.now - started
        XCTAssertTrue(result.stdout.contains("made=\(calls)"), "\(result.stdout)\n\(result.stderr)\n\(daemon.log)")
        let all = try await eventually(timeout: .seconds(20)) { received.get() >= calls }
        XCTAssertTrue(all, "the reading client got \(received.get()) of \(calls)")
        print("DaemonSupervisorTests: \(calls) supervised mknod+rm in \(elapsed) with one stalled and one reading client")
        XCTAssertTrue(daemon.isRunning)
    }

    /// A timeout ends the stream with the stats message: what this client got and what the agent did.
    func testATimedWatchEndsWithStats() async throws {
        let (daemon, agentSocket) = try supervisingDaemon()
        defer { daemon.remove() }
        try await daemon.start()
        let container = try RuncContainer(prefix: "sonde-dsvt", args: ["sh", "-c", "mknod /root/null c 1 3; echo null=$?"])
        defer { container.remove() }
        try container.supervise(socket: agentSocket, metadata: "sonde-test")
        let ready = Locked(false)
        let watch = Task { () throws -> (events: Int, stats: Sonde_V1_SupervisorStats?) in
            try await daemon.api { client in
                try await client.watchSupervisor(.with { $0.timeoutSeconds = 6 }) { response in
                    var events = 0
                    var stats: Sonde_V1_SupervisorStats?
                    for try await reply in response.messages {
                        switch reply.kind {
                        case .ready: ready.set(true)
                        case .event: events += 1
                        case .stats(let s): stats = s
                        case nil: break
                        }
                    }
                    return (events, stats)
                }
            }
        }
        let subscribed = try await eventually { ready.get() }
        XCTAssertTrue(subscribed, daemon.log)
        let result = try await runToCompletion(container)
        XCTAssertTrue(result.stdout.contains("null=0"), "\(result.stdout)\n\(result.stderr)\n\(daemon.log)")
        let (events, stats) = try await watch.value
        XCTAssertEqual(events, 1)
        XCTAssertEqual(stats?.delivered, 1)
        XCTAssertEqual(stats?.lostSlowClient, 0)
        XCTAssertEqual(stats?.lossSummary, "")
        XCTAssertGreaterThanOrEqual(stats?.allowed ?? 0, 1)
        XCTAssertGreaterThanOrEqual(stats?.containers ?? 0, 1)

        // `sonde supervise --takeover` aimed at the daemon's agent is refused: the daemon goes on.
        let policy = (agentSocket as NSString).deletingLastPathComponent + "/policy.json"
        let takeover = try TestSupport.run(sondeExecutable, ["supervise", "--socket", agentSocket, "--policy", policy, "--takeover"], timeout: 30)
        XCTAssertNotEqual(takeover.status, 0)
        XCTAssertTrue(takeover.stderr.contains("did not hand over"), takeover.stderr)
        let refused = try await eventually { daemon.log.contains("does not hand over") }
        XCTAssertTrue(refused, daemon.log)
        XCTAssertTrue(daemon.isRunning)
        let answering = await DaemonClient.isAnswering(socket: daemon.socket)
        XCTAssertTrue(answering)
    }

    /// Without a "supervise" key the RPC fails at once, naming the key; the CLI says the same.
    func testADaemonWithoutAnAgentSaysWhichConfigKeyIsMissing() async throws {
        let daemon = try DaemonProcess(recording: [], config: ["record": ["enabled": false]])
        defer { daemon.remove() }
        try await daemon.start()
        do {
            try await daemon.api { client in
                try await client.watchSupervisor(.init()) { response in
                    for try await _ in response.messages {}
                }
            }
            XCTFail("WatchSupervisor succeeded on a daemon without an agent")
        } catch let error as SondeError {
            XCTAssertEqual(error.code, .notFound, "\(error)")
            XCTAssertTrue(error.description.contains("\"supervise\""), "\(error)")
        }
        let cli = try TestSupport.run(sondeExecutable, ["daemon", "supervise-events", "--daemon-socket", daemon.socket], timeout: 30)
        XCTAssertNotEqual(cli.status, 0)
        XCTAssertTrue(cli.stderr.contains("runs no seccomp agent") && cli.stderr.contains("\"supervise\""), cli.stderr)
        XCTAssertTrue(daemon.isRunning)
    }
}
