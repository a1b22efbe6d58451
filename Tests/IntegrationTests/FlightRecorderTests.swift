import BPFKit
import BPFObjects
import Containers
import Foundation
import Glibc
import LinuxKit
import Syscalls
import Testing
import TestSupport
@testable import Recorder

/// Real recordings: processes in cgroups made for the test, recorded by the real programs.
@Suite(.serialized) struct FlightRecorderTests {
    // Numbers on x86_64.
    static let openat = 257, read = 0, write = 1, execve = 59, exitGroup = 231

    /// Captures of the calls the tests look at (the real table comes from the Syscalls module).
    static func captures(_ number: Int) -> [ArgumentCapture] {
        switch number {
        case openat: return [.value, .string, .value, .value]
        case read: return [.value, .outputBuffer(lengthArgument: 2), .value]
        case write: return [.value, .inputBuffer(lengthArgument: 2), .value]
        case execve: return [.string, .stringArray, .value]
        default: return []
        }
    }

    func settings() -> RecorderSettings {
        .isolated("sonde-test", bytesPerCPU: 256 << 10, poolSize: 2)
    }

    func calls(_ dump: RecorderDump) -> [RecordedCall] {
        dump.entries.compactMap { if case .call(let call) = $0 { return call } else { return nil } }
    }

