import Containers
import Events
import Foundation
import Gadgets
import LinuxKit
import Testing
import TestSupport

/// `sonde trace oomkill` against a real runc container that allocates past its memory limit
/// (cgroups here are hybrid: the limit is enforced by the v1 memory controller).
@Suite(.serialized) struct TraceOOMKillTests {
    func limitMemory(_ c: RuncContainer, bytes: Int) throws {
        let url = c.bundle.appendingPathComponent("config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var linux = config["linux"] as! [String: Any]
        var resources = linux["resources"] as? [String: Any] ?? [:]
        resources["memory"] = ["limit": bytes]
        linux["resources"] = resources
        config["linux"] = linux
        try JSONSerialization.data(withJSONObject: config).write(to: url)
    }

    @Test func aContainerPastItsLimitShowsTheVictimItsPagesAndTheTrigger() async throws {
        // The shell doubles a string until the memory cgroup's limit (32 MiB) is reached.
        let c = try RuncContainer(prefix: "sonde-it-oom", args: [
            "sh", "-c", "while [ ! -e /tmp/go ]; do usleep 20000; done; x=aaaaaaaa; while true; do x=$x$x; done",
        ])
        defer { c.remove() }
        try limitMemory(c, bytes: 32 << 20)
        try c.start()
        let gadget = try await RunningGadget.start(OOMKillGadget(), selector: ContainerSelector(names: [c.name]))
        FileManager.default.createFile(atPath: c.rootfs.appendingPathComponent("tmp/go").path, contents: nil)

        let killed = try await gadget.wait(timeout: .seconds(60)) { _ in true }
        let stats = try await gadget.stop()

        let event = try #require(killed, "no OOM kill was reported")
        #expect(event.container?.name == c.name)
        #expect(event.string("victim_comm") == "sh")
        #expect(event.process.comm == "sh") // the shell's own allocation triggered it
        if case .int(let pid)? = event.field("victim_pid") { #expect(pid == Int64(event.process.pid)) }
        #expect(event.field("victim_cgroup_id") == .uint(event.cgroupID))
        #expect(event.string("victim_container") == c.name)
        // Most of the 32 MiB limit is the victim's anonymous memory (4 KiB pages).
        if case .uint(let pages)? = event.field("anon_pages") {
            #expect(pages > 2_000 && pages <= 8_192, "\(pages) anonymous pages")
        } else {
            Issue.record("no anon_pages")
        }
        if case .uint(let total)? = event.field("total_vm_pages") { #expect(total > 2_000) }
        #expect(stats.lost == 0)
    }
}
