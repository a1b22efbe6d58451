import Foundation
import LinuxKit
@testable import Supervisor
import XCTest

final class MessageTests: XCTestCase {
    let runc = #"{"ociVersion":"1.0.2-dev","fds":["seccompFd"],"pid":14211,"metadata":"devices","state":{"ociVersion":"1.0.2-dev","id":"c1","status":"creating","pid":14211,"bundle":"/b","annotations":{"k":"v"}}}"#

    func testRuncMessage() throws {
        let message = try AgentMessage.parse(Data(runc.utf8), receivedFDs: 1)
        XCTAssertEqual(message.pid, 14211)
        XCTAssertEqual(message.seccompFDIndex, 0)
        XCTAssertEqual(message.identity, ContainerIdentity(id: "c1", metadata: "devices", annotations: ["k": "v"], bundle: "/b"))
    }

    func testCrunPrettyPrintedMessage() throws {
        let crun = """
        {
          "ociVersion": "0.2.0",
          "fds": [
            "seccompFd"
          ],
          "pid": 7,
          "state": {
            "ociVersion": "0.2.0",
            "id": "c2",
            "status": "creating",
            "pid": 7,
            "bundle": "/b2"
          }
        }
        """
        let message = try AgentMessage.parse(Data(crun.utf8), receivedFDs: 1)
        XCTAssertEqual(message.identity.id, "c2")
        XCTAssertEqual(message.identity.metadata, "")
    }

