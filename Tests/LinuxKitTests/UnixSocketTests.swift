import Foundation
import Glibc
import Testing
import TestSupport
@testable import LinuxKit

@Suite struct UnixSocketAddressTests {
    @Test func pathsAndAbstractNamesHaveTheirLengths() throws {
        let offset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
        #expect(try UnixSocketAddress("/run/sonde/sonde.sock").length == socklen_t(MemoryLayout<sockaddr_un>.size))
        // An abstract name counts exactly its bytes, the leading NUL included, and no terminator.
        #expect(try UnixSocketAddress("@sonde").length == socklen_t(offset + 6))
        let longest = "/" + String(repeating: "a", count: 106)
        #expect(try UnixSocketAddress(longest).path == longest)
        for bad in ["", "@", "/" + String(repeating: "a", count: 107), "/tmp/a\u{0}b"] {
            #expect(throws: SondeError.self, "\(bad.debugDescription)") { try UnixSocketAddress(bad) }
        }
    }

    @Test func aStaleSocketFileDoesNotAnswerAndAListenerDoes() throws {
        let path = NSTemporaryDirectory() + "sonde-answers-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        defer { unlink(path) }
        let address = try UnixSocketAddress(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #expect(address.withSockaddr { bind(fd, $0, $1) } == 0)
        #expect(!address.answers(), "bound, not listening")
        #expect(listen(fd, 1) == 0)
        #expect(address.answers())
        close(fd)
        #expect(!address.answers(), "the file stays, nobody listens")
    }
}

@Suite struct ServiceManagerTests {
    @Test(arguments: ["path", "abstract"])
    func notifySendsOneDatagramToNotifySocket(kind: String) throws {
        let name = "sonde-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let receiver = try DatagramSocket(kind == "path" ? NSTemporaryDirectory() + name + ".sock" : "@" + name)
        defer { receiver.remove() }
        #expect(ServiceManager.notify("READY=1\nSTATUS=serving", environment: ["NOTIFY_SOCKET": receiver.path]))
        #expect(receiver.receive() == "READY=1\nSTATUS=serving")
    }

    @Test func withoutNotifySocketNothingIsSent() {
        #expect(!ServiceManager.notify("READY=1", environment: [:]))
        #expect(!ServiceManager.notify("READY=1", environment: ["NOTIFY_SOCKET": "relative/notify.sock"]))
        #expect(!ServiceManager.notify("READY=1", environment: ["NOTIFY_SOCKET": "/nonexistent/sonde/notify.sock"]))
    }
}
