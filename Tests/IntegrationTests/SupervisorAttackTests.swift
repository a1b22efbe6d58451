import Foundation
import Testing
import TestSupport

/// The security issue's attacks on the seccomp supervisor, each made by a hostile runc container
/// against a policy shaped like the README's (proc, binds, tmpfs, trusted.overlay.opaque), each
/// asserting that the attack fails and that the agent keeps serving. Nothing here writes to
/// /proc/sys: the probe opens for writing and closes. See docs/supervisor.md for the threat model.
@Suite(.serialized) struct SupervisorAttackTests {
    static let policy = """
    { "default": "EPERM",
      "containers": [
        { "name": "any-uid", "match": { "metadata": "any-uid" }, "allowNonRootCallers": true,
          "mknod": [ { "type": "fifo" } ], "mount": [ { "fstype": "tmpfs" } ] },
        { "name": "readme", "match": { "metadata": "sonde-test" },
          "mknod": [ { "type": "char", "major": 1, "minor": 3 }, { "type": "fifo" } ],
          "mount": [ { "fstype": "proc" }, { "fstype": "sysfs" }, { "fstype": "tmpfs" }, { "fstype": "bind" } ],
          "setxattr": [ "trusted.overlay.opaque", "security.capability" ] } ] }
    """

    /// The container's caller after the attack: it can still have an allowed call answered.
    func agentStillServes(_ agent: SupervisorAgent) throws {
        let c = try agent.container("mknod /root/null c 1 3; echo null=$?")
        defer { c.remove() }
        let result = try c.runToCompletion()
        #expect(result.stdout.contains("null=0"), "the agent stopped serving: \(result.stdout)\n\(result.stderr)\n\(agent.log)")
    }

    func rules(_ agent: SupervisorAgent, _ c: RuncContainer, syscall: String) -> [String] {
        agent.events(of: c).filter { $0["syscall"] as? String == syscall }.compactMap { $0["rule"] as? String }
    }

    /// 1. A proc (or sysfs) mounted for a container without a user namespace has none of the runtime's
    /// masks, and its caller is host uid 0 for sysctls: core_pattern was writable - host code execution.
    @Test func noProcOrSysfsIsMountedForAContainerWithoutAUserNamespace() async throws {
        let agent = try SupervisorAgent(policy: Self.policy)
        defer { agent.stop() }
        let c = try agent.container("""
            mkdir -p /mnt/p /mnt/s; mount -t proc proc /mnt/p; echo proc=$?; /bin/probe openw /mnt/p/sys/kernel/core_pattern
            mount -t sysfs sysfs /mnt/s; echo sysfs=$?
            """)
        defer { c.remove() }
        let result = try c.runToCompletion()
        let out = result.stdout
        #expect(out.contains("proc=") && !out.contains("proc=0"), "\(out)\n\(result.stderr)\n\(agent.log)")
        #expect(out.contains("sysfs=") && !out.contains("sysfs=0"), "\(out)")
        #expect(!out.contains("openw=0"), "core_pattern opened for writing: \(out)")
        try await agent.settle(c)
        let reasons = rules(agent, c, syscall: "mount")
        #expect(reasons.count == 2 && reasons.allSatisfy { $0.contains("without its own user namespace") }, "\(reasons)")
        try agentStillServes(agent)
    }

    /// 2. A bind of /proc without MS_REC (open_tree without AT_RECURSIVE) left out the read-only
    /// /proc/sys and the masks. It is refused; a recursive one keeps them, so core_pattern is EROFS.
    @Test func aBindOfProcNeverUncoversWhatTheRuntimeMountedOver() async throws {
        let agent = try SupervisorAgent(policy: Self.policy)
        defer { agent.stop() }
        let c = try agent.container("""
            mkdir -p /mnt/b /mnt/r; mount --bind /proc /mnt/b; echo plain=$?; /bin/probe openw /mnt/b/sys/kernel/core_pattern
            mount -o rbind /proc /mnt/r; echo rbind=$?; /bin/probe openw /mnt/r/sys/kernel/core_pattern
            """)
        defer { c.remove() }
        let result = try c.runToCompletion()
        let out = result.stdout
        #expect(out.contains("plain=") && !out.contains("plain=0"), "\(out)\n\(result.stderr)\n\(agent.log)")
        #expect(out.contains("rbind=0"), "\(out)\n\(result.stderr)\n\(agent.log)")
        // Two probes: the refused bind (nothing mounted: ENOENT) and the recursive copy (EROFS).
        #expect(!out.contains("openw=0"), "core_pattern opened for writing: \(out)")
        #expect(out.contains("openw=-\(EROFS)"), "\(out)")
        try await agent.settle(c)
        #expect(rules(agent, c, syscall: "mount").contains { $0.contains("non-recursive bind") }, "\(agent.events(of: c))")
    }