    func testMalformedMessagesAreErrors() {
        func rejected(_ text: String, fds: Int, _ expected: String, line: UInt = #line) {
            XCTAssertThrowsError(try AgentMessage.parse(Data(text.utf8), receivedFDs: fds), line: line) { error in
                XCTAssertTrue("\(error)".contains(expected), "'\(error)' lacks '\(expected)'", line: line)
            }
        }
        rejected("", fds: 1, "not valid JSON")
        rejected("{\"fds\":[", fds: 1, "not valid JSON")
        rejected("42", fds: 1, "not a JSON object")
        rejected(#"{"pid":1,"state":{"id":"x"}}"#, fds: 1, "no \"fds\" list")
        rejected(#"{"fds":["other"],"pid":1,"state":{"id":"x"}}"#, fds: 1, "does not name a seccompFd")
        rejected(runc, fds: 0, "names 1 fd(s) but 0 came with it")
        rejected(runc, fds: 2, "names 1 fd(s) but 2 came with it")
        rejected(#"{"fds":["seccompFd"],"pid":1,"state":{}}"#, fds: 1, "no container \"id\"")
        rejected(#"{"fds":["seccompFd"],"pid":-3,"state":{"id":"x"}}"#, fds: 1, "no valid \"pid\"")
        rejected(#"{"fds":["seccompFd"],"pid":1,"metadata":5,"state":{"id":"x"}}"#, fds: 1, "\"metadata\" must be a string")
    }

    func testTakeoverRequestIsNotARuntimeMessage() {
        XCTAssertTrue(Takeover.isRequest(Takeover.request))
        XCTAssertFalse(Takeover.isRequest(Data(runc.utf8)))
        XCTAssertFalse(Takeover.isRequest(Data("garbage".utf8)))
        XCTAssertThrowsError(try AgentMessage.parse(Takeover.request, receivedFDs: 0))
    }

    func testHelperRequestRoundTrip() {
        let requests = [
            MountHelper.Request(bind: false, fstype: "tmpfs", source: "tmpfs", flags: 6, data: "size=1m,mode=755"),
            MountHelper.Request(bind: true, fstype: nil, source: "/a", flags: 0x5000, data: nil),
            MountHelper.Request(bind: false, fstype: "proc", source: "", flags: 0, data: ""),
        ]
        for request in requests { XCTAssertEqual(MountHelper.Request.decode(request.encode()), request) }
        XCTAssertNil(MountHelper.Request.decode(Array("mount\0x".utf8)))
        XCTAssertNil(MountHelper.Request.decode(Array("umount\0\0\0\01\0".utf8)))
    }
}

/// Memory of a fake process: a few mapped ranges.
struct FakeMemory: TargetMemory {
    var regions: [(start: UInt64, bytes: [UInt8])]

    func read(_ address: UInt64, count: Int) throws(Errno) -> [UInt8] {
        for region in regions where address >= region.start && address < region.start + UInt64(region.bytes.count) {
            let offset = Int(address - region.start)
            return Array(region.bytes[offset..<min(region.bytes.count, offset + count)])
        }
        throw Errno(rawValue: EFAULT)
    }
}

final class DecodingTests: XCTestCase {
    func testMknodArguments() throws {
        let memory = FakeMemory(regions: [(0x1000, Array("/dev/null\0".utf8))])
        let device = DeviceNumbers.make(major: 1, minor: 3)
        let call = try CallDecoder.decode(.mknodat, arguments: [UInt64(bitPattern: -100), 0x1000, 0o020666, UInt64(device), 0, 0], memory: memory)
        XCTAssertEqual(call, .mknod(path: "/dev/null", dirfd: -100, mode: 0o020666, device: device))
        XCTAssertEqual(call.syscallName, "mknodat")
        XCTAssertEqual(call.argumentText, "AT_FDCWD, \"/dev/null\", S_IFCHR|0666, makedev(1, 3)")
    }

    func testDeviceNumbers() {
        for (major, minor) in [(1 as UInt32, 3 as UInt32), (0, 0), (5, 1), (259, 65536), (4095, 1048575)] {
            let dev = DeviceNumbers.make(major: major, minor: minor)
            XCTAssertEqual(DeviceNumbers.major(dev), major)
            XCTAssertEqual(DeviceNumbers.minor(dev), minor)
        }
        XCTAssertEqual(DeviceNumbers.make(major: 1, minor: 3), 0x103)  // what glibc's makedev(1, 3) gives
        XCTAssertEqual(DeviceNumbers.type(0o020000), .char)
        XCTAssertEqual(DeviceNumbers.type(0), .regular)
        XCTAssertNil(DeviceNumbers.type(0o040000))  // S_IFDIR: mknod refuses it
    }

    func testStringAcrossPagesAndFaults() throws {
        // A string that starts 3 bytes before a page end and continues on the next page.
        let text = Array("abcdefgh\0".utf8)
        let memory = FakeMemory(regions: [(0x1ffd, text)])
        XCTAssertEqual(try memory.string(0x1ffd, limit: 100, tooLong: Errno(rawValue: ENAMETOOLONG)), "abcdefgh")
        // Unterminated before unmapped memory: EFAULT.
        let open = FakeMemory(regions: [(0x2000, Array("abc".utf8))])
        XCTAssertThrowsError(try open.string(0x2000, limit: 100, tooLong: Errno(rawValue: ENAMETOOLONG))) {
            XCTAssertEqual($0 as? Errno, Errno(rawValue: EFAULT))
        }
        // Longer than the limit: the caller's errno.
        let long = FakeMemory(regions: [(0x3000, [UInt8](repeating: 0x61, count: 5000) + [0])])
        XCTAssertThrowsError(try long.string(0x3000, limit: CallDecoder.pathLimit, tooLong: Errno(rawValue: ENAMETOOLONG))) {
            XCTAssertEqual($0 as? Errno, Errno(rawValue: ENAMETOOLONG))
        }
        XCTAssertThrowsError(try long.string(0, limit: 10, tooLong: Errno(rawValue: ENAMETOOLONG))) {
            XCTAssertEqual($0 as? Errno, Errno(rawValue: EFAULT))
        }
    }

    func testProcessMemoryReadsStringsAcrossPages() throws {
        // This process's own memory, through process_vm_readv, as the agent reads a caller's.
        var raw: UnsafeMutableRawPointer?
        XCTAssertEqual(posix_memalign(&raw, 4096, 3 * 4096), 0)
        defer { free(raw) }
        let page = raw!.assumingMemoryBound(to: UInt8.self)
        page.initialize(repeating: 0x61, count: 3 * 4096)
        let start = page + 4096 - 3
        for (i, byte) in Array("/dev/null".utf8).enumerated() { start[i] = byte }
        start[9] = 0
        let memory = ProcessMemory(pid: getpid())
        let address = UInt64(UInt(bitPattern: start))
        XCTAssertEqual(try memory.string(address, limit: 4095, tooLong: Errno(rawValue: ENAMETOOLONG)), "/dev/null")
        page[3 * 4096 - 1] = 0
        XCTAssertThrowsError(try memory.string(UInt64(UInt(bitPattern: page)), limit: 4095, tooLong: Errno(rawValue: ENAMETOOLONG))) {
            XCTAssertEqual($0 as? Errno, Errno(rawValue: ENAMETOOLONG))
        }
        XCTAssertEqual(try memory.string(UInt64(UInt(bitPattern: page + 3 * 4096 - 5)), limit: 4095, tooLong: Errno(rawValue: ENAMETOOLONG)), "aaaa")
        XCTAssertThrowsError(try memory.string(8, limit: 100, tooLong: Errno(rawValue: ENAMETOOLONG))) {
            XCTAssertEqual($0 as? Errno, Errno(rawValue: EFAULT))
        }
    }

    func testMountAndXattrArguments() throws {
        let memory = FakeMemory(regions: [(0x1000, Array("tmpfs\0/mnt\0size=1m\0trusted.overlay.opaque\0y".utf8))])
        let mount = try CallDecoder.decode(.mount, arguments: [0x1000, 0x1006, 0x1000, 0x6, 0x100b, 0], memory: memory)
        XCTAssertEqual(mount, .mount(source: "tmpfs", target: "/mnt", fstype: "tmpfs", flags: 6, data: "size=1m"))
        let bind = try CallDecoder.decode(.mount, arguments: [0x1006, 0x1006, 0, 0x1000, 0, 0], memory: memory)
        XCTAssertEqual(bind, .mount(source: "/mnt", target: "/mnt", fstype: nil, flags: 0x1000, data: nil))
        let xattr = try CallDecoder.decode(.lsetxattr, arguments: [0x1006, 0x1013, 0x102a, 1, 0, 0], memory: memory)
        XCTAssertEqual(xattr, .setxattr(target: .path("/mnt", follow: false), name: "trusted.overlay.opaque", value: Array("y".utf8), flags: 0))
        let fxattr = try CallDecoder.decode(.fsetxattr, arguments: [7, 0x1013, 0x102a, 1, 0, 0], memory: memory)
        XCTAssertEqual(fxattr, .setxattr(target: .fd(7), name: "trusted.overlay.opaque", value: Array("y".utf8), flags: 0))
        XCTAssertEqual(fxattr.syscallName, "fsetxattr")
        XCTAssertThrowsError(try CallDecoder.decode(.setxattr, arguments: [0x1006, 0x1013, 0x102a, 70000, 0, 0], memory: memory)) {
            XCTAssertEqual($0 as? Errno, Errno(rawValue: E2BIG))
        }
    }

    func testSplit() throws {
        XCTAssertEqual(try Emulator.split("/dev/null").parent, "/dev")
        XCTAssertEqual(try Emulator.split("/dev/null").name, "null")
        XCTAssertEqual(try Emulator.split("/null").parent, "/")
        XCTAssertEqual(try Emulator.split("null").parent, ".")
        XCTAssertEqual(try Emulator.split("a/b//").name, "b")
        XCTAssertThrowsError(try Emulator.split("/")) { XCTAssertEqual($0 as? Errno, Errno(rawValue: EEXIST)) }
        XCTAssertThrowsError(try Emulator.split("/dev/..")) { XCTAssertEqual($0 as? Errno, Errno(rawValue: EEXIST)) }
        XCTAssertThrowsError(try Emulator.split("")) { XCTAssertEqual($0 as? Errno, Errno(rawValue: ENOENT)) }
    }

    func testStatus() {
        let status = TargetStatus(text: "Name:\tmknod\nUmask:\t0027\nState:\tS\nTgid:\t42\nPid:\t43\nPPid:\t1\nUid:\t100000\t100000\t100000\t100001\nGid:\t100000\t100000\t100000\t100002\nGroups:\t10 20 \nCapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\nCapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\n")
        XCTAssertEqual(status.name, "mknod")
        XCTAssertEqual(status.umask, 0o027)
        XCTAssertEqual(status.tgid, 42)
        XCTAssertEqual(status.ppid, 1)
        XCTAssertEqual(status.fsuid, 100001)
        XCTAssertEqual(status.fsgid, 100002)
        XCTAssertEqual(status.uid, 100000)
        XCTAssertEqual(status.capEff, 0xa80425fb)
        XCTAssertEqual(status.groups, [10, 20])
        XCTAssertTrue(status.noNewPrivileges)
        XCTAssertTrue(status.sawCapabilities)
    }

    /// A status cut after CapEff but before NoNewPrivs is not trusted either.
    func testStatusWithoutNoNewPrivsIsNotTrusted() {
        XCTAssertFalse(TargetStatus(text: "Name:\tx\nUid:\t0\t0\t0\t0\nCapEff:\t0000000000000004\n").sawCapabilities)
    }

    func testRootOfAUserNamespaceFromItsUidMap() {
        XCTAssertEqual(ContainerUserNamespace.rootUID(uidMap: "         0     300000      65536\n"), 300000)
        XCTAssertEqual(ContainerUserNamespace.rootUID(uidMap: "         0          0 4294967295\n"), 0)
        XCTAssertNil(ContainerUserNamespace.rootUID(uidMap: "      1000       1000          1\n"))
    }

    /// A CapEff line cut by the end of the text is not read as a shorter number.
    func testStatusCutInsideCapEffIsNotTrusted() {
        let status = TargetStatus(text: "Name:\tx\nUid:\t0\t0\t0\t0\nCapEff:\t000000000000004")
        XCTAssertFalse(status.sawCapabilities)
        XCTAssertEqual(status.capEff, 0)
    }

    /// Thousands of supplementary groups push CapEff far past the first read: it is still found.
    func testStatusWithAHugeGroupsLineIsReadToItsCapabilities() throws {
        let groups = (0..<2000).map { String(100_000 + $0) }.joined(separator: " ")
        let text = "Name:\tx\nUmask:\t0022\nUid:\t0\t0\t0\t5\nGid:\t0\t0\t0\t6\nGroups:\t\(groups)\n"
            + "CapInh:\t0000000000000000\nCapPrm:\t0000000000000040\nCapEff:\t0000000000000040\nCapBnd:\t0\nNoNewPrivs:\t0\n"
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-status-\(getpid())").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fd = open(path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        let status = try TargetStatus.read(fd: fd)
        XCTAssertEqual(status.capEff, 0x40)
        XCTAssertEqual(status.fsuid, 5)
    }
}

/// Security issue, 9: with the fd limit reached, every /proc open failure read as ESRCH ("the caller
/// is gone"), and an allowed call was answered EPERM with the real cause hidden. The error is now what
/// it is. The soft limit is lowered for the test (allowed without privilege) and restored.
final class ProcessFilesTests: XCTestCase {
    func testRunningOutOfFdsIsReportedAsEMFILENotAsAGoneCaller() throws {
        var saved = rlimit()
        XCTAssertEqual(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved), 0)
        let highest = (try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")).compactMap { Int32($0) }.max() ?? 2
        var lowered = saved
        lowered.rlim_cur = rlim_t(highest + 16)
        XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lowered), 0)
        var filler: [Int32] = []
        defer {
            for fd in filler { close(fd) }
            var restore = saved
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &restore)
        }
        while true {
            let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
            if fd < 0 { break }
            filler.append(fd)
        }
        XCTAssertEqual(errno, EMFILE)
        XCTAssertThrowsError(try ProcessFiles().read(tid: getpid())) { XCTAssertEqual($0 as? Errno, Errno(rawValue: EMFILE)) }
        XCTAssertThrowsError(try TargetStatus.read(pid: getpid())) { XCTAssertEqual($0 as? Errno, Errno(rawValue: EMFILE)) }
    }

    func testAProcessThatIsGoneReadsAsGone() {
        XCTAssertThrowsError(try TargetStatus.read(pid: Int32.max)) { XCTAssertEqual($0 as? Errno, Errno(rawValue: ESRCH)) }
        XCTAssertThrowsError(try ProcessFiles().read(tid: Int32.max)) { XCTAssertEqual($0 as? Errno, Errno(rawValue: ESRCH)) }
    }
}
