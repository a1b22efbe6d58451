import Foundation
import LinuxKit
@testable import Supervisor
import XCTest

final class PolicyTests: XCTestCase {
    func parse(_ text: String) throws -> Policy { try Policy.parse(Data(text.utf8)) }

    func assertRejected(_ text: String, mentions expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(text), file: file, line: line) { error in
            let message = (error as? SondeError)?.description ?? "\(error)"
            XCTAssertTrue(message.contains(expected), "'\(message)' does not mention '\(expected)'", file: file, line: line)
        }
    }

    func testFullPolicy() throws {
        let policy = try parse("""
        { "default": "kill", "logOnly": false,
          "containers": [ { "name": "dev", "match": { "metadata": "m", "id": "web-*", "annotations": { "a": "b" } },
            "mknod": [ { "type": "char", "major": 1, "minor": 3 }, { "type": "char", "major": 0, "minor": 0 }, { "type": "fifo" } ],
            "mount": [ { "fstype": "tmpfs", "flags": ["nosuid"] }, { "fstype": "sysfs", "require": ["rdonly"] },
                       { "fstype": "bind", "flags": ["rec"] } ],
            "setxattr": [ "trusted.overlay.opaque", "user.*" ], "default": "EACCES" } ] }
        """)
        XCTAssertEqual(policy.defaultAction, .kill)
        XCTAssertEqual(policy.entries.count, 1)
        let entry = policy.entries[0]
        XCTAssertEqual(entry.name, "dev")
        XCTAssertEqual(entry.defaultAction, .errno(Errno(rawValue: EACCES)))
        XCTAssertEqual(entry.mknod, [.init(type: .char, major: 1, minor: 3), .init(type: .char, major: 0, minor: 0), .init(type: .fifo, major: nil, minor: nil)])
        XCTAssertEqual(entry.mount[1].requiredFlags, .rdonly)
        XCTAssertEqual(entry.mount[1].allowedFlags, .rdonly)
        XCTAssertEqual(policy.interceptedSyscalls, ["mknod", "mknodat", "mount", "setxattr", "lsetxattr", "fsetxattr"])

        XCTAssertTrue(entry.match.matches(ContainerIdentity(id: "web-1", metadata: "m", annotations: ["a": "b", "c": "d"])))
        XCTAssertFalse(entry.match.matches(ContainerIdentity(id: "db-1", metadata: "m", annotations: ["a": "b"])))
        XCTAssertFalse(entry.match.matches(ContainerIdentity(id: "web-1", metadata: "other", annotations: ["a": "b"])))
        XCTAssertFalse(entry.match.matches(ContainerIdentity(id: "web-1", metadata: "m", annotations: ["a": "x"])))
    }

    func testErrorsNameTheBadKey() {
        assertRejected("{", mentions: "not valid JSON")
        assertRejected("[]", mentions: "top level: must be a JSON object")
        assertRejected(#"{"defualt": "EPERM"}"#, mentions: "defualt: unknown key")
        assertRejected(#"{"default": "EWHAT"}"#, mentions: "default: 'EWHAT' is neither")
        assertRejected(#"{"logOnly": 1}"#, mentions: "logOnly: must be true or false")
        assertRejected(#"{"containers": [{"mknod": [{"type": "char", "major": 1}]}]}"#, mentions: "containers[0].mknod[0].major: a char device rule needs both")
        assertRejected(#"{"containers": [{"mknod": [{"type": "pipe"}]}]}"#, mentions: "containers[0].mknod[0].type: unknown device type 'pipe'")
        assertRejected(#"{"containers": [{"mknod": [{"type": "char", "major": -1, "minor": 0}]}]}"#, mentions: "containers[0].mknod[0].major: must be an integer")
        assertRejected(#"{"containers": [{"mknod": [{"type": "char", "major": 1.5, "minor": 0}]}]}"#, mentions: "major: must be an integer")
        assertRejected(#"{"containers": [{"mount": [{"flags": ["nosuid"]}]}]}"#, mentions: "containers[0].mount[0].fstype: missing")
        assertRejected(#"{"containers": [{"mount": [{"fstype": "tmpfs", "flags": ["nosiud"]}]}]}"#, mentions: "containers[0].mount[0].flags[0]: unknown mount flag")
        assertRejected(#"{"containers": [{"mount": [{"fstype": "tmpfs", "flags": ["remount"]}]}]}"#, mentions: "'remount' cannot be allowed")
        assertRejected(#"{"containers": [{"mount": [{"fstype": "tmpfs", "flags": ["bind"]}]}]}"#, mentions: "bind/rec belong to rules")
        assertRejected(#"{"containers": [{"setxattr": [""]}]}"#, mentions: "containers[0].setxattr[0]")
        assertRejected(#"{"containers": [{"match": {"annotations": {"a": 1}}}]}"#, mentions: "containers[0].match.annotations: must be an object of strings")
        assertRejected(#"{"containers": [{"match": {"label": "x"}}]}"#, mentions: "containers[0].match.label: unknown key")
        // What can never be safe is rejected when the policy is read (security issue, 1 and 11).
        assertRejected(#"{"containers": [{"mount": [{"fstype": "debugfs"}]}]}"#, mentions: "containers[0].mount[0].fstype: debugfs is never mounted")
        assertRejected(#"{"containers": [{"mount": [{"fstype": "ext4"}]}]}"#, mentions: "containers[0].mount[0].source: a ext4 rule needs the source")
        XCTAssertNoThrow(try parse(#"{"containers": [{"mount": [{"fstype": "ext4", "source": "/dev/vdb"}]}]}"#))
        assertRejected(#"{"containers": [{"allowNonRootCallers": "yes"}]}"#, mentions: "containers[0].allowNonRootCallers: must be true or false")
    }

    func testLoadNamesTheFile() {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("policy-\(getpid()).json").path
        try? Data(#"{"containers": 3}"#.utf8).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        XCTAssertThrowsError(try Policy.load(path: path)) { error in
            XCTAssertTrue("\(error)".contains("policy \(path): containers: must be a list"), "\(error)")
        }
        XCTAssertThrowsError(try Policy.load(path: path + ".missing")) { error in
            XCTAssertTrue("\(error)".contains("cannot read policy"), "\(error)")
        }
    }

    func testDecisions() throws {
        let policy = try parse("""
        { "containers": [ { "name": "p", "match": { "metadata": "yes" },
            "mknod": [ { "type": "char", "major": 1, "minor": 3 }, { "type": "char", "major": 0, "minor": 0 } ],
            "mount": [ { "fstype": "tmpfs", "flags": ["nosuid", "nodev"] }, { "fstype": "sysfs", "require": ["rdonly"] },
                       { "fstype": "bind", "flags": ["rec", "rdonly"] } ],
            "setxattr": [ "trusted.overlay.opaque" ] } ] }
        """)
        let entry = policy.entry(for: ContainerIdentity(id: "c", metadata: "yes"))
        XCTAssertNotNil(entry)
        XCTAssertNil(policy.entry(for: ContainerIdentity(id: "c", metadata: "no")))
        func verdict(_ call: InterceptedCall) -> Decision.Verdict { Decision.decide(call, policy: policy, entry: entry, ownUserNamespace: true).verdict }
        let char = UInt32(0o020000 | 0o666)
        XCTAssertEqual(verdict(.mknod(path: "/dev/null", dirfd: nil, mode: char, device: DeviceNumbers.make(major: 1, minor: 3))), .allow)
        XCTAssertEqual(verdict(.mknod(path: "/x", dirfd: nil, mode: char, device: 0)), .allow)  // whiteout 0:0
        XCTAssertEqual(verdict(.mknod(path: "/dev/sda", dirfd: nil, mode: UInt32(0o060000 | 0o600), device: DeviceNumbers.make(major: 8, minor: 0))), .deny)
        XCTAssertEqual(verdict(.mknod(path: "/dev/mem", dirfd: nil, mode: char, device: DeviceNumbers.make(major: 1, minor: 1))), .deny)
        XCTAssertEqual(verdict(.mknod(path: "/f", dirfd: nil, mode: UInt32(0o010000 | 0o600), device: 0)), .deny)  // fifo not listed
        XCTAssertEqual(verdict(.mount(source: "t", target: "/m", fstype: "tmpfs", flags: 0x2 | 0x4 | 0x8000, data: nil)), .allow)
        XCTAssertEqual(verdict(.mount(source: "t", target: "/m", fstype: "tmpfs", flags: 0xC0ED0000 | 0x2, data: nil)), .allow) // legacy magic
        XCTAssertEqual(verdict(.mount(source: "t", target: "/m", fstype: "tmpfs", flags: 0x8, data: nil)), .deny)      // noexec not allowed
        XCTAssertEqual(verdict(.mount(source: "s", target: "/sys", fstype: "sysfs", flags: 0, data: nil)), .deny)      // rdonly required
        XCTAssertEqual(verdict(.mount(source: "s", target: "/sys", fstype: "sysfs", flags: 0x1, data: nil)), .allow)
        XCTAssertEqual(verdict(.mount(source: "p", target: "/proc", fstype: "proc", flags: 0, data: nil)), .deny)
        XCTAssertEqual(verdict(.mount(source: "/a", target: "/b", fstype: nil, flags: 0x1000 | 0x4000, data: nil)), .allow)
        XCTAssertEqual(verdict(.mount(source: nil, target: "/b", fstype: "tmpfs", flags: 0x20 | 0x2, data: nil)), .deny)  // remount
        XCTAssertEqual(verdict(.mount(source: nil, target: "/b", fstype: nil, flags: 1 << 20, data: nil)), .deny)      // MS_SHARED
        XCTAssertEqual(verdict(.setxattr(target: .path("/d", follow: true), name: "trusted.overlay.opaque", value: [0x79], flags: 0)), .allow)
        XCTAssertEqual(verdict(.setxattr(target: .fd(3), name: "trusted.overlay.opaque", value: [0x79], flags: 0)), .allow)
        XCTAssertEqual(verdict(.setxattr(target: .path("/d", follow: true), name: "security.capability", value: [], flags: 0)), .deny)

        let denied = Decision.decide(.mknod(path: "/x", dirfd: nil, mode: char, device: 0), policy: policy, entry: nil, ownUserNamespace: true)
        XCTAssertEqual(denied.verdict, .deny)
        XCTAssertEqual(denied.action, .errno(Errno(rawValue: EPERM)))
    }

    func testLogOnly() throws {
        let policy = try parse(#"{"logOnly": true, "containers": [{"mknod": [{"type": "fifo"}]}]}"#)
        let decision = Decision.decide(.mknod(path: "/f", dirfd: nil, mode: UInt32(0o010000), device: 0), policy: policy, entry: policy.entries.first, ownUserNamespace: true)
        XCTAssertTrue(decision.logOnly)
        XCTAssertEqual(decision.verdict, .allow)
    }

    /// Security issue, 1 and 2: a container without its own user namespace is host root for sysctls
    /// and /proc; whatever the policy says, no proc or sysfs is mounted for it and no bind leaves out
    /// the submounts that mask /proc. Tmpfs and recursive binds still work.
    func testAContainerWithoutAUserNamespaceGetsNoProcSysfsOrNonRecursiveBind() throws {
        let policy = try parse("""
        { "containers": [ { "mount": [ { "fstype": "proc" }, { "fstype": "sysfs" }, { "fstype": "tmpfs" }, { "fstype": "cgroup2" },
                                       { "fstype": "bind", "flags": ["rec"] }, { "fstype": "bind" } ] } ] }
        """)
        func decide(_ fstype: String?, _ flags: UInt64, own: Bool) -> Decision {
            Decision.decide(.mount(source: "/proc", target: "/mnt", fstype: fstype, flags: flags, data: nil), policy: policy,
                            entry: policy.entries.first, ownUserNamespace: own)
        }
        for fstype in ["proc", "sysfs", "cgroup2"] {
            let refused = decide(fstype, 0, own: false)
            XCTAssertEqual(refused.verdict, .deny, fstype)
            XCTAssertEqual(refused.action, .errno(Errno(rawValue: EPERM)))
            XCTAssertTrue(refused.rule.contains("without its own user namespace"), refused.rule)
            XCTAssertEqual(decide(fstype, 0, own: true).verdict, .allow, fstype)
        }
        XCTAssertEqual(decide("tmpfs", 0, own: false).verdict, .allow)
        XCTAssertEqual(decide(nil, 0x1000, own: false).verdict, .deny)            // MS_BIND alone
        XCTAssertTrue(decide(nil, 0x1000, own: false).rule.contains("non-recursive bind"))
        XCTAssertEqual(decide(nil, 0x1000 | 0x4000, own: false).verdict, .allow)  // MS_BIND | MS_REC
        XCTAssertEqual(decide(nil, 0x1000, own: true).verdict, .allow)            // made recursive by the helper
    }

    /// Security issue, 4 and 6: the policy's privilege is for the container's root, in the
    /// container's own user namespace.
    func testAnAllowedCallIsHeldAgainstWhoMakesIt() throws {
        let policy = try parse("""
        { "containers": [ { "name": "strict", "match": { "metadata": "strict" }, "mknod": [ { "type": "char", "major": 1, "minor": 3 }, { "type": "fifo" } ],
                            "mount": [ { "fstype": "tmpfs" } ], "setxattr": [ "trusted.overlay.opaque", "user.*", "security.capability" ] },
                          { "name": "any-uid", "allowNonRootCallers": true, "mount": [ { "fstype": "tmpfs" } ] } ] }
        """)
        let strict = policy.entries[0], anyUID = policy.entries[1]
        let device = InterceptedCall.mknod(path: "/n", dirfd: nil, mode: UInt32(0o020000 | 0o600), device: DeviceNumbers.make(major: 1, minor: 3))
        let fifo = InterceptedCall.mknod(path: "/f", dirfd: nil, mode: UInt32(0o010000 | 0o600), device: 0)
        let tmpfs = InterceptedCall.mount(source: "t", target: "/etc", fstype: "tmpfs", flags: 0, data: nil)
        func xattr(_ name: String) -> InterceptedCall { .setxattr(target: .path("/etc", follow: true), name: name, value: [1], flags: 0) }
        let root = Caller(uid: 0, isContainerRoot: true, capabilities: 0, userNamespace: 7, containerUserNamespace: 7)
        let user = Caller(uid: 1000, isContainerRoot: false, capabilities: 0, userNamespace: 7, containerUserNamespace: 7)
        // unshare -r: uid 0 and every capability, but in a namespace of its own.
        let nested = Caller(uid: 0, isContainerRoot: true, capabilities: ~0, userNamespace: 8, containerUserNamespace: 7)
        func verdict(_ call: InterceptedCall, _ caller: Caller, _ entry: Policy.Entry) -> Decision {
            Decision.decide(call, policy: policy, entry: entry, ownUserNamespace: false).checked(call, caller: caller, entry: entry)
        }
        for call in [device, tmpfs, xattr("trusted.overlay.opaque")] {
            XCTAssertEqual(verdict(call, root, strict).verdict, .allow, "\(call)")
            let refused = verdict(call, user, strict)
            XCTAssertEqual(refused.verdict, .deny, "\(call)")
            XCTAssertEqual(refused.action, .errno(Errno(rawValue: EPERM)))
            XCTAssertTrue(refused.rule.contains("not root in the container (uid 1000)"), refused.rule)
            XCTAssertTrue(verdict(call, nested, strict).rule.contains("user namespace of its own"))
        }
        // What needs no privilege is the caller's own business (performed with its own rights).
        XCTAssertEqual(verdict(fifo, user, strict).verdict, .allow)
        XCTAssertEqual(verdict(xattr("user.note"), user, strict).verdict, .allow)
        // File capabilities only for a holder of CAP_SETFCAP, never on root's word.
        XCTAssertEqual(verdict(xattr("security.capability"), root, strict).verdict, .deny)
        let setfcap = Caller(uid: 0, isContainerRoot: true, capabilities: 1 << 31, userNamespace: 7, containerUserNamespace: 7)
        XCTAssertEqual(verdict(xattr("security.capability"), setfcap, strict).verdict, .allow)
        // A capability held in the container's namespace counts for a non-root caller.
        let admin = Caller(uid: 1000, isContainerRoot: false, capabilities: 1 << 21, userNamespace: 7, containerUserNamespace: 7)
        XCTAssertEqual(verdict(tmpfs, admin, strict).verdict, .allow)
        // An entry that says so serves non-root callers; a nested namespace still does not count.
        XCTAssertEqual(verdict(tmpfs, user, anyUID).verdict, .allow)
        XCTAssertEqual(verdict(tmpfs, nested, anyUID).verdict, .deny)
    }

    /// Security issue, 7: never ALLOW by default; the newer mount API falls back, nested listeners and
    /// namespace creation are refused, fsetxattr goes to the agent.
    func testProfileDeniesByDefault() throws {
        let policy = try parse(#"{"containers": [{"mount": [{"fstype": "tmpfs"}], "setxattr": ["user.*"]}]}"#)
        let text = try SeccompProfile.ociSection(policy: policy, socket: "/run/s.sock", metadata: "meta")
        let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        let seccomp = (json["linux"] as! [String: Any])["seccomp"] as! [String: Any]
        XCTAssertEqual(seccomp["defaultAction"] as? String, "SCMP_ACT_ERRNO")
        XCTAssertEqual(seccomp["listenerPath"] as? String, "/run/s.sock")
        XCTAssertEqual(seccomp["listenerMetadata"] as? String, "meta")
        let rules = seccomp["syscalls"] as! [[String: Any]]
        func ruleList(naming name: String) -> [[String: Any]] { rules.filter { ($0["names"] as? [String])?.contains(name) == true } }
        let allowed = Set(rules.filter { $0["action"] as? String == "SCMP_ACT_ALLOW" && $0["args"] == nil }.flatMap { $0["names"] as! [String] })
        XCTAssertTrue(allowed.contains("read") && allowed.contains("openat") && allowed.contains("execve"))
        for refused in ["keyctl", "add_key", "bpf", "unshare", "setns", "seccomp", "clone", "mount", "fsopen", "open_tree", "fsetxattr", "userfaultfd"] {
            XCTAssertFalse(allowed.contains(refused), refused)
        }
        XCTAssertEqual(ruleList(naming: "mount").first?["action"] as? String, "SCMP_ACT_NOTIFY")
        XCTAssertEqual(ruleList(naming: "fsetxattr").first?["action"] as? String, "SCMP_ACT_NOTIFY")
        for fallback in ["fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr", "clone3"] {
            XCTAssertEqual(ruleList(naming: fallback).first?["errnoRet"] as? Int, 38, fallback)
        }
        let listener = ruleList(naming: "seccomp").first?["args"] as? [[String: Any]]
        XCTAssertEqual(listener?.first?["index"] as? Int, 1)
        XCTAssertEqual(listener?.first?["value"] as? UInt64, 8)
        XCTAssertEqual(listener?.first?["op"] as? String, "SCMP_CMP_MASKED_EQ")
    }

    func testABaseProfileIsMergedAndMustDenyByDefault() throws {
        let policy = try parse(#"{"containers": [{"mknod": [{"type": "char", "major": 1, "minor": 3}]}]}"#)
        let base: [String: JSONValue] = ["defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                                         "syscalls": [["names": ["read", "mknod", "fsopen", "seccomp"], "action": "SCMP_ACT_ALLOW"],
                                                      ["names": ["mount"], "action": "SCMP_ACT_ALLOW"]]]
        let seccomp = try SeccompProfile.section(policy: policy, socket: "/s", metadata: nil, base: base)
        let rules = try XCTUnwrap(seccomp["syscalls"]?.array)
        XCTAssertEqual(rules.first?["names"]?.strings, ["read"], "what sonde decides is taken out of the base's rules")
        XCTAssertEqual(rules.count, 5, "the base's mount-only rule is gone, sonde's four are added")
        XCTAssertThrowsError(try SeccompProfile.section(policy: policy, socket: "/s", metadata: nil, base: ["defaultAction": "SCMP_ACT_ALLOW"])) {
            XCTAssertTrue("\($0)".contains("allows what no rule names"), "\($0)")
        }
    }
}
