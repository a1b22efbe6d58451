import Containers
import Events
import Foundation
import Gadgets
import LinuxKit
import Testing
import TestSupport

/// `sonde trace bind` against a real runc container.
@Suite(.serialized) struct TraceBindTests {
    @Test func bindsShowTheAddressPortProtocolAndResult() async throws {
        // A listener on 8080, then a second one on the same port: EADDRINUSE.
        let c = try RuncContainer(prefix: "sonde-it-bind", args: [
            "sh", "-c", "while [ ! -e /tmp/go ]; do usleep 20000; done; nc -l -p 8080 & usleep 300000; nc -l -p 8080; kill $!; exit 0",
        ])
        defer { c.remove() }
        try c.start()
        let gadget = try await RunningGadget.start(BindGadget(), selector: ContainerSelector(names: [c.name]))
        FileManager.default.createFile(atPath: c.rootfs.appendingPathComponent("tmp/go").path, contents: nil)

        let ok = try await gadget.wait { $0.field("port") == .uint(8080) && $0.field("ret") == .result(0) }
        let inUse = try await gadget.wait { $0.field("port") == .uint(8080) && $0.field("ret") == .result(-Int64(EADDRINUSE)) }
        let stats = try await gadget.stop()

        let listener = try #require(ok, "no successful bind: \(gadget.events.get().map(\.fields))")
        #expect(listener.container?.name == c.name)
        #expect(listener.process.comm == "nc")
        #expect(listener.string("proto") == "TCP")
        #expect(listener.string("type") == "SOCK_STREAM")
        // busybox binds the wildcard address of whichever family it prefers.
        #expect((listener.string("family") == "AF_INET" && listener.string("address") == "0.0.0.0")
            || (listener.string("family") == "AF_INET6" && listener.string("address") == "::"),
            "\(listener.fields)")
        if case .int(let fd)? = listener.field("fd") { #expect(fd >= 0) } else { Issue.record("no fd") }

        let second = try #require(inUse)
        #expect(second.container?.name == c.name)
        #expect(second.process.pid != listener.process.pid)
        #expect(stats.lost == 0)
    }
}
