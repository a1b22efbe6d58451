import Foundation
import Testing
import TestSupport

/// `sonde supervise` answering real runc containers whose config.json sends mknod, mount and
/// setxattr to it (SCMP_ACT_NOTIFY + listenerPath). Serialized: they share runc's state and the kernel.
@Suite(.serialized) struct SupervisorIntegrationTests {
    static let policy = """
    { "default": "EPERM",
      "containers": [
        { "name": "devices", "match": { "metadata": "sonde-test" },
          "mknod": [ { "type": "char", "major": 1, "minor": 3 }, { "type": "char", "major": 1, "minor": 5 },
                     { "type": "char", "major": 0, "minor": 0 } ],
          "mount": [ { "fstype": "tmpfs", "flags": ["nosuid", "nodev", "noexec", "silent"] },
                     { "fstype": "proc", "flags": ["silent"] },
                     { "fstype": "bind", "flags": ["rec", "silent"] } ],
          "setxattr": [ "trusted.overlay.opaque" ] } ] }
    """

    @Test func allowedMknodCreatesTheDeviceAndOthersGetEPERM() async throws {
        let agent = try SupervisorAgent(policy: Self.policy)
        defer { agent.stop() }
        let c = try agent.container("""
            mknod /root/null c 1 3; echo null=$?; mknod /root/zero c 1 5; echo zero=$?; mknod /root/wh c 0 0; echo whiteout=$?
            mknod /root/disk b 8 0; echo disk=$?; mknod /root/mem c 1 1; echo mem=$?; ls -l /root/null
            """)
        defer { c.remove() }
        let result = try c.runToCompletion()
        #expect(result.status == 0, "\(result.stderr)\n\(agent.log)")
        for line in ["null=0", "zero=0", "whiteout=0", "disk=1", "mem=1"] {
            #expect(result.stdout.contains(line), "\(line) missing from: \(result.stdout)\n\(result.stderr)\n\(agent.log)")
        }
        #expect(result.stderr.contains("/root/disk: Operation not permitted"), "\(result.stderr)")
        try await agent.settle(c)
        // Checked from the host, on the container's rootfs.
        let null = deviceNode(c.rootfs.appendingPathComponent("root/null").path)
        #expect(null?.isChar == true && null?.major == 1 && null?.minor == 3, "\(String(describing: null))")
        let whiteout = deviceNode(c.rootfs.appendingPathComponent("root/wh").path)
        #expect(whiteout?.isChar == true && whiteout?.major == 0 && whiteout?.minor == 0)
        #expect(deviceNode(c.rootfs.appendingPathComponent("root/disk").path) == nil)
        #expect(deviceNode(c.rootfs.appendingPathComponent("root/mem").path) == nil)

        let denied = agent.events.filter { ($0["args"] as? String)?.contains("/root/disk") == true }
        #expect(denied.first?["verdict"] as? String == "deny" && denied.first?["error"] as? String == "EPERM", "\(denied)")
        #expect(denied.first?["source"] as? String == "supervise")
        #expect((denied.first?["container"] as? [String: Any])?["id"] as? String == c.name)
        let allowed = agent.events.filter { $0["verdict"] as? String == "allow" && $0["syscall"] as? String == "mknodat" }
        #expect(allowed.count == 3, "\(agent.events)")
        #expect(allowed.allSatisfy { ($0["rule"] as? String)?.hasPrefix("devices: mknod char") == true })
    }

