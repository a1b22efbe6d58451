import Foundation
import Glibc
import Testing
import TestSupport
@testable import Containers
@testable import LinuxKit

/// Real containers, run by the real runtimes, found by the sources. They need root and the
/// runtimes (scripts/setup-podman.sh, scripts/setup-containerd.sh, which they run: idempotent).
/// Like every integration test of sonde they always run; CI runs as root. Everything they start
/// they remove again.
enum Live {
    static let socket = ProcessInfo.processInfo.environment["SONDE_CONTAINERD_SOCKET"]
        ?? "/run/sonde-containerd/containerd.sock"
    static let image = "localhost/sonde-busybox:latest"
    /// Makes and removes a CRI pod through containerd's CRI API (python3-grpcio).
    static let criPodScript = packageRoot.path + "/Tests/ContainersTests/Fixtures/cri-pod.py"

    /// Runs a command to completion (setup scripts may apt-get install: minutes) and returns its output.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], timeout: Double = 600) throws -> String {
        let output = try ExternalCommand(executable: executable, timeout: timeout).run(arguments)
        return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func script(_ name: String, _ arguments: [String] = []) throws {
        try run("bash", [packageRoot.path + "/scripts/" + name] + arguments)
    }

    /// Starts the tests' private containerd unless it runs; returns whether this call started it,
    /// so the caller stops it again (scripts/test.sh keeps one running across all tests).
    static func startContainerd() throws -> Bool {
        let pidFile = "/run/sonde-test-containerd.pid"
        let running = (try? String(contentsOfFile: pidFile, encoding: .utf8))
            .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            .map { kill($0, 0) == 0 } ?? false
        try script("setup-containerd.sh")
        return !running
    }

    /// The container's cgroup as the kernel sees it: id and path from its init process.
    static func checkKernelView(of container: Container) throws {
        let pid = try #require(container.initPID)
        #expect(container.cgroupPath == (try CgroupV2.cgroupOfProcess(pid)))
        let cgroups = try CgroupV2.find()
        #expect(container.cgroupID == (try Files.inode(cgroups.directory(of: container.cgroupPath))))
        #expect(container.mountNamespaceID == (try Namespaces.mountNamespaceID(pid: pid)))
        #expect(container.mountNamespaceID != (try Namespaces.mountNamespaceID(pid: getpid())))
    }
}

@Suite(.serialized)
struct LiveRuntimeTests {
    @Test func podmanContainer() throws {
        try Live.script("setup-podman.sh")
        let name = "sonde-live-\(getpid())"
        defer { _ = try? Live.run("podman", ["rm", "-f", "-t", "0", name], timeout: 60) }
        let id = try Live.run("podman", ["run", "-d", "--name", name, "--label", "sonde.live=podman",
                                         "--annotation", "sonde.live=yes", "--runtime", "runc", "--network", "none",
                                         Live.image, "/bin/sleep", "300"], timeout: 120)
        let cgroups = try CgroupV2.find()
        var problems: [String] = []
        let containers = PodmanSource().containers(cgroups: cgroups, problems: &problems)
        #expect(problems.isEmpty)
        let container = try #require(containers.first { $0.id == id })
        #expect(container.runtime == .podman)
        #expect(container.name == name)
        #expect(container.image == Live.image)
        #expect(container.labels["sonde.live"] == "podman")
        #expect(container.annotations["sonde.live"] == "yes")
        #expect(container.cgroupPath == "/libpod_parent/libpod-\(id)")
        #expect(container.initPID == Int32(try Live.run("podman", ["inspect", "--format", "{{.State.Pid}}", id])))
        try Live.checkKernelView(of: container)
        // The same runc root: RuncSource must leave it to PodmanSource.
        #expect(!RuncSource().containers(cgroups: cgroups, problems: &problems).contains { $0.id == id })
    }

    @Test func containerdContainer() throws {
        let started = try Live.startContainerd()
        defer { if started { _ = try? Live.script("setup-containerd.sh", ["stop"]) } }
        let id = "sonde-live-\(getpid())"
        defer {
            _ = try? Live.run("ctr", ["--address", Live.socket, "task", "rm", "-f", id], timeout: 60)
            _ = try? Live.run("ctr", ["--address", Live.socket, "containers", "rm", id], timeout: 60)
        }
        try Live.run("ctr", ["--address", Live.socket, "run", "-d", "--label", "sonde.live=ctr",
                             Live.image, id, "/bin/sleep", "300"], timeout: 120)
        let cgroups = try CgroupV2.find()
        var problems: [String] = []
        let containers = ContainerdSource(address: Live.socket).containers(cgroups: cgroups, problems: &problems)
        #expect(problems.isEmpty)
        let container = try #require(containers.first { $0.id == id })
        #expect(container.runtime == .containerd)
        #expect(container.name == id)
        #expect(container.image == Live.image)
        #expect(container.labels["sonde.live"] == "ctr")
        #expect(container.cgroupPath == "/default/\(id)")
        #expect(container.pod == nil)
        try Live.checkKernelView(of: container)
    }

    @Test func criPod() throws {
        let started = try Live.startContainerd() // also installs python3-grpcio for cri-pod.py
        defer { if started { _ = try? Live.script("setup-containerd.sh", ["stop"]) } }
        let uid = UUID().uuidString.lowercased()
        let ids = try Live.run("/usr/bin/python3", [Live.criPodScript, Live.socket, "run",
                                                    "live-0", "sonde-test", uid, "app", Live.image,
                                                    "--label", "app=live", "--label", "sonde.test/pod=yes",
                                                    "--", "/bin/sleep", "300"], timeout: 120)
            .split(separator: " ").map(String.init)
        try #require(ids.count == 2, "cri-pod.py printed \(ids)")
        defer { _ = try? Live.run("/usr/bin/python3", [Live.criPodScript, Live.socket, "remove", ids[0]], timeout: 120) }
        let cgroups = try CgroupV2.find()
        var problems: [String] = []
        let containers = ContainerdSource(address: Live.socket).containers(cgroups: cgroups, problems: &problems)
        #expect(problems.isEmpty)
        #expect(!containers.contains { $0.id == ids[0] }) // the sandbox
        let container = try #require(containers.first { $0.id == ids[1] })
        #expect(container.name == "app")
        #expect(container.image == Live.image)
        #expect(container.labels == ["sonde.test/container-label": "yes"])
        #expect(container.annotations["sonde.test/container-annotation"] == "yes")
        #expect(container.pod == Pod(name: "live-0", namespace: "sonde-test", uid: uid,
                                     labels: ["app": "live", "sonde.test/pod": "yes"]))
        #expect(container.cgroupPath == "/k8s.io/\(ids[1])")
        try Live.checkKernelView(of: container)
    }
}
