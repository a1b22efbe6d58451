import CSonde
import Foundation
import LinuxKit
@testable import Supervisor
import XCTest
import TestSupport

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

    /// Its capabilities are held in its own user namespace: they give the agent nothing; only the
    /// capability the policy grants is effective.
    func testACallerInAUserNamespaceActsWithItsHostIDsAndGetsOnlyTheGrantedCapability() throws {
        try requireRoot()
        let seen = onOwnThread {
            var caller = TargetStatus()
            caller.fsuid = 100_000; caller.fsgid = 100_001; caller.umask = 0o027; caller.capEff = ~0
            let credentials = ThreadCredentials()
            var seen = Seen()
            seen.effectiveBefore = CredentialsTests.effective()
            credentials.act(as: caller, capabilities: 0, granting: 1 << 27) {
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
        // Nothing but the granted CAP_MKNOD (bit 27): no DAC_OVERRIDE, no CAP_SYS_ADMIN of the agent's.
        XCTAssertEqual(seen.effectiveInside, 1 << 27)
        XCTAssertEqual(seen.fsuidAfter, 0)
        XCTAssertEqual(seen.effectiveAfter, seen.effectiveBefore)
    }

    /// Attack 5 of the security issue: an emulated call ran with the agent's CAP_SYS_ADMIN and
    /// CAP_SETFCAP. Now the thread holds the caller's own capabilities and nothing else.
    func testARootCallerWithoutDACOverrideKeepsItsOwnCapabilitiesOnly() throws {
        try requireRoot()
        let seen = onOwnThread {
            var caller = TargetStatus()
            caller.umask = 0o022
            // runc's default set (KILL, NET_BIND_SERVICE, AUDIT_WRITE) plus CHOWN: no DAC_OVERRIDE.
            caller.capEff = 1 << 0 | 1 << 5 | 1 << 10 | 1 << 29
            let credentials = ThreadCredentials()
            var seen = Seen()
            seen.effectiveBefore = CredentialsTests.effective()
            credentials.act(as: caller, capabilities: caller.capEff) { seen.effectiveInside = CredentialsTests.effective() }
            seen.effectiveAfter = CredentialsTests.effective()
            return seen
        }
        XCTAssertEqual(seen.effectiveInside, 1 << 0 | 1 << 5 | 1 << 10 | 1 << 29, "exactly the caller's own")
        XCTAssertNotEqual(seen.effectiveBefore & (1 << 21), 0, "the agent itself holds CAP_SYS_ADMIN")
        XCTAssertEqual(seen.effectiveAfter, seen.effectiveBefore)
    }

    /// Attack 11: the call was made with the agent's supplementary groups. Inside, the thread holds
    /// the caller's; the rest of the process keeps its own.
    func testTheCallersSupplementaryGroupsAndNoneOfTheAgents() throws {
        try requireRoot()
        let processGroups = CredentialsTests.status().groups
        let inside = Locked<[UInt32]>([])
        _ = onOwnThread {
            var caller = TargetStatus()
            caller.fsuid = 1000; caller.fsgid = 1000; caller.groups = [4242, 4343]
            ThreadCredentials().act(as: caller, capabilities: 0) { inside.set(CredentialsTests.status().groups) }
            return Seen()
        }
        XCTAssertEqual(inside.get(), [4242, 4343])
        XCTAssertEqual(CredentialsTests.status().groups, processGroups, "other threads keep their groups")
    }
}
