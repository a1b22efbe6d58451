import Containers
@testable import Daemon
import DaemonAPI
import Events
import Foundation
import LinuxKit
import XCTest

final class DaemonConfigTests: XCTestCase {
    func testEmptyConfigGivesTheDefaults() throws {
        let config = try DaemonConfig.parse(Data("{}".utf8))
        XCTAssertEqual(config.socket, "/run/sonde/sonde.sock")
        XCTAssertTrue(config.recordEnabled)
        XCTAssertEqual(config.recordSelection, DaemonSelection())
        XCTAssertEqual(config.recorder.pinDirectory, "/sys/fs/bpf/sonde/recorder")
        XCTAssertEqual(config.retentionSeconds, 3600)
    }

    func testEveryKeyIsRead() throws {
        let text = """
        {"socket": "/tmp/s.sock", "stateDirectory": "/tmp/d",
         "record": {"enabled": true, "select": {"names": ["web"], "runtimes": ["podman"], "cgroupPaths": ["/x.slice"],
                    "labels": {"app": "api"}, "podNamespaces": ["prod"]},
                    "crashDirectory": null, "retentionSeconds": 60, "bufferSize": "256K", "bufferCapture": 64, "pool": 4,
                    "pinDirectory": "/sys/fs/bpf/t", "stateDirectory": "/run/t"},
         "runtimes": {"runcRoot": "/run/r", "containerdAddress": "/run/c.sock", "containerdRuncRoot": "/run/cr"}}
        """
        let config = try DaemonConfig.parse(Data(text.utf8))
        XCTAssertEqual(config.socket, "/tmp/s.sock")
        XCTAssertEqual(config.stateDirectory, "/tmp/d")
        XCTAssertEqual(config.recordSelection.selector.names, ["web"])
        XCTAssertEqual(config.recordSelection.selector.runtimes, [.podman])
        XCTAssertEqual(config.recordSelection.selector.cgroupPaths, ["/x.slice"])
        XCTAssertEqual(config.recordSelection.labels, ["app": "api"])
        XCTAssertEqual(config.recordSelection.podNamespaces, ["prod"])
        XCTAssertNil(config.crashDirectory)
        XCTAssertEqual(config.retentionSeconds, 60)
        XCTAssertEqual(config.recorder.bytesPerCPU, 256 << 10)
        XCTAssertEqual(config.recorder.bufferCapture, 64)
        XCTAssertEqual(config.recorder.poolSize, 4)
        XCTAssertEqual(config.recorder.pinDirectory, "/sys/fs/bpf/t")
        XCTAssertEqual(config.recorder.stateDirectory, "/run/t")
        XCTAssertEqual(config.runcRoot, "/run/r")
        XCTAssertEqual(config.containerdAddress, "/run/c.sock")
        XCTAssertEqual(config.containerdRuncRoot, "/run/cr")
    }

    func testMistakesAreClearErrors() {
        func error(_ text: String) -> String {
            do {
                _ = try DaemonConfig.parse(Data(text.utf8), source: "daemon.json")
                return "no error"
            } catch {
                return error.description
            }
        }
        XCTAssertTrue(error("{\"recrod\": {}}").contains("daemon.json: unknown key 'recrod'"), error("{\"recrod\": {}}"))
        XCTAssertTrue(error("{\"record\": {\"select\": {\"runtimes\": [\"docker\"]}}}").contains("unknown runtime 'docker'"))
        XCTAssertTrue(error("{\"record\": {\"bufferSize\": \"1T\"}}").contains("bufferSize"))
        XCTAssertTrue(error("{\"record\": {\"pool\": 0}}").contains("daemon.json.record.pool"))
        XCTAssertTrue(error("{\"socket\": 3}").contains("daemon.json.socket: expected a string"))
        XCTAssertTrue(error("{\"record\": {\"select\": {\"labels\": {\"a\": 1}}}}").contains("labels: expected an object of strings"))
        XCTAssertTrue(error("not json").contains("is not JSON"))
        XCTAssertTrue(error("[1]").contains("expected an object"))
    }

