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
        XCTAssertEqual(policy.interceptedSyscalls, ["mknod", "mknodat", "mount", "setxattr", "lsetxattr"])

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
        func verdict(_ call: InterceptedCall) -> Decision.Verdict { Decision.decide(call, policy: policy, entry: entry).verdict }
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
        XCTAssertEqual(verdict(.setxattr(path: "/d", name: "trusted.overlay.opaque", value: [0x79], flags: 0, follow: true)), .allow)
        XCTAssertEqual(verdict(.setxattr(path: "/d", name: "security.capability", value: [], flags: 0, follow: true)), .deny)

        let denied = Decision.decide(.mknod(path: "/x", dirfd: nil, mode: char, device: 0), policy: policy, entry: nil)
        XCTAssertEqual(denied.verdict, .deny)
        XCTAssertEqual(denied.action, .errno(Errno(rawValue: EPERM)))
    }

    func testLogOnly() throws {
        let policy = try parse(#"{"logOnly": true, "containers": [{"mknod": [{"type": "fifo"}]}]}"#)
        let decision = Decision.decide(.mknod(path: "/f", dirfd: nil, mode: UInt32(0o010000), device: 0), policy: policy, entry: policy.entries.first)
        XCTAssertTrue(decision.logOnly)
        XCTAssertEqual(decision.verdict, .allow)
    }

    func testProfile() throws {
        let policy = try parse(#"{"containers": [{"mount": [{"fstype": "tmpfs"}]}]}"#)
        let text = SeccompProfile.ociSection(policy: policy, socket: "/run/s.sock", metadata: "meta")
        let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        let seccomp = (json["linux"] as! [String: Any])["seccomp"] as! [String: Any]
        XCTAssertEqual(seccomp["defaultAction"] as? String, "SCMP_ACT_ALLOW")
        XCTAssertEqual(seccomp["listenerPath"] as? String, "/run/s.sock")
        XCTAssertEqual(seccomp["listenerMetadata"] as? String, "meta")
        let rules = seccomp["syscalls"] as! [[String: Any]]
        XCTAssertEqual(rules.first?["names"] as? [String], ["mount"])
        XCTAssertEqual(rules.first?["action"] as? String, "SCMP_ACT_NOTIFY")
    }
}
