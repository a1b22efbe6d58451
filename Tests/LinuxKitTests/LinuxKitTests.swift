import Glibc
import Testing
@testable import LinuxKit

@Suite struct ErrnoTests {
    @Test func namesAndMessagesFollowTheKernelTable() {
        #expect(Errno(rawValue: 2).name == "ENOENT")
        #expect(Errno(rawValue: 1).description == "EPERM (Operation not permitted)")
        #expect(Errno(rawValue: 133).name == "EHWPOISON")
        #expect(Errno(rawValue: 9999).name == "E9999")
        #expect(Errno(name: "EACCES")?.rawValue == 13)
        #expect(Errno(name: "ENOPE") == nil)
    }
}

@Suite struct SystemCallTests {
    @Test func failuresCarryTheErrnoAndWhatFailed() {
        do throws(SondeError) {
            try systemCall("open /nonexistent/x") { open("/nonexistent/x", O_RDONLY) }
            Issue.record("open of a missing file succeeded")
        } catch {
            #expect(error.errno == .notFound)
            #expect(error.description.contains("open /nonexistent/x: ENOENT"))
        }
    }

    @Test func negativeErrnoResultsAreErrors() throws {
        #expect(throws: SondeError.self) { try negativeErrnoCall("libbpf call") { Int32(-22) } }
        #expect(try negativeErrnoCall("ok") { Int32(7) } == 7)
    }

    @Test func interruptedCallsAreRetried() throws {
        var attempts = 0
        let result = try systemCall("flaky") { () -> Int32 in
            attempts += 1
            if attempts < 3 { errno = EINTR; return -1 }
            return 5
        }
        #expect(result == 5 && attempts == 3)
    }
}

@Suite struct MountTableTests {
    @Test func parsesMountPointsAndTypesWithEscapes() {
        let text = """
        25 1 0:23 / /sys rw,nosuid shared:7 - sysfs sysfs rw
        36 25 0:30 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw
        40 25 0:33 / /mnt/with\\040space rw shared:1 - tmpfs tmpfs rw
        garbage line without separator
        """
        let entries = MountTable.parse(text)
        #expect(entries.count == 3)
        #expect(entries[1] == MountEntry(mountPoint: "/sys/fs/cgroup/unified", filesystemType: "cgroup2"))
        #expect(entries[2].mountPoint == "/mnt/with space")
    }

    @Test func findsThisMachinesUnifiedHierarchy() throws {
        let cgroups = try CgroupV2.find()
        #expect(Files.exists(cgroups.mountPoint + "/cgroup.procs"))
        // bpf_get_current_cgroup_id() of a process equals its cgroup directory's inode.
        let own = try CgroupV2.cgroupOfProcess(getpid())
        #expect(try cgroups.id(of: own) > 0)
    }
}

@Suite struct CgroupPathTests {
    let cgroups = CgroupV2(mountPoint: "/sys/fs/cgroup/unified")

    @Test func normalizesTheWaysUsersWritePaths() throws {
        #expect(try cgroups.normalize("/system.slice/foo.service") == "/system.slice/foo.service")
        #expect(try cgroups.normalize("system.slice//foo.service/") == "/system.slice/foo.service")
        #expect(try cgroups.normalize("/sys/fs/cgroup/unified/c1") == "/c1")
        #expect(try cgroups.normalize("/sys/fs/cgroup/unified") == "/")
        #expect(cgroups.directory(of: "/c1") == "/sys/fs/cgroup/unified/c1")
    }

    @Test func refusesToLeaveTheHierarchy() {
        #expect(throws: SondeError.self) { try cgroups.normalize("/c1/../../etc") }
    }

    @Test func aMissingCgroupIsNotFound() {
        do throws(SondeError) {
            _ = try cgroups.id(of: "/sonde-no-such-cgroup")
            Issue.record("found a cgroup that does not exist")
        } catch {
            #expect(error.code == .notFound)
        }
    }
}

@Suite struct BootClockTests {
    @Test func convertsBootTimeToWallClock() {
        let clock = BootClock()
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let wall = clock.wallNanoseconds(boot: BootClock.nowBootNanoseconds())
        let real = Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
        #expect(abs(wall - real) < 1_000_000_000)
    }
}

@Suite struct WakeupTests {
    @Test func aSignalIsKeptUntilTheNextWaitAndReadableFdsAreReported() throws {
        let wakeup = try Wakeup()
        wakeup.signal()
        wakeup.signal()
        let first = wakeup.wait(for: [], timeout: nil) // would block for good without the kept signal
        #expect(first.woken && first.ready.isEmpty)
        #expect(!wakeup.wait(for: [], timeout: .milliseconds(1)).woken, "one wait takes every signal sent before it")

        var ends: [Int32] = [-1, -1]
        #expect(pipe(&ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        var byte: UInt8 = 7
        #expect(write(ends[1], &byte, 1) == 1)
        let ready = wakeup.wait(for: [ends[0]], timeout: nil)
        #expect(ready.ready == [ends[0]] && !ready.woken)
    }

    @Test func cancellingTheTaskEndsAnUntimedWait() async throws {
        let wakeup = try Wakeup()
        let waiting = Task { await wakeup.wait(timeout: nil) }
        waiting.cancel()
        #expect(await waiting.value.woken)
    }
}
