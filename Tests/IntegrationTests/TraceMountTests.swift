import Containers
import Events
import Foundation
import Gadgets
import LinuxKit
import Testing
import TestSupport

/// `sonde trace mount` against real runc containers.
@Suite(.serialized) struct TraceMountTests {
    /// Gives the container CAP_SYS_ADMIN (runc's default spec has none), so its mounts can succeed.
    func grantSysAdmin(_ c: RuncContainer) throws {
        let url = c.bundle.appendingPathComponent("config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var process = config["process"] as! [String: Any]
        var capabilities = process["capabilities"] as! [String: [String]]
        for set in ["bounding", "effective", "permitted"] { capabilities[set, default: []].append("CAP_SYS_ADMIN") }
        process["capabilities"] = capabilities
        config["process"] = process
        try JSONSerialization.data(withJSONObject: config).write(to: url)
    }

    @Test func mountsAndUnmountsShowSourceTargetTypeFlagsAndResult() async throws {
        let script = "while [ ! -e /tmp/go ]; do usleep 20000; done; mkdir -p /tmp/m; " +
            "mount -t tmpfs -o size=1m,mode=700 -o nosuid,nodev marker-src /tmp/m; umount /tmp/m; " +
            "mount -t nosuchfs marker-bad /tmp/m; exit 0"
        let admin = try RuncContainer(prefix: "sonde-it-mount", args: ["sh", "-c", script])
        defer { admin.remove() }
        try grantSysAdmin(admin)
        try admin.start()
        let plain = try RuncContainer(prefix: "sonde-it-mount-nocap", args: ["sh", "-c", script.replacingOccurrences(of: "marker", with: "nocap")])
        defer { plain.remove() }
        try plain.start()
        let gadget = try await RunningGadget.start(MountGadget(), selector: ContainerSelector(names: [admin.name, plain.name]))
        for c in [admin, plain] { FileManager.default.createFile(atPath: c.rootfs.appendingPathComponent("tmp/go").path, contents: nil) }

        let mounted = try await gadget.wait { $0.string("source") == "marker-src" }
        let unmounted = try await gadget.wait { $0.string("syscall") == "umount2" && $0.container?.name == admin.name }
        let badType = try await gadget.wait { $0.string("source") == "marker-bad" }
        let denied = try await gadget.wait { $0.string("source") == "nocap-src" }
        let stats = try await gadget.stop()

        let m = try #require(mounted, "\(gadget.events.get().map(\.fields))")
        #expect(m.container?.name == admin.name)
        #expect(m.process.comm == "mount")
        #expect(m.string("syscall") == "mount")
        #expect(m.string("target") == "/tmp/m")
        #expect(m.string("fstype") == "tmpfs")
        #expect(m.string("flags")?.contains("MS_NOSUID") == true && m.string("flags")?.contains("MS_NODEV") == true,
                "\(m.string("flags") ?? "")")
        #expect(m.string("data")?.contains("size=1m") == true)
        #expect(m.field("ret") == .result(0))

        let u = try #require(unmounted)
        #expect(u.string("target") == "/tmp/m")
        #expect(u.field("ret") == .result(0))
        #expect(u.string("source") == "")

        #expect(try #require(badType).field("ret") == .result(-Int64(ENODEV)))
        let d = try #require(denied)
        #expect(d.container?.name == plain.name)
        #expect(d.field("ret") == .result(-Int64(EPERM)))
        #expect(stats.lost == 0)
    }
}