    @Test func anAllowedDeviceStillNeedsTheCallersOwnDirectoryPermissions() async throws {
        let agent = try SupervisorAgent(policy: Self.policy)
        defer { agent.stop() }
        // runc's default container root has no CAP_DAC_OVERRIDE: it may not create in a directory of
        // another user, and sonde, acting for it, may not either.
        let c = try agent.container("""
            mknod /home/other/null c 1 3; echo other=$?; mknod /home/locked/open/null c 1 3; echo locked=$?
            mknod /home/null c 1 3; echo own=$?
            """)
        defer { c.remove() }
        let other = c.rootfs.appendingPathComponent("home/other").path
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        #expect(chown(other, 1000, 1000) == 0 && chmod(other, 0o755) == 0)
        // A world-writable directory below one the caller may not search: the walk itself is the caller's.
        let locked = c.rootfs.appendingPathComponent("home/locked").path
        try FileManager.default.createDirectory(atPath: locked + "/open", withIntermediateDirectories: true)
        #expect(chmod(locked + "/open", 0o777) == 0 && chown(locked, 1000, 1000) == 0 && chmod(locked, 0o700) == 0)
        let result = try c.runToCompletion()
        #expect(result.stdout.contains("other=1") && result.stdout.contains("locked=1") && result.stdout.contains("own=0"),
                "\(result.stdout)\n\(result.stderr)\n\(agent.log)")
        #expect(result.stderr.contains("Permission denied"), "\(result.stderr)")
        #expect(deviceNode(other + "/null") == nil)
        #expect(deviceNode(locked + "/open/null") == nil)
    }

    @Test func aPathThroughASymlinkOutsideTheRootfsCreatesNothingOutside() async throws {
        let agent = try SupervisorAgent(policy: Self.policy)
        defer { agent.stop() }
        let outside = "/tmp/sonde-sv-outside-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: outside) }
        let c = try agent.container("""
            mknod /escape/n1 c 1 3; echo a=$?; mknod /up/n2 c 1 3; echo b=$?; cd /root && mknod ../escape/n3 c 1 3; echo c=$?
            mknod /proc/1/root/\(outside.dropFirst())/n4 c 1 3; echo d=$?
            """)
        defer { c.remove() }
        // Absolute and relative symlinks on the rootfs that point at the host directory.
        try FileManager.default.createSymbolicLink(atPath: c.rootfs.appendingPathComponent("escape").path, withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: c.rootfs.appendingPathComponent("up").path,
                                                   withDestinationPath: String(repeating: "../", count: 12) + outside.dropFirst())
        let inside = c.rootfs.appendingPathComponent(String(outside.dropFirst())).path
        try FileManager.default.createDirectory(atPath: inside, withIntermediateDirectories: true)

        let result = try c.runToCompletion()
        #expect(result.status == 0, "\(result.stderr)\n\(agent.log)")
        let leaked = try FileManager.default.contentsOfDirectory(atPath: outside)
        #expect(leaked.isEmpty, "created outside the rootfs: \(leaked)")
        // Resolved inside the caller's root, the symlinks lead to the rootfs's own copy of the path.
        #expect(deviceNode(inside + "/n1")?.isChar == true, "\(result.stdout) \(result.stderr)")
        #expect(deviceNode(inside + "/n2")?.isChar == true, "\(result.stdout) \(result.stderr)")
        #expect(result.stdout.contains("a=0") && result.stdout.contains("b=0"), "\(result.stdout)")
        // Magic links (/proc/PID/root) are refused rather than followed.
        #expect(!result.stdout.contains("d=0"), "\(result.stdout)")
    }

    @Test func allowedMountsWorkAndOtherFilesystemsGetEPERM() async throws {
        let agent = try SupervisorAgent(policy: Self.policy)
        defer { agent.stop() }
        let c = try agent.container("""
            mkdir -p /mnt/t /mnt/r /mnt/b /mnt/p
            mount -t tmpfs -o nosuid,nodev tmpfs /mnt/t; echo tmpfs=$?; echo hello > /mnt/t/f && cat /mnt/t/f
            grep ' /mnt/t ' /proc/mounts
            mount -t ramfs ramfs /mnt/r; echo ramfs=$?
            mount -o rbind /etc /mnt/b; echo bind=$?; ls /mnt/b
            mount -t proc proc /mnt/p; echo proc=$?
            /bin/probe xattr /etc trusted.overlay.opaque y; /bin/probe xattr /etc trusted.other y
            """)
        defer { c.remove() }
        let result = try c.runToCompletion()
        #expect(result.status == 0, "\(result.stderr)\n\(agent.log)")
        let out = result.stdout
        #expect(out.contains("tmpfs=0") && out.contains("hello"), "\(out)\n\(result.stderr)\n\(agent.log)")
        #expect(out.contains("tmpfs /mnt/t tmpfs rw,nosuid,nodev"), "\(out)")
        #expect(out.contains("ramfs=") && !out.contains("ramfs=0"), "\(out)")
        #expect(out.contains("bind=0") && out.contains("passwd"), "\(out)\n\(result.stderr)")
        // No proc for a container without its own user namespace, whatever the policy says
        // (SupervisorAttackTests has the attack this stops).
        #expect(out.contains("proc=") && !out.contains("proc=0"), "\(out)\n\(result.stderr)")
        #expect(out.contains("xattr=0") && out.contains("xattr=-1"), "\(out)")
        try await agent.settle(c)
        let ramfs = agent.events.filter { ($0["args"] as? String)?.contains("\"ramfs\"") == true }
        #expect(ramfs.first?["verdict"] as? String == "deny" && ramfs.first?["error"] as? String == "EPERM", "\(ramfs)")
        // The attribute is on the rootfs's /etc, seen from the host.
        let attribute = try run("/usr/bin/python3", ["-c", "import os,sys; print(os.getxattr(sys.argv[1], 'trusted.overlay.opaque').decode())",
                                                     c.rootfs.appendingPathComponent("etc").path])
        #expect(attribute.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "y", "\(attribute)")
    }

    @Test func aUserNamespaceContainerGetsNodesOwnedByItsRoot() async throws {
        let agent = try SupervisorAgent(policy: Self.policy)
        defer { agent.stop() }
        let hostID = 300_000 + Int(UInt32.random(in: 0...100)) * 65536
        let c = try agent.container("""
            mknod /root/null c 1 3; echo null=$?; mknod /root/disk b 8 0; echo disk=$?
            mkdir -p /mnt/t; mount -t tmpfs tmpfs /mnt/t; echo tmpfs=$?; touch /mnt/t/x; echo touch=$?; ls -ln /mnt/t
            """, prefix: "sonde-it-svu")
        defer { c.remove() }
        try c.useUserNamespace(hostID: hostID)
        let result = try c.runToCompletion()
        #expect(result.status == 0, "\(result.stderr)\n\(agent.log)")
        #expect(result.stdout.contains("null=0") && result.stdout.contains("disk=1"), "\(result.stdout)\n\(result.stderr)\n\(agent.log)")
        let null = deviceNode(c.rootfs.appendingPathComponent("root/null").path)
        #expect(null?.isChar == true && null?.major == 1 && null?.minor == 3)
        // Made with the caller's fsuid: the host uid its root maps to.
        #expect(null?.uid == UInt32(hostID), "\(String(describing: null))")
        // The helper mounted from inside the container's user namespace: its root owns the tmpfs.
        #expect(result.stdout.contains("tmpfs=0") && result.stdout.contains("touch=0"), "\(result.stdout)\n\(result.stderr)\n\(agent.log)")
    }

    @Test func aTargetKilledWhileItsCallWaitsLeavesTheAgentServing() async throws {
        let agent = try SupervisorAgent(policy: Self.policy)
        defer { agent.stop() }
        let first = try agent.container("touch /tmp/ready; sleep 1; mknod /root/late c 1 3; echo late=$?; sleep 100")
        defer { first.remove() }
        try first.start()
        let ready = try await eventually { FileManager.default.fileExists(atPath: first.rootfs.appendingPathComponent("tmp/ready").path) }
        #expect(ready)
        let fdsBefore = agent.openFDs
        // Freeze the agent so the mknod waits in the kernel, kill the container, then let the agent go on.
        agent.signal(SIGSTOP)
        try await Task.sleep(for: .seconds(2))
        _ = try run(RuncContainer.runc, ["kill", first.name, "KILL"])
        let stopped = try await eventually {
            ((try? run(RuncContainer.runc, ["state", first.name]))?.stdout.contains("\"stopped\"")) ?? true
        }
        #expect(stopped)
        agent.signal(SIGCONT)
        #expect(deviceNode(first.rootfs.appendingPathComponent("root/late").path) == nil)
        // Its session ends (POLLHUP) and its fd is closed.
        let released = try await eventually { agent.log.contains("container \(first.name): no process uses its filter any more") }
        #expect(released, "\(agent.log)")
        #expect(agent.openFDs <= fdsBefore - 1, "fds before \(fdsBefore), after \(agent.openFDs)")

        let second = try agent.container("mknod /root/null c 1 3; echo null=$?")
        defer { second.remove() }
        let result = try second.runToCompletion()
        #expect(result.stdout.contains("null=0"), "\(result.stdout)\n\(result.stderr)\n\(agent.log)")
        #expect(deviceNode(second.rootfs.appendingPathComponent("root/null").path)?.isChar == true)
    }

    @Test func malformedRuntimeMessagesAreLoggedAndTheAgentKeepsServing() async throws {
        let agent = try SupervisorAgent(policy: Self.policy)
        defer { agent.stop() }
        // Garbage, valid JSON without the fd it names, and a client that connects and says nothing.
        let script = """
        import socket, sys, time
        def send(data):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sys.argv[1]); s.sendall(data); s.close()
        send(b"this is not json")
        send(b'{"ociVersion":"1.0.2","fds":["seccompFd"],"pid":1,"state":{"id":"x","pid":1}}')
        send(b'{"fds":')
        silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); silent.connect(sys.argv[1])
        time.sleep(0.5)
        print("sent")
        """
        let sent = try run("/usr/bin/python3", ["-c", script, agent.socket])
        #expect(sent.stdout.contains("sent"), "\(sent.stderr)")
        let logged = try await eventually { agent.log.components(separatedBy: "rejected a runtime connection").count - 1 >= 3 }
        #expect(logged, "\(agent.log)")
        #expect(agent.log.contains("not valid JSON"))
        #expect(agent.log.contains("names 1 fd(s) but 0 came with it"))

        let c = try agent.container("mknod /root/null c 1 3; echo null=$?")
        defer { c.remove() }
        let result = try c.runToCompletion()
        #expect(result.stdout.contains("null=0"), "\(result.stdout)\n\(result.stderr)\n\(agent.log)")
    }

    @Test func aNotifiedSyscallSondeDoesNotEmulateGetsTheDefaultErrno() async throws {
        let agent = try SupervisorAgent(policy: Self.policy)
        defer { agent.stop() }
        let c = try agent.container("mkdir /root/x; echo mkdir=$?; mknod /root/null c 1 3; echo null=$?")
        defer { c.remove() }
        // A profile that sends more than the policy knows: mkdir must be answered, not left hanging.
        try c.editConfig { config in
            var linux = config["linux"] as! [String: Any]
            var seccomp = agent.seccomp(metadata: "sonde-test")
            seccomp["syscalls"] = [["names": ["mknod", "mknodat", "mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"]]
            linux["seccomp"] = seccomp
            config["linux"] = linux
        }
        let result = try c.runToCompletion()
        #expect(result.stdout.contains("mkdir=1") && result.stdout.contains("null=0"), "\(result.stdout)\n\(result.stderr)\n\(agent.log)")
        #expect(!FileManager.default.fileExists(atPath: c.rootfs.appendingPathComponent("root/x").path))
        try await agent.settle(c)
        let mkdir = agent.events.filter { ($0["rule"] as? String)?.contains("is not emulated") == true }
        #expect(mkdir.first?["error"] as? String == "EPERM", "\(agent.events)")
    }

    @Test func aContainerNoPolicyEntryMatchesGetsTheDefault() async throws {
        let agent = try SupervisorAgent(policy: Self.policy)
        defer { agent.stop() }
        let c = try agent.container("mknod /root/null c 1 3; echo null=$?", metadata: "someone-else")
        defer { c.remove() }
        let result = try c.runToCompletion()
        #expect(result.stdout.contains("null=1"), "\(result.stdout)\n\(agent.log)")
        #expect(deviceNode(c.rootfs.appendingPathComponent("root/null").path) == nil)
        #expect(agent.log.contains("no policy entry matches"))
    }

    @Test func aReloadedPolicyAppliesToRunningContainersAndAStoppedAgentMeansENOSYS() async throws {
        let agent = try SupervisorAgent(policy: Self.policy)
        defer { agent.stop() }
        let step = { (n: Int) in "while [ ! -e /tmp/go\(n) ]; do usleep 20000; done; mknod /root/n\(n) c 1 7 2>/tmp/err\(n); echo $? > /tmp/rc\(n)" }
        let c = try agent.container([step(1), step(2), step(3), "sleep 100"].joined(separator: "; "))
        defer { c.remove() }
        try c.start()
        let tmp = c.rootfs.appendingPathComponent("tmp")
        func go(_ n: Int) async throws -> String {
            _ = FileManager.default.createFile(atPath: tmp.appendingPathComponent("go\(n)").path, contents: nil)
            let rc = tmp.appendingPathComponent("rc\(n)").path
            guard try await eventually({ ((try? String(contentsOfFile: rc, encoding: .utf8)) ?? "").hasSuffix("\n") }) else {
                throw TestFailure("step \(n) did not finish: \(agent.log)")
            }
            return (try String(contentsOfFile: rc, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)
                + " " + ((try? String(contentsOfFile: tmp.appendingPathComponent("err\(n)").path, encoding: .utf8)) ?? "")
        }
        // 1:7 (/dev/full) is not in the policy yet.
        let first = try await go(1)
        #expect(first.hasPrefix("1 ") && first.contains("Operation not permitted"), "\(first)")
        // SIGHUP re-reads the file; the running container keeps its fd and gets the new rules.
        try Self.policy.replacingOccurrences(of: #"{ "type": "char", "major": 1, "minor": 5 }"#,
                                             with: #"{ "type": "char", "major": 1, "minor": 5 }, { "type": "char", "major": 1, "minor": 7 }"#)
            .write(toFile: agent.policyPath, atomically: true, encoding: .utf8)
        agent.signal(SIGHUP)
        #expect(try await eventually { agent.log.contains("policy reloaded") }, "\(agent.log)")
        let second = try await go(2)
        #expect(second.hasPrefix("0 "), "\(second)")
        #expect(deviceNode(c.rootfs.appendingPathComponent("root/n2").path)?.minor == 7)
        // Without the agent the notify fd is closed: the kernel fails the filter's notified calls with ENOSYS.
        agent.stop()
        let third = try await go(3)
        #expect(third.hasPrefix("1 ") && third.contains("Function not implemented"), "\(third)")
    }

    @Test func anEditedPolicyFileIsReloadedWithoutASignal() async throws {
        let agent = try SupervisorAgent(policy: Self.policy)
        defer { agent.stop() }
        try await Task.sleep(for: .milliseconds(1200))
        try Self.policy.replacingOccurrences(of: #""default": "EPERM""#, with: #""default": "EACCES""#)
            .write(toFile: agent.policyPath, atomically: true, encoding: .utf8)
        #expect(try await eventually { agent.log.contains("policy reloaded") }, "\(agent.log)")
        let c = try agent.container("mknod /root/disk b 8 0; echo disk=$?")
        defer { c.remove() }
        let result = try c.runToCompletion()
        #expect(result.stderr.contains("Permission denied"), "\(result.stdout)\n\(result.stderr)")
    }

    @Test func aPolicyWithErrorsIsRejectedOnReloadAndTheOldOneStays() async throws {
        let agent = try SupervisorAgent(policy: Self.policy)
        defer { agent.stop() }
        try #"{"containers": [{"mknod": [{"type": "char", "major": 1}]}]}"#.write(toFile: agent.policyPath, atomically: true, encoding: .utf8)
        agent.signal(SIGHUP)
        #expect(try await eventually { agent.log.contains("policy reload failed") }, "\(agent.log)")
        #expect(agent.log.contains("containers[0].mknod[0].major"), "\(agent.log)")
        let c = try agent.container("mknod /root/null c 1 3; echo null=$?")
        defer { c.remove() }
        let result = try c.runToCompletion()
        #expect(result.stdout.contains("null=0"), "\(result.stdout)\n\(agent.log)")
    }

    @Test func supervisedRunWithoutARuntime() async throws {
        let directory = "/tmp/sonde-sv-run-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.policy.replacingOccurrences(of: #""match": { "metadata": "sonde-test" },"#, with: "")
            .write(toFile: directory + "/policy.json", atomically: true, encoding: .utf8)
        let result = try run(sondeExecutable, ["supervise", "run", "--policy", directory + "/policy.json", "--events", "-o", "json", "--",
                                               "/bin/sh", "-c", "mknod \(directory)/null c 1 3; echo null=$?; mknod \(directory)/disk b 8 0; echo disk=$?; grep -E '^Sig(Blk|Ign)' /proc/self/status; exit 7"])
        #expect(result.status == 7, "\(result.stderr)")
        #expect(result.stdout.contains("null=0") && result.stdout.contains("disk=1"), "\(result.stdout)\n\(result.stderr)")
        #expect(deviceNode(directory + "/null")?.isChar == true)
        #expect(result.stdout.contains(#""verdict":"deny""#) && result.stdout.contains(#""error":"EPERM""#), "\(result.stdout)")
        // The agent blocks HUP, INT and TERM for its sigwait thread: its command gets none of that.
        for line in result.stdout.split(separator: "\n") where line.hasPrefix("SigBlk") || line.hasPrefix("SigIgn") {
            let mask = UInt64(line.split(separator: "\t").last ?? "", radix: 16) ?? ~0
            #expect(mask & (1 << (SIGHUP - 1) | 1 << (SIGINT - 1) | 1 << (SIGTERM - 1)) == 0, "\(line)")
        }
    }

    @Test func aSuccessorAgentTakesOverRunningContainersWithoutLosingACall() async throws {
        let first = try SupervisorAgent(policy: Self.policy)
        defer { first.stop() }
        let step = { (n: Int) in "while [ ! -e /tmp/go\(n) ]; do usleep 20000; done; mknod /root/n\(n) c 1 3 2>/tmp/err\(n); echo $? > /tmp/rc\(n)" }
        let c = try first.container([step(1), step(2), "sleep 100"].joined(separator: "; "))
        defer { c.remove() }
        try c.start()
        let tmp = c.rootfs.appendingPathComponent("tmp")
        func go(_ n: Int) async throws -> String {
            _ = FileManager.default.createFile(atPath: tmp.appendingPathComponent("go\(n)").path, contents: nil)
            let rc = tmp.appendingPathComponent("rc\(n)").path
            guard try await eventually({ ((try? String(contentsOfFile: rc, encoding: .utf8)) ?? "").hasSuffix("\n") }) else {
                throw TestFailure("step \(n) did not finish: \(first.log)")
            }
            return (try String(contentsOfFile: rc, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try await go(1) == "0")

        let second = try SupervisorAgent(succeeding: first)
        defer { second.stop() }
        #expect(try await eventually { second.log.contains("took over 1 containers") }, "\(second.log)\n\(first.log)")
        #expect(try await eventually { !first.process.isRunning }, "\(first.log)")
        #expect(first.process.terminationStatus == 0 && first.log.contains("handed over 1 containers"), "\(first.log)")

        // The running container's next call is answered by the successor.
        #expect(try await go(2) == "0", "\(second.log)")
        #expect(deviceNode(c.rootfs.appendingPathComponent("root/n2").path)?.isChar == true)
        #expect(try await eventually { second.events.contains { ($0["args"] as? String)?.contains("/root/n2") == true } }, "\(second.events)")
        // And it serves new containers on the socket it inherited.
        let fresh = try second.container("mknod /root/null c 1 3; echo null=$?")
        defer { fresh.remove() }
        let result = try fresh.runToCompletion()
        #expect(result.stdout.contains("null=0"), "\(result.stdout)\n\(result.stderr)\n\(second.log)")
    }

    @Test func aPolicyWithErrorsStopsTheCommandWithTheKeyNamed() async throws {
        let path = "/tmp/sonde-sv-badpolicy-\(getpid()).json"
        try #"{"containers": [{"mount": [{"fstype": "tmpfs", "flags": ["nosiud"]}]}]}"#.write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        let result = try run(sondeExecutable, ["supervise", "--socket", "/tmp/sonde-sv-never-\(getpid()).sock", "--policy", path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("policy \(path): containers[0].mount[0].flags[0]: unknown mount flag 'nosiud'"), "\(result.stderr)")
        let profile = try run(sondeExecutable, ["supervise", "profile", "--policy", path + ".missing"])
        // A second agent on a live socket is refused (it would silently steal the path).
        let agent = try SupervisorAgent(policy: Self.policy)
        defer { agent.stop() }
        let second = try run(sondeExecutable, ["supervise", "--socket", agent.socket, "--policy", agent.policyPath])
        #expect(second.status != 0 && second.stderr.contains("an agent is already serving"), "\(second.stderr)")
        #expect(profile.status != 0 && profile.stderr.contains("cannot read policy"), "\(profile.stderr)")
    }

    @Test func killAndLogOnlyEntries() async throws {
        let policy = """
        { "containers": [
            { "name": "strict", "match": { "metadata": "strict" }, "mknod": [ { "type": "char", "major": 1, "minor": 3 } ], "default": "kill" },
            { "name": "watch", "match": { "metadata": "watch" }, "mknod": [ { "type": "char", "major": 1, "minor": 3 } ], "logOnly": true } ] }
        """
        let agent = try SupervisorAgent(policy: policy)
        defer { agent.stop() }
        // Default "kill": the caller dies of SIGKILL instead of getting an errno.
        let strict = try agent.container("mknod /root/null c 1 3; echo null=$?; mknod /root/disk b 8 0; echo after=$?", metadata: "strict")
        defer { strict.remove() }
        let killed = try strict.runToCompletion()
        // (busybox sh runs mknod as a child: the child is killed, the shell sees 128 + SIGKILL.)
        #expect(killed.stdout.contains("null=0") && killed.stdout.contains("after=137"), "\(killed.stdout)\n\(killed.stderr)")
        #expect(deviceNode(strict.rootfs.appendingPathComponent("root/disk").path) == nil)
        try await agent.settle(strict)
        #expect(agent.events.contains { $0["verdict"] as? String == "kill" }, "\(agent.events)")
        // Log-only: decisions are recorded, nothing is done for the caller; the kernel runs the call
        // with the container's own rights (no CAP_MKNOD: EPERM), as without sonde.
        let watched = try agent.container("mknod /root/null c 1 3; echo null=$?; mkfifo /root/fifo; echo fifo=$?", metadata: "watch")
        defer { watched.remove() }
        let result = try watched.runToCompletion()
        #expect(result.stdout.contains("null=1") && result.stdout.contains("fifo=0"), "\(result.stdout)\n\(result.stderr)")
        #expect(deviceNode(watched.rootfs.appendingPathComponent("root/null").path) == nil)
        try await agent.settle(watched)
        let verdicts = agent.events.filter { ($0["container"] as? [String: Any])?["id"] as? String == watched.name }.compactMap { $0["verdict"] as? String }
        #expect(verdicts == ["would-allow", "would-deny"], "\(verdicts)")
    }

    @Test func manyContainersAtOnceAreEachAnsweredInFull() async throws {
        let agent = try SupervisorAgent(policy: Self.policy)
        defer { agent.stop() }
        let containers = try (0..<6).map { _ in
            try agent.container("while [ ! -e /tmp/go ]; do usleep 20000; done; /bin/probe mknod-loop 300 /dev c 1 3 > /tmp/result")
        }
        defer { for c in containers { c.remove() } }
        for c in containers { try c.start() }
        for c in containers { _ = FileManager.default.createFile(atPath: c.rootfs.appendingPathComponent("tmp/go").path, contents: nil) }
        for c in containers {
            let path = c.rootfs.appendingPathComponent("tmp/result").path
            let done = try await eventually(timeout: .seconds(60)) { ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").hasSuffix("\n") }
            #expect(done, "\(c.name) did not finish: \(agent.log)")
            let result = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            #expect(result.contains("calls=300 ok=300 "), "\(c.name): \(result)")
        }
        // An event is written just after its answer: the last ones may trail the containers' results.
        #expect(try await eventually { agent.events.filter { $0["verdict"] as? String == "allow" }.count == 1800 })
    }
}