    @Test func recordsEveryCallWithItsMemoryAndSurvivesTheProcess() throws {
        let settings = settings()
        defer { try? FlightRecorder.stop(settings) }
        let cgroup = try TestCgroup()
        let marker = "sonde-marker-\(getpid())"
        let file = "/tmp/\(marker)"
        try "hello recorder\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { unlink(file) }

        do {
            let recorder = try FlightRecorder.start(settings, captures: Self.captures)
            try recorder.record(try cgroup.container)
            #expect(try cgroup.run("exec /bin/cat \(file)") == 0)
        }
        // A second attachment (as a new sonde process would do) reads what the first recorded.
        #expect(FlightRecorder.isRunning(settings))
        let recorder = try FlightRecorder.attach(settings)
        let dump = try recorder.dump(try cgroup.container)
        let all = calls(dump)

        let exec = try #require(all.first { $0.record.number == Self.execve })
        #expect(exec.record.captured[0]?.bytes == Array("/bin/cat".utf8))
        #expect(exec.record.captured[1]?.bytes == Array("/bin/cat\0\(file)\0".utf8))
        #expect(exec.record.completion == .returned(0))

        let open = try #require(all.first { $0.record.number == Self.openat && $0.record.captured[1]?.bytes == Array(file.utf8) })
        guard case .returned(let fd) = open.record.completion else { Issue.record("openat did not return"); return }
        #expect(fd >= 0)
        // fd numbers are reused (the loader read libc through the same fd): the read after the open.
        let read = try #require(all.first {
            $0.record.number == Self.read && $0.record.arguments[0] == UInt64(fd) && $0.bootNanoseconds > open.bootNanoseconds
        })
        #expect(read.record.completion == .returned(15))
        #expect(read.record.captured[1]?.bytes == Array("hello recorder\n".utf8))
        // The shell's `echo $$ > cgroup.procs` entered before the process joined the cgroup: only
        // its exit is recorded, marked so.
        let joining = try #require(all.first)
        #expect(joining.record.number == Self.write && joining.entryLost)
        let write = try #require(all.first { $0.record.number == Self.write && !$0.entryLost })
        #expect(write.record.captured[1]?.bytes == Array("hello recorder\n".utf8))
        let exit = try #require(all.last)
        #expect(exit.record.number == Self.exitGroup)
        #expect(exit.record.completion == .noReturn)
        // In time order, all from one process.
        #expect(all.map(\.bootNanoseconds) == all.map(\.bootNanoseconds).sorted())
        #expect(dump.overwritten == 0 && dump.corrupt == 0)
        #expect(Set(all.map(\.pid)).count <= 2) // the shell, which became cat
    }

    /// The programs remember tasks that are not recorded (the task cache); a process already running
    /// in a cgroup when that cgroup starts being recorded must be recorded from its next call on.
    @Test func aRunningProcessIsRecordedOnceItsCgroupIs() throws {
        let settings = settings()
        defer { try? FlightRecorder.stop(settings) }
        let cgroup = try TestCgroup()   // made before the start: not recorded until asked
        let go = "/tmp/sonde-go-\(getpid())"
        let marker = "recorded-after-start-\(getpid())"
        defer { unlink(go) }
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        // The shell itself (not a child) makes the calls before and after: a builtin test, a
        // builtin echo (its write carries the marker).
        shell.arguments = ["-c", "echo $$ > \(cgroup.cgroups.directory(of: cgroup.path))/cgroup.procs; " +
                           "while [ ! -e \(go) ]; do sleep 0.02; done; echo \(marker)"]
        shell.standardOutput = FileHandle.nullDevice
        let recorder = try FlightRecorder.start(settings, captures: Self.captures)
        try shell.run()
        defer { if shell.isRunning { shell.terminate() } }
        // Long enough for the shell to run many unrecorded calls under the recorder.
        usleep(300_000)
        try recorder.record(try cgroup.container)
        FileManager.default.createFile(atPath: go, contents: nil)
        shell.waitUntilExit()
        let all = calls(try recorder.dump(try cgroup.container))
        let write = try #require(all.first { $0.record.number == Self.write && $0.record.captured[1]?.bytes == Array("\(marker)\n".utf8) })
        #expect(write.pid == UInt32(shell.processIdentifier))
        #expect(write.record.completion == .returned(Int64(marker.utf8.count + 1)))
    }

    @Test func aCgroupMadeWhileRecordingIsRecordedFromItsFirstCall() throws {
        let settings = settings()
        defer { try? FlightRecorder.stop(settings) }
        let recorder = try FlightRecorder.start(settings, captures: Self.captures)
        let cgroup = try TestCgroup()  // made after the start: the kernel gives it a pooled ring
        #expect(try cgroup.run("exec /bin/true first-call-marker") == 0)
        // Only now does user space learn of it and claim it.
        try recorder.record(try cgroup.container)
        let all = calls(try recorder.dump(try cgroup.container))
        // The first call in the cgroup was the shell's write of its pid... all of it is there,
        // up to the exec of the marker and the end.
        let exec = try #require(all.first { $0.record.number == Self.execve })
        let argv = String(decoding: exec.record.captured[1]?.bytes ?? [], as: UTF8.self)
        #expect(argv.contains("first-call-marker"))
        #expect(all.last?.record.number == Self.exitGroup)
        #expect(try recorder.pendingRings().isEmpty)
    }

    @Test func anUnclaimedNewCgroupCanBeDiscarded() throws {
        let settings = settings()
        defer { try? FlightRecorder.stop(settings) }
        let recorder = try FlightRecorder.start(settings, captures: Self.captures)
        let cgroup = try TestCgroup()
        #expect(try recorder.takeNotices().contains { $0.kind == .cgroupCreated })
        let pending = try #require(try recorder.pendingRings().first { $0.cgroupID == (try cgroup.id) })
        try recorder.discardPending(slot: pending.slot)
        #expect(try recorder.pendingRings().allSatisfy { $0.slot != pending.slot })
    }

    @Test func withoutTheUnifiedHierarchyProcessesAreKeyedByMountNamespace() throws {
        var settings = settings()
        settings.keyByMountNamespace = true
        defer { try? FlightRecorder.stop(settings) }
        let recorder = try FlightRecorder.start(settings, captures: Self.captures)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-mntns-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "in its own namespace\n".write(toFile: directory + "/file", atomically: true, encoding: .utf8)

        // unshare(1) makes a mount namespace and execs the shell in it, keeping its pid.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments = ["--mount", "/bin/sh", "-c",
                             "while [ ! -e \(directory)/go ]; do sleep 0.02; done; exec /bin/cat \(directory)/file"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Wait until it runs in its own namespace, then record that namespace.
        var mntns: UInt64 = 0
        for _ in 0..<200 {
            mntns = (try? Namespaces.mountNamespaceID(pid: process.processIdentifier)) ?? 0
            if mntns != 0, mntns != (try Namespaces.mountNamespaceID(pid: getpid())) { break }
            usleep(10_000)
        }
        let container = Container(runtime: .cgroup, id: "mntns-\(mntns)", name: "mntns-test", cgroupPath: "/",
                                  cgroupID: 0, mountNamespaceID: mntns)
        try recorder.record(container)
        FileManager.default.createFile(atPath: directory + "/go", contents: nil)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)

        let all = calls(try recorder.dump(container))
        let open = try #require(all.first { $0.record.number == Self.openat && $0.record.captured[1]?.bytes == Array((directory + "/file").utf8) })
        #expect(open.pid == UInt32(process.processIdentifier))
        let read = try #require(all.first { $0.record.number == Self.read && $0.bootNanoseconds > open.bootNanoseconds })
        #expect(read.record.captured[1]?.bytes == Array("in its own namespace\n".utf8))
        // Only that namespace (the shell and its sleeps): nothing of this test process, which
        // runs in the host's namespace.
        #expect(!all.contains { $0.pid == UInt32(getpid()) })
    }

    @Test func keysThatShareAFilterEntryFallBackToTheHashAndMoveUp() throws {
        let settings = settings()
        defer { try? FlightRecorder.stop(settings) }
        let recorder = try FlightRecorder.start(settings, captures: Self.captures)
        // Two keys with the same low 16 bits: the first owns the entry, the second lives in the hash.
        let first: UInt64 = 0x7_0000_1234, second: UInt64 = 0x8_0000_1234
        let value = TargetValue(slot: 99, sizeClass: 0, state: TargetValue.recording, bufferCapture: 32)
        try recorder.setTarget(first, value)
        try recorder.setTarget(second, value)
        let index = FilterEntry.index(first)
        #expect(try recorder.filter.lookup(index, as: FilterEntry.self)?.key == first)
        #expect(try recorder.targets.lookup(second, as: TargetValue.self)?.slot == 99)
        try recorder.removeTarget(first)
        #expect(try recorder.filter.lookup(index, as: FilterEntry.self)?.key == second)
        try recorder.removeTarget(second)
        #expect(try recorder.filter.lookup(index, as: FilterEntry.self)?.key == 0)
        #expect(try recorder.targets.lookup(second, as: TargetValue.self) == nil)
    }

    @Test func eachContainerHasItsOwnRingSize() throws {
        let settings = settings() // 256 KiB per CPU by default here
        defer { try? FlightRecorder.stop(settings) }
        let recorder = try FlightRecorder.start(settings, captures: Self.captures)
        let small = try TestCgroup(), large = try TestCgroup()
        try recorder.record(try small.container, bytesPerCPU: 64 << 10)
        try recorder.record(try large.container, bytesPerCPU: 16 << 20)
        let registry = try recorder.store.load()
        // They were made after the start, so the kernel gave each a pooled ring (256 KiB) first:
        // that ring keeps their first calls, the next ones go to a ring of the size asked for.
        #expect(registry.rings(of: RecorderRegistry.key(try small.container)).map(\.sizeClass).sorted() == [0, 1])
        #expect(registry.rings(of: RecorderRegistry.key(try large.container)).map(\.sizeClass).sorted() == [1, 4])
        // Both record: one call in each.
        #expect(try small.run("exec /bin/true") == 0)
        #expect(try large.run("exec /bin/true") == 0)
        #expect(calls(try recorder.dump(try small.container)).contains { $0.record.number == Self.execve })
        #expect(calls(try recorder.dump(try large.container)).contains { $0.record.number == Self.execve })
    }

    @Test func stopRemovesEverythingItPinned() throws {
        let settings = settings()
        _ = try FlightRecorder.start(settings, captures: Self.captures)
        #expect(FlightRecorder.isRunning(settings))
        try FlightRecorder.stop(settings)
        #expect(!FlightRecorder.isRunning(settings))
        #expect(!Files.exists(settings.pinDirectory))
        #expect(!Files.exists(settings.stateDirectory))
        #expect(throws: SondeError.self) { try FlightRecorder.attach(settings) }
    }
}
