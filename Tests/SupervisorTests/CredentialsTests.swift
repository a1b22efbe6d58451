import CSonde
import Foundation
import LinuxKit
@testable import Supervisor
import XCTest

/// ThreadCredentials on a real thread: the caller's fs ids, umask and capabilities hold inside the
/// body and are the agent's again after it. Needs root (as the agent does).
final class CredentialsTests: XCTestCase {
    struct Seen: Sendable { var fsuidInside: UInt32 = 0, fsgidInside: UInt32 = 0, umaskInside: UInt32 = 0
        var effectiveInside: UInt64 = 0, effectiveAfter: UInt64 = 0, effectiveBefore: UInt64 = 0, fsuidAfter: UInt32 = 99 }

    static func status() -> TargetStatus {
        TargetStatus(text: (try? String(contentsOfFile: "/proc/thread-self/status", encoding: .utf8)) ?? "")
    }

    func onOwnThread(_ body: @escaping @Sendable () -> Seen) -> Seen {
        let result = Locked(Seen())
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            // As a session thread does: its own fs_struct, so the umask is the thread's.
            _ = sonde_unshare(Int32(SONDE_CLONE_FS))
            result.set(body())
            done.signal()
        }
        thread.start()
        done.wait()
        return result.get()
    }

    static func effective() -> UInt64 {
        var e: UInt64 = 0, p: UInt64 = 0, i: UInt64 = 0
        _ = sonde_get_capabilities(&e, &p, &i)
        return e
    }

    func testACallerInAUserNamespaceActsWithItsHostIDsAndGetsOnlyTheGrantedCapability() throws {
        guard geteuid() == 0 else { return XCTFail("needs root: run sudo scripts/test.sh") }
        let seen = onOwnThread {
            var caller = TargetStatus()
            caller.fsuid = 100_000; caller.fsgid = 100_001; caller.umask = 0o027; caller.capEff = ~0
            let credentials = ThreadCredentials()
            var seen = Seen()
            seen.effectiveBefore = CredentialsTests.effective()
            credentials.act(as: caller, granting: ThreadCredentials.mknodCapability) {
                let inside = CredentialsTests.status()
                seen.fsuidInside = inside.fsuid
                seen.fsgidInside = inside.fsgid
                seen.umaskInside = inside.umask
                seen.effectiveInside = CredentialsTests.effective()
            }
            seen.fsuidAfter = CredentialsTests.status().fsuid
            seen.effectiveAfter = CredentialsTests.effective()
            return seen
        }
        XCTAssertEqual(seen.fsuidInside, 100_000)
        XCTAssertEqual(seen.fsgidInside, 100_001)
        XCTAssertEqual(seen.umaskInside, 0o027)
        // A non-zero fsuid leaves no filesystem capability but the granted CAP_MKNOD (bit 27); DAC_OVERRIDE (bit 1) is gone.
        XCTAssertEqual(seen.effectiveInside & ThreadCredentials.filesystemCapabilities, ThreadCredentials.mknodCapability)
        XCTAssertEqual(seen.fsuidAfter, 0)
        XCTAssertEqual(seen.effectiveAfter, seen.effectiveBefore)
    }

    func testARootCallerWithoutDACOverrideKeepsItsOwnCapabilitiesOnly() throws {
        guard geteuid() == 0 else { return XCTFail("needs root: run sudo scripts/test.sh") }
        let seen = onOwnThread {
            var caller = TargetStatus()
            caller.umask = 0o022
            // runc's default set (KILL, NET_BIND_SERVICE, AUDIT_WRITE) plus CHOWN: no DAC_OVERRIDE.
            caller.capEff = 1 << 0 | 1 << 5 | 1 << 10 | 1 << 29
            let credentials = ThreadCredentials()
            var seen = Seen()
            seen.effectiveBefore = CredentialsTests.effective()
            credentials.act(as: caller) { seen.effectiveInside = CredentialsTests.effective() }
            seen.effectiveAfter = CredentialsTests.effective()
            return seen
        }
        XCTAssertEqual(seen.effectiveInside & (1 << 1), 0, "CAP_DAC_OVERRIDE dropped")
        XCTAssertEqual(seen.effectiveInside & (1 << 0), 1, "CAP_CHOWN kept")
        XCTAssertEqual(seen.effectiveInside & (1 << 21), seen.effectiveBefore & (1 << 21), "CAP_SYS_ADMIN untouched")
        XCTAssertEqual(seen.effectiveAfter, seen.effectiveBefore)
    }
}

final class Locked<T>: @unchecked Sendable {
    private var value: T
    private let lock = NSLock()
    init(_ value: T) { self.value = value }
    func get() -> T { lock.withLock { value } }
    func set(_ new: T) { lock.withLock { value = new } }
}
