import Containers
@testable import Daemon
import DaemonAPI
import Foundation
import LinuxKit
import XCTest
import TestSupport

/// A sleeping child in a cgroup of its own, as a container's init is; removed by `end()`.
final class CgroupChild {
    let cgroups: CgroupV2
    let path = "/sonde-hooktest-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let process = Process()

    init() throws {
        cgroups = try CgroupV2.find()
        try FileManager.default.createDirectory(atPath: cgroups.directory(of: path), withIntermediateDirectories: false)
        process.executableURL = URL(fileURLWithPath: "/bin/sleep")
        process.arguments = ["30"]
        try process.run()
        try "\(process.processIdentifier)".write(toFile: cgroups.directory(of: path) + "/cgroup.procs", atomically: false, encoding: .utf8)
    }

    var pid: Int32 { process.processIdentifier }

    func end() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        rmdir(cgroups.directory(of: path))
    }

    deinit { end() }
}

final class HookRegistrationTests: XCTestCase {
    var directory = ""

    override func setUp() {
        directory = NSTemporaryDirectory() + "sonde-hooks-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testStateOfALiveProcessBecomesAContainerThatSurvivesARestart() throws {
        let cgroups = try CgroupV2.find()
        let child = try CgroupChild()
        defer { child.end() }
        let hooks = HookRegistrations(stateDirectory: directory)
        let state = Sonde_V1_OCIState.with {
            $0.id = "hooked-\(getpid())"
            $0.pid = child.pid
            $0.status = "creating"
            $0.bundle = "/tmp/bundle"
            $0.annotations = ["io.container.manager": "libpod"]
        }
        let container = try hooks.add(state, runtimeHint: "", cgroups: cgroups)
        XCTAssertEqual(container.runtime, .podman)
        XCTAssertEqual(container.cgroupPath, child.path)
        XCTAssertEqual(container.cgroupID, try cgroups.id(of: child.path))
        XCTAssertEqual(container.initPID, child.pid)

        // A new instance (a restarted daemon) reads the registration back.
        var problems: [String] = []
        let reloaded = HookRegistrations(stateDirectory: directory)
        XCTAssertEqual(reloaded.containers(cgroups: cgroups, problems: &problems), [container])
        XCTAssertTrue(reloaded.remove(id: state.id, runtime: ""))
        XCTAssertFalse(reloaded.remove(id: state.id, runtime: ""))
        XCTAssertEqual(HookRegistrations(stateDirectory: directory).containers(cgroups: cgroups, problems: &problems), [])
    }

    func testBadStatesAreRefusedClearly() throws {
        let cgroups = try CgroupV2.find()
        let hooks = HookRegistrations(stateDirectory: directory)
        func message(_ state: Sonde_V1_OCIState, runtime: String = "") -> String {
            do {
                _ = try hooks.add(state, runtimeHint: runtime, cgroups: cgroups)
                return "no error"
            } catch {
                return error.description
            }
        }
        XCTAssertTrue(message(.with { $0.pid = getpid() }).contains("no container id"))
        XCTAssertTrue(message(.with { $0.id = "../x"; $0.pid = getpid() }).contains("not a valid id"))
        XCTAssertTrue(message(.with { $0.id = "x"; $0.status = "stopped" }).contains("has no pid"))
        let child = try CgroupChild()
        defer { child.end() }
        XCTAssertTrue(message(.with { $0.id = "x"; $0.pid = child.pid }, runtime: "docker").contains("unknown runtime"))
        // A process of the root cgroup is no container (that would record the whole host).
        if try CgroupV2.cgroupOfProcess(1) == "/" {
            XCTAssertTrue(message(.with { $0.id = "x"; $0.pid = 1 }).contains("root cgroup"))
        }
        // A process that is gone (the container vanished between the hook and the call).
        let exited = Process()
        exited.executableURL = URL(fileURLWithPath: "/bin/true")
        try exited.run()
        exited.waitUntilExit()
        XCTAssertTrue(message(.with { $0.id = "x"; $0.pid = exited.processIdentifier }).contains("is gone"))
    }

    func testARegistrationWhoseCgroupWentIsDropped() throws {
        let cgroups = try CgroupV2.find()
        let child = try CgroupChild()
        defer { child.end() }
        let hooks = HookRegistrations(stateDirectory: directory)
        let container = try hooks.add(.with { $0.id = "gone"; $0.pid = child.pid }, runtimeHint: "runc", cgroups: cgroups)
        XCTAssertEqual(container.cgroupPath, child.path)
        var problems: [String] = []
        XCTAssertEqual(hooks.containers(cgroups: cgroups, problems: &problems).map(\.id), ["gone"])

        child.end() // the container exits and its runtime removes its cgroup
        XCTAssertEqual(hooks.containers(cgroups: cgroups, problems: &problems), [])
        XCTAssertEqual(HookRegistrations(stateDirectory: directory).containers(cgroups: cgroups, problems: &problems), [])
        // poststop comes after the cgroup went: still answered as known.
        XCTAssertTrue(hooks.remove(id: "gone", runtime: "runc"))
    }
}