    func testSelectionByLabelsAndPodNamespace() {
        let pod = Pod(name: "api-1", namespace: "prod", labels: ["app": "api"])
        let inPod = Container(runtime: .containerd, id: "a1", name: "api", cgroupPath: "/k8s.io/a1", cgroupID: 10, pod: pod)
        let labelled = Container(runtime: .podman, id: "b2", name: "web", cgroupPath: "/libpod_parent/libpod-b2", cgroupID: 11,
                                 labels: ["app": "api", "tier": "front"])
        let plain = Container(runtime: .runc, id: "c3", name: "c3", cgroupPath: "/c3", cgroupID: 12)

        let byLabel = DaemonSelection(labels: ["app": "api"])
        XCTAssertTrue(byLabel.matches(inPod))      // the pod's labels count
        XCTAssertTrue(byLabel.matches(labelled))   // and the container's
        XCTAssertFalse(byLabel.matches(plain))

        let byNamespace = DaemonSelection(podNamespaces: ["prod"])
        XCTAssertTrue(byNamespace.matches(inPod))
        XCTAssertFalse(byNamespace.matches(labelled))

        let both = DaemonSelection(selector: ContainerSelector(runtimes: [.podman]), labels: ["tier": "front"])
        XCTAssertTrue(both.matches(labelled))
        XCTAssertFalse(both.matches(inPod))
        XCTAssertEqual(both.summary, "runtimes podman; labels tier=front")
        XCTAssertEqual(DaemonSelection().summary, "every container")
    }
}

final class DaemonAPIConversionTests: XCTestCase {
    func testContainersCrossTheAPIUnchanged() {
        let full = Container(runtime: .containerd, id: "abc", name: "api", initPID: 42, cgroupPath: "/k8s.io/abc", cgroupID: 77,
                             mountNamespaceID: 4026531840, image: "busybox", bundle: "/b", rootfs: "/b/rootfs",
                             labels: ["a": "1"], annotations: ["io.x": "y"],
                             pod: Pod(name: "p", namespace: "ns", uid: "u-1", labels: ["app": "api"]))
        XCTAssertEqual(Sonde_V1_Container(full).container, full)
        let bare = Container(runtime: .runc, id: "c", name: "c", cgroupPath: "/c", cgroupID: 1)
        XCTAssertEqual(Sonde_V1_Container(bare).container, bare)
    }

    func testEventsKeepEveryFieldType() {
        let fields: [(name: String, value: FieldValue)] = [
            ("i", .int(-5)), ("u", .uint(UInt64.max)), ("s", .string("x\u{1}y")),
            ("argv", .strings(["sh", "-c"], truncated: true)), ("ret", .result(-2)), ("b", .bool(true)),
        ]
        let event = Event(timestamp: 1_700_000_000_123_456_789, source: "exec",
                          process: ProcessRef(pid: 1, tid: 2, ppid: 3, uid: 4, gid: 5, comm: "sh"),
                          cgroupID: 9, mountNamespaceID: 8,
                          container: Container(runtime: .runc, id: "c", name: "c", cgroupPath: "/c", cgroupID: 9), fields: fields)
        let back = Sonde_V1_Event(event).event
        XCTAssertEqual(back.timestamp, event.timestamp)
        XCTAssertEqual(back.source, "exec")
        XCTAssertEqual(back.process, event.process)
        XCTAssertEqual(back.cgroupID, 9)
        XCTAssertEqual(back.mountNamespaceID, 8)
        XCTAssertEqual(back.container, event.container)
        XCTAssertEqual(back.fields.map(\.name), fields.map(\.name))
        XCTAssertEqual(back.fields.map(\.value), fields.map(\.value))
        // A host event has no container on either side.
        var host = event
        host.container = nil
        XCTAssertNil(Sonde_V1_Event(host).event.container)
    }
}

final class UnixListenerTests: XCTestCase {
    func testSocketIsRootOnlyAndAStaleOneIsReplacedButALiveOneIsNot() throws {
        let path = NSTemporaryDirectory() + "sonde-l-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        defer { unlink(path) }
        let first = try UnixListener.listen(path: path)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
        XCTAssertThrowsError(try UnixListener.listen(path: path)) { error in
            XCTAssertTrue("\(error)".contains("already listens"), "\(error)")
        }
        close(first) // as after kill -9: the file stays, nobody listens
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
        let second = try UnixListener.listen(path: path)
        close(second)
        XCTAssertThrowsError(try UnixListener.listen(path: "/tmp/" + String(repeating: "x", count: 120)))
    }
}