    /// 3. The mount helper ran dumpable, as host root with every capability, inside the container's
    /// pid namespace: a process with CAP_SYS_PTRACE could seize it (CVE-2016-9962's class).
    @Test func theMountHelperCannotBePtracedFromTheContainer() async throws {
        let agent = try SupervisorAgent(policy: Self.policy)
        defer { agent.stop() }
        let script = """
            mkdir -p /mnt/t; mount -t tmpfs tmpfs /mnt/t; echo tmpfs=$? > /tmp/ptrace; /bin/probe ptrace-helpers >> /tmp/ptrace; touch /tmp/ready
            while [ ! -e /tmp/go ]; do usleep 20000; done
            """
        // Without a user namespace the helper stays out of the container's pid namespace; with one it
        // is there, but non-dumpable with its mm in the host's user namespace.
        let plain = try agent.container(script)
        let namespaced = try agent.container(script, prefix: "sonde-it-svu")
        defer { plain.remove(); namespaced.remove() }
        try namespaced.useUserNamespace(hostID: 300_000 + Int(UInt32.random(in: 0...100)) * 65536)
        for c in [plain, namespaced] {
            try c.addCapabilities(["CAP_SYS_PTRACE"])
            try c.start()
        }
        for c in [plain, namespaced] {
            let ready = try await eventually { FileManager.default.fileExists(atPath: c.rootfs.appendingPathComponent("tmp/ready").path) }
            #expect(ready, "\(agent.log)")
            let seen = (try? String(contentsOfFile: c.rootfs.appendingPathComponent("tmp/ptrace").path, encoding: .utf8)) ?? ""
            #expect(seen.contains("tmpfs=0") && seen.contains("attached=0"), "\(c.name): \(seen)\n\(agent.log)")
            if c === plain { #expect(seen.contains("helpers=0"), "the helper is visible in the container: \(seen)") }
            else { #expect(seen.contains("helpers=1") && seen.contains("errno=\(EPERM)"), "\(seen)") }
        }
        // From the host: each helper has an empty environment, /dev/null stdio and its socket, and
        // no capability beyond CAP_SYS_ADMIN and CAP_DAC_READ_SEARCH.
        let helpers = try processes(named: "sonde-supervis", below: agent.process.processIdentifier)
        #expect(helpers.count >= 2, "\(helpers)")
        for pid in helpers {
            let environment = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data([1])
            #expect(environment.isEmpty, "helper \(pid) has an environment")
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
            #expect(Set(fds).isSubset(of: ["0", "1", "2", "3"]), "helper \(pid) fds: \(fds)")
            for fd in ["0", "1", "2"] {
                #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")) == "/dev/null")
            }
            let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            #expect(status.contains("CapEff:\t0000000000200004"), "helper \(pid): \(status)")
        }
        for c in [plain, namespaced] {
            _ = FileManager.default.createFile(atPath: c.rootfs.appendingPathComponent("tmp/go").path, contents: nil)
        }
        try agentStillServes(agent)
    }

    /// 4. uid 1000 with no capabilities got a tmpfs mounted over root's /etc (and could have become
    /// container root); the decision never looked at who asked.
    @Test func aNonRootCallerGetsWhatTheKernelWouldGiveIt() async throws {
        let agent = try SupervisorAgent(policy: Self.policy)
        defer { agent.stop() }
        let c = try agent.container("""
            /bin/probe as 1000 1000 - /bin/sh -c 'mount -t tmpfs tmpfs /etc; echo etc=$?; mknod /tmp/null c 1 3; echo null=$?; /bin/probe xattr /etc trusted.overlay.opaque y'
            ls /etc/passwd && echo etc-intact
            """)
        defer { c.remove() }
        try c.addCapabilities(["CAP_SETUID", "CAP_SETGID"])   // for `probe as`; uid 1000 keeps none
        let result = try c.runToCompletion()
        let out = result.stdout
        #expect(out.contains("etc=") && !out.contains("etc=0"), "\(out)\n\(result.stderr)\n\(agent.log)")
        #expect(out.contains("null=") && !out.contains("null=0"), "\(out)")
        #expect(out.contains("xattr=-\(EPERM)"), "\(out)")
        #expect(out.contains("etc-intact"), "\(out)")
        try await agent.settle(c)
        let refused = agent.events(of: c).compactMap { $0["rule"] as? String }
        #expect(refused.count == 3 && refused.allSatisfy { $0.contains("not root in the container (uid 1000)") }, "\(refused)")
        // An entry that names non-root callers serves them (on a directory they own).
        let granted = try agent.container("/bin/probe as 1000 1000 - /bin/sh -c 'mount -t tmpfs tmpfs /home/u; echo own=$?'", metadata: "any-uid")
        defer { granted.remove() }
        try granted.addCapabilities(["CAP_SETUID", "CAP_SETGID"])
        let home = granted.rootfs.appendingPathComponent("home/u").path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        #expect(chown(home, 1000, 1000) == 0)
        let allowed = try granted.runToCompletion()
        #expect(allowed.stdout.contains("own=0"), "\(allowed.stdout)\n\(allowed.stderr)\n\(agent.log)")
    }

    /// 5. setxattr kept the agent's CAP_SYS_ADMIN and CAP_SETFCAP: file capabilities could be written
    /// on a root-owned binary by a container without CAP_SETFCAP.
    @Test func noAttributeIsSetWithTheAgentsCapabilities() async throws {
        let agent = try SupervisorAgent(policy: Self.policy)
        defer { agent.stop() }
        let c = try agent.container("/bin/probe fcap /bin/probe; /bin/probe xattr /etc trusted.overlay.opaque y")
        defer { c.remove() }
        let result = try c.runToCompletion()
        #expect(result.stdout.contains("fcap=-\(EPERM)"), "\(result.stdout)\n\(result.stderr)\n\(agent.log)")
        // The container's root may still set what the policy allows it.
        #expect(result.stdout.contains("xattr=0"), "\(result.stdout)")
        let attributes = try run("/usr/bin/python3", ["-c", "import os,sys; print(os.listxattr(sys.argv[1]))", c.rootfs.appendingPathComponent("bin/probe").path])
        #expect(!attributes.stdout.contains("security.capability"), "\(attributes.stdout)")
        try agentStillServes(agent)
    }

    /// 6. A process that made its own user namespace (as unshare -r does) has uid 0 and every capability -
    /// there. Its mknod and trusted.* were performed as if it were the container's root.
    @Test func aCallerInAUserNamespaceOfItsOwnIsNotTheContainersRoot() async throws {
        let agent = try SupervisorAgent(policy: Self.policy)
        defer { agent.stop() }
        let c = try agent.container("""
            /bin/probe userns /bin/sh -c 'mknod /root/n c 1 3; echo nested=$?; /bin/probe xattr /etc trusted.overlay.opaque y'
            mknod /root/m c 1 3; echo direct=$?
            """)
        defer { c.remove() }
        let result = try c.runToCompletion()
        let out = result.stdout
        #expect(out.contains("nested=") && !out.contains("nested=0"), "\(out)\n\(result.stderr)\n\(agent.log)")
        #expect(out.contains("xattr=-\(EPERM)"), "\(out)")
        #expect(out.contains("direct=0"), "\(out)")
        #expect(deviceNode(c.rootfs.appendingPathComponent("root/n").path) == nil)
        try await agent.settle(c)
        #expect(agent.events(of: c).filter { ($0["rule"] as? String)?.contains("user namespace of its own") == true }.count == 2,
                "\(agent.events(of: c))")
    }

    /// 7. `supervise profile` allowed everything by default (unshare(CLONE_NEWUSER), keyctl...) and
    /// let the newer mount API and fsetxattr past the policy and its events.
    @Test func theProfileDeniesByDefaultAndClosesTheSideDoors() async throws {
        let agent = try SupervisorAgent(policy: Self.policy)
        defer { agent.stop() }
        let profile = try run(sondeExecutable, ["supervise", "profile", "--policy", agent.policyPath, "--socket", agent.socket, "--metadata", "sonde-test"])
        #expect(profile.status == 0, "\(profile.stderr)")
        let document = try JSONSerialization.jsonObject(with: Data(profile.stdout.utf8)) as! [String: Any]
        let seccomp = (document["linux"] as! [String: Any])["seccomp"] as! [String: Any]
        let c = try agent.container("""
            /bin/probe unshare-user; /bin/probe keyctl; /bin/probe fsopen; /bin/probe listener
            mkdir -p /mnt/t; mount -t tmpfs tmpfs /mnt/t; echo tmpfs=$?; /bin/probe fxattr /etc trusted.overlay.opaque y
            """)
        defer { c.remove() }
        try c.editConfig { config in
            var linux = config["linux"] as! [String: Any]
            linux["seccomp"] = seccomp
            config["linux"] = linux
        }
        let result = try c.runToCompletion()
        let out = result.stdout
        #expect(out.contains("unshare=-\(EPERM)"), "\(out)\n\(result.stderr)\n\(agent.log)")
        #expect(out.contains("keyctl=-\(EPERM)"), "\(out)")
        #expect(out.contains("fsopen=-\(ENOSYS)"), "\(out)")
        #expect(out.contains("listener=-\(EPERM)"), "\(out)")
        #expect(out.contains("tmpfs=0") && out.contains("fxattr=0"), "\(out)\n\(result.stderr)\n\(agent.log)")
        try await agent.settle(c)
        #expect(agent.events(of: c).contains { $0["syscall"] as? String == "fsetxattr" && $0["verdict"] as? String == "allow" }, "\(agent.events(of: c))")
    }

    /// fsetxattr names its file by fd, which no root confines: a host directory's fd handed into the
    /// container (runc --preserve-fds) must not get a trusted.* attribute with the granted capability.
    @Test func anFdFromOutsideTheContainerGetsNoPrivilegedAttribute() async throws {
        let agent = try SupervisorAgent(policy: Self.policy)
        defer { agent.stop() }
        let outside = "/tmp/sonde-sv-leak-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: outside) }
        let c = try agent.container("/bin/probe fdxattr 3 trusted.overlay.opaque y; /bin/probe fxattr /etc trusted.overlay.opaque y")
        defer { c.remove() }
        // The shell opens the host directory as fd 3 and runc passes it in.
        let result = try run("/bin/sh", ["-c", "exec 3<\"$1\"; exec \(RuncContainer.runc) run --preserve-fds 1 --bundle \"$2\" \"$3\"", "sh",
                                        outside, c.bundle.path, c.name], timeout: 60)
        #expect(result.stdout.contains("fdxattr=-\(EPERM)"), "\(result.stdout)\n\(result.stderr)\n\(agent.log)")
        #expect(result.stdout.contains("fxattr=0"), "\(result.stdout)")
        let attributes = try run("/usr/bin/python3", ["-c", "import os,sys; print(os.listxattr(sys.argv[1]))", outside])
        #expect(!attributes.stdout.contains("trusted.overlay.opaque"), "\(attributes.stdout)")
    }

    /// 9 (the agent's part). Clients that connect to the agent's socket and never speak, past its fd
    /// limit: accept fails with EMFILE. The agent backs off and says so once (not a line every 10 ms),
    /// and serves runtimes again as soon as the silent clients are gone.
    @Test func silentClientsPastTheFdLimitAreWaitedOutAndTheAgentServesAgain() async throws {
        let agent = try SupervisorAgent(policy: Self.policy, fileLimit: 64)
        defer { agent.stop() }
        let flood = """
        import socket, sys, time
        held = []
        for _ in range(150):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.setblocking(False)
            try: s.connect(sys.argv[1])
            except (BlockingIOError, OSError): pass
            held.append(s)
        time.sleep(2)
        for s in held: s.close()
        print("closed", len(held))
        """
        let sent = try run("/usr/bin/python3", ["-c", flood, agent.socket], timeout: 60)
        #expect(sent.stdout.contains("closed 150"), "\(sent.stderr)")
        #expect(try await eventually { agent.log.contains("EMFILE") }, "\(agent.log)")
        try agentStillServes(agent)
        // One line when a shortage starts and one when it ends, however many retries between them
        // (the agent accepted the container's connection, so every shortage has ended).
        let starts = agent.log.components(separatedBy: "runtimes wait in the backlog").count - 1
        let ends = agent.log.components(separatedBy: "accepting again").count - 1
        #expect(starts >= 1 && starts == ends, "\(agent.log)")
        #expect(agent.process.isRunning)
        // And it still stops on SIGTERM: its signals need no fd (a dispatch signal source's event
        // loop, set up after a flood had taken every fd, once left it unstoppable but by SIGKILL).
        agent.signal(SIGTERM)
        #expect(try await eventually { !agent.process.isRunning }, "the agent did not stop on SIGTERM: \(agent.log)")
        #expect(agent.log.contains("stopping:"), "\(agent.log)")
    }

    /// 11. The emulation used the agent's supplementary groups: a caller without the agent's group
    /// could create in that group's directory, and one with a group of its own could not use it.
    @Test func aCallMakesUseOfTheCallersGroupsOnly() async throws {
        let agent = try SupervisorAgent(policy: Self.policy, groups: [4242])
        defer { agent.stop() }
        let c = try agent.container("/bin/probe as 1000 1000 4343 /bin/sh -c 'mknod /agents/p p; echo agents=$?; mknod /mine/p p; echo mine=$?'",
                                    metadata: "any-uid")
        defer { c.remove() }
        try c.addCapabilities(["CAP_SETUID", "CAP_SETGID"])
        for (name, group) in [("agents", 4242), ("mine", 4343)] {
            let path = c.rootfs.appendingPathComponent(name).path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            #expect(chown(path, 0, gid_t(group)) == 0 && chmod(path, 0o770) == 0)
        }
        let result = try c.runToCompletion()
        #expect(result.stdout.contains("agents=") && !result.stdout.contains("agents=0"), "\(result.stdout)\n\(result.stderr)\n\(agent.log)")
        #expect(result.stdout.contains("mine=0"), "\(result.stdout)\n\(result.stderr)\n\(agent.log)")
    }
}

extension RuncContainer {
    /// Adds capabilities to the container's process (bounding, effective, permitted).
    func addCapabilities(_ names: [String]) throws {
        try editConfig { config in
            var process = config["process"] as! [String: Any]
            var capabilities = process["capabilities"] as? [String: Any] ?? [:]
            for set in ["bounding", "effective", "permitted"] {
                capabilities[set] = (capabilities[set] as? [String] ?? []) + names
            }
            process["capabilities"] = capabilities
            config["process"] = process
        }
    }
}

/// Pids of the host's processes whose comm starts with `prefix` and that descend from `ancestor`.
func processes(named prefix: String, below ancestor: Int32) throws -> [Int32] {
    func parent(_ pid: Int32) -> Int32? {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        return status.split(separator: "\n").first { $0.hasPrefix("PPid:") }.flatMap { Int32($0.dropFirst(5).trimmingCharacters(in: .whitespaces)) }
    }
    func descends(_ pid: Int32) -> Bool {
        var current = pid
        while let up = parent(current), up > 1 {
            if up == ancestor { return true }
            current = up
        }
        return false
    }
    return try FileManager.default.contentsOfDirectory(atPath: "/proc").compactMap { Int32($0) }.filter { pid in
        ((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "").hasPrefix(prefix) && descends(pid)
    }
}
