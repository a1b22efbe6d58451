@testable import Containers
@testable import LinuxKit
import DaemonAPI
import Foundation
import XCTest
import TestSupport

/// The daemon and a real containerd (the tests' private instance, scripts/setup-containerd.sh,
/// started and stopped exactly as ContainersTests' live tests do): its task events make the daemon
/// list at once, and the CRI pod's metadata selects what is recorded.
final class DaemonContainerdTests: XCTestCase {
    static let socket = ProcessInfo.processInfo.environment["SONDE_CONTAINERD_SOCKET"] ?? "/run/sonde-containerd/containerd.sock"

    /// Starts the private containerd unless it runs; true if this call started it (then the test stops it).
    static func startContainerd() throws -> Bool {
        let pidFile = "/run/sonde-test-containerd.pid"
        let running = (try? String(contentsOfFile: pidFile, encoding: .utf8))
            .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            .map { kill($0, 0) == 0 } ?? false
        try script([])
        return !running
    }

    /// Through ExternalCommand, as the live tests do: Foundation's Process would wait for the
    /// containerd the script leaves running (it inherits what Process watches for the exit).
    static func script(_ arguments: [String]) throws {
        _ = try ExternalCommand(executable: "/bin/bash", timeout: 600)
            .run([packageRoot.appendingPathComponent("scripts/setup-containerd.sh").path] + arguments)
    }

    func testCRIPodIsFoundWithItsPodLabelsAndRecordedBySelection() async throws {
        try requireRoot()
        let started = try Self.startContainerd()
        defer {
            if started { try? Self.script(["stop"]) }
        }
        let namespace = "sonde-dtest-\(getpid())"
        let daemon = try DaemonProcess(recording: [])
        defer { daemon.remove() }
        // Record by pod namespace and pod label only.
        let config: [String: Any] = [
            "record": ["select": ["podNamespaces": [namespace], "labels": ["app": "dlive"]], "crashDirectory": NSNull(),
                       "bufferSize": "256K", "pool": 4],
            "runtimes": ["containerdAddress": Self.socket],
        ]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: daemon.configPath))
        try await daemon.start()

        let criPod = packageRoot.appendingPathComponent("Tests/ContainersTests/Fixtures/cri-pod.py").path
        let uid = UUID().uuidString.lowercased()
        let made = try TestSupport.run("/usr/bin/python3", [criPod, Self.socket, "run", "dlive-0", namespace, uid, "app",
                                                                 "localhost/sonde-busybox:latest", "--label", "app=dlive",
                                                                 "--", "/bin/sh", "-c", "echo cri-start; sleep 30"], timeout: 120)
        XCTAssertEqual(made.status, 0, made.stderr)
        let ids = made.stdout.split(whereSeparator: \.isWhitespace).map(String.init)
        guard ids.count == 2 else { throw TestFailure("cri-pod.py printed \(made.stdout) \(made.stderr)") }
        defer { _ = try? TestSupport.run("/usr/bin/python3", [criPod, Self.socket, "remove", ids[0]], timeout: 120) }

        // Listed by pod namespace with the pod's metadata, and recorded because of it.
        let listed = try await eventuallyValue(timeout: .seconds(30)) {
            try await daemon.api { client in
                try await client.listContainers(.with { $0.selector.podNamespaces = [namespace] })
            }.containers.first { $0.container.id == ids[1] && $0.recording }
        }
        let container = try XCTUnwrap(listed?.container, daemon.log)
        XCTAssertEqual(container.runtime, "containerd")
        XCTAssertEqual(container.name, "app")
        XCTAssertEqual(container.pod.name, "dlive-0")
        XCTAssertEqual(container.pod.namespace, namespace)
        XCTAssertEqual(container.pod.uid, uid)
        XCTAssertEqual(container.pod.labels["app"], "dlive")
        // The pod's sandbox is no container of the selection; the watcher saw the task start.
        XCTAssertTrue(daemon.log.contains("containerd /tasks/start k8s.io/\(ids[1])"), daemon.log)

        let recorded = try await eventually(timeout: .seconds(20)) {
            ((try? daemon.dump(ids[1]).stdout) ?? "").contains("write(1, \"cri-start\\n\", 10) = 10")
        }
        XCTAssertTrue(recorded, daemon.log)
        XCTAssertTrue(try daemon.dump(ids[1]).stdout.contains("execve(\"/bin/sh\", [\"/bin/sh\", \"-c\", \"echo cri-start; sleep 30\"]"))
    }
}
