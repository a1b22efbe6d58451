import BPFKit
import Foundation
import Testing
import TestSupport

/// The node's one syscall dispatcher: the recorder and a syscall gadget running at the same time
/// share it, one of them killed with SIGKILL takes nothing from the other, and the last one to
/// leave detaches it.
@Suite(.serialized) struct DispatcherTests {
    /// Once the workload's last calls (its `failing` rmdirs) are in its recording: the recording
    /// holds every one of them and exactly `ok` getpgid calls.
    func expectRecordedRun(of workload: RuncContainer, ok: Int, failing: Int, pins: [String]) async throws {
        let recorded = try await eventually(timeout: .seconds(30)) {
            let dump = (try? run(sondeExecutable, ["record", "dump", "-c", workload.name] + pins))?.stdout ?? ""
            return dump.components(separatedBy: "rmdir(\"/no-such-directory\") = -1 ENOENT").count - 1 == failing
        }
        let dump = try run(sondeExecutable, ["record", "dump", "-c", workload.name] + pins)
        #expect(recorded, "status \(dump.status): \(dump.stdout.suffix(2000)) \(dump.stderr)")
        #expect(dump.stdout.components(separatedBy: "getpgid(0) = ").count - 1 == ok)
    }

    @Test func consumersShareOneDispatcherAndOneKilledTakesNothingFromTheOthers() async throws {
        // Consumers left by others (a daemon's pinned recorder) stay; this test's come and go.
        let before = SyscallDispatcher.consumers().map(\.name).sorted()
        func added() -> [String] {
            var names = SyscallDispatcher.consumers().map(\.name).sorted()
            for name in before { if let index = names.firstIndex(of: name) { names.remove(at: index) } }
            return names
        }
        let workload = try SyscallWorkload.container(prefix: "sonde-it-dispatch", ok: 700, failing: 30)
        defer { workload.remove() }
        try workload.start()
        let unique = "sonde-it-dispatch-\(getpid())"
        let pins = ["--pin-directory", "/sys/fs/bpf/" + unique, "--state-directory", "/run/" + unique]
        defer { _ = try? run(sondeExecutable, ["record", "stop"] + pins) }

        let recorder = try BackgroundCommand(sondeExecutable, ["record", "start", "-c", workload.name, "--timeout", "60"] + pins)
        defer { recorder.stop(signal: SIGKILL) }
        let top = try BackgroundCommand(sondeExecutable, ["top", "syscalls", "-c", workload.name, "-o", "json",
                                                          "--interval", "0.5", "--timeout", "60"])
        defer { top.stop(signal: SIGKILL) }
        // Both joined: the waiting loop's own calls show in the metrics, and the recorder holds a slot.
        let joined = try await eventually(timeout: .seconds(30)) {
            top.stdout.contains("\"access\"") && added() == ["recorder", "syscalls"]
        }
        #expect(joined, "consumers: \(SyscallDispatcher.consumers()); top: \(top.stderr); record: \(recorder.stderr)")
        // One program pair on the syscall tracepoints: the consumers' own programs are tail-called,
        // not attached.
        let attached = try attachedPrograms()
        #expect(attached.filter { $0 == "sonde_sys_enter" }.count == 1, "\(attached)")
        #expect(attached.filter { $0 == "sonde_sys_exit" }.count == 1, "\(attached)")
        #expect(!attached.contains { $0.hasPrefix("sonde_rec_sys") || ["sonde_sysmet_enter", "sonde_sysmet_exit"].contains($0) }, "\(attached)")
        #expect(!FileManager.default.fileExists(atPath: "/sys/fs/bpf/\(unique)/link_sonde_rec_sys_enter"))

        // The metrics consumer dies without leaving: the recorder still records every call.
        top.stop(signal: SIGKILL)
        _ = top.wait(timeout: 30)
        SyscallWorkload.go(workload)
        try await expectRecordedRun(of: workload, ok: 700, failing: 30, pins: pins)

        // The next consumer to join evicts the dead one's slot; the recorder keeps its own.
        let probe = try SyscallDispatcher.join(name: "probe", owner: .current)
        #expect(added() == ["probe", "recorder"])
        try probe.leave()
        #expect(added() == ["recorder"])

        // The last consumer leaves: nothing of sonde stays on the syscall tracepoints.
        recorder.stop(signal: SIGTERM)
        _ = recorder.wait(timeout: 30)
        let stopped = try run(sondeExecutable, ["record", "stop"] + pins)
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(added().isEmpty)
        if before.isEmpty {
            #expect(!SyscallDispatcher.isRunning())
            // Links are freed by the kernel shortly after their pins go.
            let detached = try await eventually(timeout: .seconds(20)) {
                (try? attachedPrograms())?.contains { $0.hasPrefix("sonde_sys_") } == false
            }
            #expect(detached, "\((try? attachedPrograms()) ?? [])")
        }
    }