final class WatcherTests: XCTestCase {
    func testInotifyWatcherSeesContainerStateDirectoriesComeAndGoIncludingLaterNamespaces() throws {
        let root = NSTemporaryDirectory() + "sonde-watch-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let changes = Counter()
        // The root does not exist yet (containerd not started): its ancestor is watched until it appears.
        let watcher = RuntimeWatcher(roots: [.init(path: root, namespaced: true)]) { changes.add(1) }
        defer { watcher.stop() }
        func waitFor(_ what: String, _ condition: () -> Bool) -> Bool {
            // Generous: each step is one inotify event away; this only bounds a failure.
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                if condition() { return true }
                usleep(10_000)
            }
            XCTFail("timed out waiting for \(what); watching \(watcher.watchedDirectories)")
            return false
        }
        let ancestor = (root as NSString).deletingLastPathComponent
        XCTAssertTrue(waitFor("the ancestor \(ancestor) to be watched") { watcher.watchedDirectories.contains(ancestor) })
        try FileManager.default.createDirectory(atPath: root + "/k8s.io", withIntermediateDirectories: true)
        XCTAssertTrue(waitFor("the namespace directory to be watched") { watcher.watchedDirectories.contains(root + "/k8s.io") })
        var seen = changes.value
        try FileManager.default.createDirectory(atPath: root + "/k8s.io/container-1", withIntermediateDirectories: false)
        XCTAssertTrue(waitFor("a change for a new container directory in a namespace directory") { changes.value > seen })
        XCTAssertTrue(waitFor("the container directory to be watched") { watcher.watchedDirectories.contains(root + "/k8s.io/container-1") })
        // runc writes state.json after making the directory, by renaming a temporary file over it.
        seen = changes.value
        try Data("{}".utf8).write(to: URL(fileURLWithPath: root + "/k8s.io/container-1/state-tmp"))
        XCTAssertEqual(rename(root + "/k8s.io/container-1/state-tmp", root + "/k8s.io/container-1/state.json"), 0)
        XCTAssertTrue(waitFor("a change for state.json written") { changes.value > seen })
        seen = changes.value
        try FileManager.default.removeItem(atPath: root + "/k8s.io/container-1")
        XCTAssertTrue(waitFor("a change for a removed container directory") { changes.value > seen })
        XCTAssertTrue(waitFor("the removed directory to be forgotten") { !watcher.watchedDirectories.contains(root + "/k8s.io/container-1") })
    }

    func testInotifyWatcherSeesARuncLayoutAndItsContainerDirectories() throws {
        let root = NSTemporaryDirectory() + "sonde-watch-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let changes = Counter()
        let watcher = RuntimeWatcher(roots: [.init(path: root, namespaced: false)]) { changes.add(1) }
        let deadline = Date().addingTimeInterval(20)
        while !watcher.watchedDirectories.contains(root) && Date() < deadline { usleep(10_000) }
        XCTAssertTrue(watcher.watchedDirectories.contains(root))
        try FileManager.default.createDirectory(atPath: root + "/direct", withIntermediateDirectories: false)
        while changes.value == 0 && Date() < deadline { usleep(10_000) }
        XCTAssertGreaterThan(changes.value, 0, "a container directory in the root (runc's layout)")
        while !watcher.watchedDirectories.contains(root + "/direct") && Date() < deadline { usleep(10_000) }
        XCTAssertTrue(watcher.watchedDirectories.contains(root + "/direct"), "its state.json is watched for")
        watcher.stop()
    }

    func testContainerdEnvelopeIsDescribedByTopicNamespaceAndContainer() throws {
        var envelope = Containerd_Services_Events_V1_Envelope()
        envelope.namespace = "k8s.io"
        envelope.topic = "/tasks/start"
        envelope.event.typeURL = "containerd.events.TaskStart"
        // TaskStart{container_id: "abc", pid: 42}: field 1 string, field 2 varint.
        envelope.event.value = Data([0x0a, 0x03, 0x61, 0x62, 0x63, 0x10, 0x2a])
        XCTAssertEqual(ContainerdEvents.describe(envelope), "containerd /tasks/start k8s.io/abc")
        envelope.event.value = Data([0xff]) // not a message
        XCTAssertEqual(ContainerdEvents.describe(envelope), "containerd /tasks/start k8s.io/?")
    }
}
