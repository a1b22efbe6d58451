import Containers
import Events
import Foundation
import Gadgets
import LinuxKit
import Testing
import TestSupport

/// `sonde trace signal` against a real runc container.
@Suite(.serialized) struct TraceSignalTests {
    @Test func signalsShowSenderTargetAndResultAndFailedKillsTheirError() async throws {
        let c = try RuncContainer(prefix: "sonde-it-signal", args: [
            "sh", "-c", "trap 'touch /tmp/usr2' USR2; while [ ! -e /tmp/go ]; do usleep 20000; done; " +
                "sleep 100 & usleep 100000; kill -TERM $!; kill -USR1 4000000; " +
                "while [ ! -e /tmp/usr2 ]; do usleep 20000; done; exit 0",
        ])
        defer { c.remove() }
        try c.start()
        let gadget = try await RunningGadget.start(SignalGadget(), selector: ContainerSelector(names: [c.name]))
        FileManager.default.createFile(atPath: c.rootfs.appendingPathComponent("tmp/go").path, contents: nil)
        // From the host into the container: runc sends it, the target is the container's shell.
        let sent = try run(RuncContainer.runc, ["kill", c.name, "USR2"])
        #expect(sent.status == 0, "\(sent.stderr)")

        let term = try await gadget.wait { $0.string("signal") == "SIGTERM" && $0.string("target_comm") == "sleep" }
        let failed = try await gadget.wait { $0.string("signal") == "SIGUSR1" }
        // The shell reaps sleep: the kernel sends it SIGCHLD on sleep's behalf.
        let child = try await gadget.wait { $0.string("signal") == "SIGCHLD" && $0.process.comm == "sleep" }
        let fromHost = try await gadget.wait { $0.string("signal") == "SIGUSR2" }
        let stats = try await gadget.stop()

        let t = try #require(term, "\(gadget.events.get().map(\.fields))")
        #expect(t.container?.name == c.name)
        #expect(t.process.comm == "sh")
        #expect(t.string("result") == "delivered")
        #expect(t.string("code") == "SI_USER")
        #expect(t.field("group") == .bool(true))
        if case .int(let pid)? = t.field("target_pid") { #expect(pid > 0 && pid != Int64(t.process.pid)) }
        #expect(t.field("target_cgroup_id") == .uint(t.cgroupID))
        #expect(t.string("target_container") == c.name)

        let h = try #require(fromHost, "a signal from the host to the container was not shown")
        #expect(h.container == nil) // the sender, runc, is a host process
        #expect(h.string("target_container") == c.name)
        #expect(h.string("target_comm") == "sh")
        #expect(h.string("result") == "delivered")

        let f = try #require(failed)
        #expect(f.container?.name == c.name)
        #expect(f.string("result") == "ESRCH")
        #expect(f.field("target_pid") == .int(4_000_000))
        #expect(f.string("target_container") == "")

        let chld = try #require(child)
        #expect(chld.container?.name == c.name)
        #expect(chld.string("code") == "CLD_KILLED")
        #expect(chld.string("target_comm") == "sh")
        #expect(stats.lost == 0)
    }
}
