import BPFKit
import BPFObjects
import Testing
@testable import Gadgets

@Suite struct BindGadgetTests {
    @Test func decodesIPv4IPv6AndUnixAddresses() {
        let v4 = BindGadget.socketAddress([2, 0, 0x1F, 0x90, 10, 0, 0, 1] + [UInt8](repeating: 0, count: 8))
        #expect(v4.family == "AF_INET" && v4.address == "10.0.0.1" && v4.port == 8080)
        var v6: [UInt8] = [10, 0, 0x01, 0xBB, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 16) + [0, 0, 0, 0]
        v6[8] = 0xFE; v6[9] = 0x80; v6[23] = 1
        let six = BindGadget.socketAddress(v6)
        #expect(six.family == "AF_INET6" && six.address == "fe80::1" && six.port == 443)
        let path = BindGadget.socketAddress([1, 0] + Array("/run/x.sock".utf8) + [0, 0x41])
        #expect(path.family == "AF_UNIX" && path.address == "/run/x.sock")
        let abstract = BindGadget.socketAddress([1, 0, 0] + Array("name".utf8))
        #expect(abstract.address == "@name")
        // Too short for its family: no address, never a crash.
        #expect(BindGadget.socketAddress([2, 0, 1]).address == "")
        #expect(BindGadget.socketAddress([]).family == "")
    }
}