    /// The daemon's metrics without latency have no program at entry, so the dispatcher caches a
    /// metered task's entries as wanted by nobody. A recorder that starts later for the same
    /// container must still get every entry, with its arguments, from then on.
    @Test func entriesCachedAsUnwantedReachARecorderThatJoinsLater() async throws {
        let workload = try SyscallWorkload.container(prefix: "sonde-it-entries", ok: 200, failing: 20)
        let daemon = try DaemonProcess(recording: [], config: ["metrics": ["address": "127.0.0.1:0"], "record": ["enabled": false]])
        defer { workload.remove(); daemon.remove() }
        try await daemon.start()
        let address = try await DaemonMetricsTests.endpoint(daemon)
        try workload.start()
        let metered = try await eventually(timeout: .seconds(30)) {
            ((try? DaemonMetricsTests.scrape(address)) ?? "").contains("container=\"\(workload.name)\"")
        }
        #expect(metered, "\(daemon.log)")

        let unique = "sonde-it-entries-\(getpid())"
        let pins = ["--pin-directory", "/sys/fs/bpf/" + unique, "--state-directory", "/run/" + unique]
        defer { _ = try? run(sondeExecutable, ["record", "stop"] + pins) }
        let recorder = try BackgroundCommand(sondeExecutable, ["record", "start", "-c", workload.name, "--timeout", "60"] + pins)
        defer { recorder.stop(signal: SIGKILL) }
        // The waiting loop's entries carry the path: an exit recorded without its entry would not.
        let entries = try await eventually(timeout: .seconds(30)) {
            ((try? run(sondeExecutable, ["record", "dump", "-c", workload.name] + pins))?.stdout ?? "")
                .contains("access(\"/go\", F_OK) = -1 ENOENT")
        }
        #expect(entries, "\(recorder.stderr)")
        SyscallWorkload.go(workload)
        try await expectRecordedRun(of: workload, ok: 200, failing: 20, pins: pins)
        recorder.stop(signal: SIGTERM)
        _ = recorder.wait(timeout: 30)
    }

    /// The dispatcher's pins removed by hand while a recording is pinned: the recorder's programs
    /// read that dispatcher's maps, so syscalls are no longer recorded. Every command that joins the
    /// recorder says so, what was recorded still dumps, and stop then start records again.
    @Test func aRecordingWhoseDispatcherWasUnpinnedSaysSoAndStillDumps() async throws {
        // Removing the dispatcher's pins must not take anyone else's consumer away. A consumer an
        // earlier test left dead (its pin directory removed) is evicted by the next join.
        try SyscallDispatcher.join(name: "probe", owner: .current).leave()
        try #require(SyscallDispatcher.consumers().isEmpty, "other consumers hold the dispatcher: \(SyscallDispatcher.consumers())")
        let workload = try SyscallWorkload.container(prefix: "sonde-it-redispatch", ok: 40, failing: 7)
        defer { workload.remove() }
        try workload.start()
        let unique = "sonde-it-redispatch-\(getpid())"
        let pins = ["--pin-directory", "/sys/fs/bpf/" + unique, "--state-directory", "/run/" + unique]
        defer { _ = try? run(sondeExecutable, ["record", "stop"] + pins) }
        let started = try run(sondeExecutable, ["record", "start", "-c", workload.name, "--timeout", "1"] + pins)
        #expect(started.status == 0, "\(started.stderr)")
        let before = try run(sondeExecutable, ["record", "dump", "-c", workload.name] + pins)
        #expect(before.status == 0 && before.stdout.contains("access("), "\(before.stdout.suffix(500)) \(before.stderr)")

        BPFObject.removePins(in: SyscallDispatcher.Location().pinDirectory)
        let listed = try run(sondeExecutable, ["record", "list"] + pins)
        #expect(listed.status == 0 && listed.stdout.contains(workload.name), "\(listed.stdout) \(listed.stderr)")
        #expect(listed.stderr.contains("the syscall dispatcher this recording was started with is gone"), "\(listed.stderr)")
        // Joining did not leave a dispatcher nobody uses attached.
        #expect(!SyscallDispatcher.isRunning())
        let after = try run(sondeExecutable, ["record", "dump", "-c", workload.name] + pins)
        #expect(after.status == 0 && after.stdout.contains("access("), "\(after.stderr)")

        #expect(try run(sondeExecutable, ["record", "stop"] + pins).status == 0)
        let again = try run(sondeExecutable, ["record", "start", "-c", workload.name, "--timeout", "1"] + pins)
        #expect(again.status == 0 && !again.stderr.contains("is gone"), "\(again.stderr)")
        SyscallWorkload.go(workload)
        let recorded = try await eventually(timeout: .seconds(30)) {
            let dump = (try? run(sondeExecutable, ["record", "dump", "-c", workload.name] + pins))?.stdout ?? ""
            return dump.components(separatedBy: "rmdir(\"/no-such-directory\") = -1 ENOENT").count - 1 == 7
        }
        #expect(recorded)
    }
}
