import Containers
import Events
import Foundation
import Gadgets
import LinuxKit
import Testing
import TestSupport

/// `sonde trace capabilities` against a real runc container with runc's default capability set:
/// CAP_AUDIT_WRITE, CAP_KILL and CAP_NET_BIND_SERVICE only.
@Suite(.serialized) struct TraceCapabilitiesTests {
    @Test func checksShowTheCapabilityVerdictAndSyscall() async throws {
        let c = try RuncContainer(prefix: "sonde-it-caps", args: [
            "sh", "-c", "while [ ! -e /tmp/go ]; do usleep 20000; done; nc -l -p 80 & usleep 200000; kill $!; " +
                "touch /tmp/f; chown 1:1 /tmp/f; mkdir -p /tmp/m; mount -t tmpfs none /tmp/m; exit 0",
        ])
        defer { c.remove() }
        try c.start()
        let gadget = try await RunningGadget.start(CapabilitiesGadget(), selector: ContainerSelector(names: [c.name]))
        FileManager.default.createFile(atPath: c.rootfs.appendingPathComponent("tmp/go").path, contents: nil)

        let bind = try await gadget.wait { $0.string("cap") == "CAP_NET_BIND_SERVICE" && $0.process.comm == "nc" }
        let chown = try await gadget.wait { $0.string("cap") == "CAP_CHOWN" && $0.process.comm == "chown" }
        let mount = try await gadget.wait { $0.string("cap") == "CAP_SYS_ADMIN" && $0.string("syscall") == "mount" }
        let stats = try await gadget.stop()

        let granted = try #require(bind, "\(gadget.events.get().map(\.fields))")
        #expect(granted.container?.name == c.name)
        #expect(granted.string("verdict") == "allow")
        #expect(granted.field("ret") == .result(0))
        #expect(granted.string("syscall") == "bind")
        #expect(granted.field("init_userns") == .bool(true)) // runc's default spec has no user namespace

        let chowned = try #require(chown)
        #expect(chowned.string("verdict") == "deny")
        #expect(chowned.string("syscall")?.contains("chown") == true, "\(chowned.string("syscall") ?? "")")

        let refused = try #require(mount)
        #expect(refused.container?.name == c.name)
        #expect(refused.process.comm == "mount")
        #expect(refused.string("verdict") == "deny")
        #expect(refused.field("ret") == .result(-Int64(EPERM)))
        for event in gadget.events.get() { #expect(event.container?.name == c.name) }
        #expect(stats.lost == 0)
    }
}
