import Foundation
import Testing
import TestSupport

/// A `sonde audit` running in the background, its output in files; stopped with SIGINT like Ctrl-C.
final class AuditProcess: @unchecked Sendable {
    let directory: URL
    private let process = Process()

    init(_ arguments: [String]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-audit-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for name in ["stdout", "stderr"] { FileManager.default.createFile(atPath: directory.appendingPathComponent(name).path, contents: nil) }
        process.executableURL = URL(fileURLWithPath: sondeExecutable)
        process.arguments = ["audit"] + arguments
        process.standardOutput = try FileHandle(forWritingTo: directory.appendingPathComponent("stdout"))
        process.standardError = try FileHandle(forWritingTo: directory.appendingPathComponent("stderr"))
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var stdout: String { (try? String(contentsOf: directory.appendingPathComponent("stdout"), encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: directory.appendingPathComponent("stderr"), encoding: .utf8)) ?? "" }

    /// Waits for the notice printed once every gadget is attached.
    func waitUntilAuditing() async throws {
        let attached = try await eventually(timeout: .seconds(60)) { self.stderr.contains("auditing with") || !self.process.isRunning }
        guard attached, process.isRunning else { throw TestFailure("sonde audit did not start: \(stderr)") }
    }

    /// The alerts so far, one JSON object each.
    var alerts: [[String: Any]] {
        stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func alerts(rule: String, container: String) -> [[String: Any]] {
        alerts.filter { $0["rule"] as? String == rule && $0["container"] as? String == container }
    }

    /// SIGINT, then the exit status.
    func stop() -> Int32 {
        if process.isRunning { process.interrupt() }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func remove() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }
}

/// `sonde audit` with its default rules against real runc containers: for each rule one container
/// does the forbidden thing (an alert naming the rule and the container) and one does something
/// harmless that must not alert. One audit process serves all of them.
@Suite(.serialized) struct AuditTests {
    /// Adds capabilities to a container's process (runc's default spec grants only AUDIT_WRITE,
    /// KILL and NET_BIND_SERVICE).
    func grant(_ capabilities: [String], to container: RuncContainer) throws {
        let url = container.bundle.appendingPathComponent("config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var process = config["process"] as! [String: Any]
        var caps = process["capabilities"] as! [String: Any]
        for set in ["bounding", "effective", "permitted"] {
            caps[set] = ((caps[set] as? [String]) ?? []) + capabilities
        }
        process["capabilities"] = caps
        config["process"] = process
        try JSONSerialization.data(withJSONObject: config).write(to: url)
    }

    /// A static program that attaches to a child of its own with ptrace, then lets it go.
    func ptraceBinary() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-audit-ptrace-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let source = directory.appendingPathComponent("tracer.c").path
        let binary = directory.appendingPathComponent("tracer").path
        try """
            #include <signal.h>
            #include <stdio.h>
            #include <sys/ptrace.h>
            #include <sys/wait.h>
            #include <unistd.h>
            int main(void) {
                pid_t child = fork();
                if (child == 0) { pause(); return 0; }
                long r = ptrace(PTRACE_ATTACH, child, 0, 0);
                int status;
                if (r == 0) { waitpid(child, &status, 0); ptrace(PTRACE_DETACH, child, 0, 0); }
                printf("attach: %ld\\n", r);
                kill(child, SIGKILL);
                waitpid(child, &status, 0);
                sleep(1); /* see linger */
                return r == 0 ? 0 : 1;
            }
            """.write(toFile: source, atomically: true, encoding: .utf8)
        let built = try run("/usr/bin/gcc", ["-O1", "-static", "-o", binary, source])
        guard built.status == 0 else { throw TestFailure("gcc failed: \(built.stderr)") }
        return binary
    }

    @Test func eachDefaultRuleAlertsOnItsContainerAndNotOnTheHarmlessOne() async throws {
        try requireRoot()
        let tracer = try ptraceBinary()
        defer { try? FileManager.default.removeItem(atPath: (tracer as NSString).deletingLastPathComponent) }

        // Every container lives a second after its act: sonde names a container from the runtime's
        // state, which runc deletes with the container; events of a cgroup that ends before it is
        // identified are counted, not shown.
        let linger = "sleep 1"
        // (rule, container doing it, harmless container)
        var cases: [(rule: String, bad: RuncContainer, good: RuncContainer)] = []
        cases.append(("shell-in-container",
                      try RuncContainer(prefix: "sonde-au-shell", args: ["sh", "-c", "sh -c 'echo inner'; \(linger)"]),
                      try RuncContainer(prefix: "sonde-au-noshell", args: ["/bin/sleep", "1"])))
        cases.append(("write-under-etc",
                      try RuncContainer(prefix: "sonde-au-etcw", args: ["sh", "-c", "echo evil >> /etc/passwd; echo x > /etc/new.conf; \(linger)"]),
                      try RuncContainer(prefix: "sonde-au-etcr", args: ["sh", "-c", "cat /etc/passwd > /dev/null; ls /etc; echo ok > /tmp/f; \(linger)"])))
        cases.append(("mount-in-container",
                      try RuncContainer(prefix: "sonde-au-mount", args: ["sh", "-c", "mkdir -p /tmp/m; mount -t tmpfs none /tmp/m; \(linger)"]),
                      try RuncContainer(prefix: "sonde-au-nomount", args: ["sh", "-c", "cat /proc/mounts > /dev/null; df > /dev/null; \(linger)"])))
        cases.append(("ptrace-in-container",
                      try RuncContainer(prefix: "sonde-au-ptrace", args: ["/bin/tracer"], extraBinaries: [tracer]),
                      try RuncContainer(prefix: "sonde-au-ps", args: ["sh", "-c", "cat /proc/1/status > /dev/null; ps > /dev/null; \(linger)"])))
        let netAdmin = try RuncContainer(prefix: "sonde-au-cap", args: ["sh", "-c", "ip link set lo down; \(linger)"])
        let holdsOnly = try RuncContainer(prefix: "sonde-au-nocap", args: ["sh", "-c", "ip link show > /dev/null; cat /etc/passwd > /dev/null; \(linger)"])
        // runc brings lo up itself: taking it down is what needs CAP_NET_ADMIN (setting a flag that
        // is already set checks nothing). Both hold CAP_NET_ADMIN (the second CAP_SYS_ADMIN too, which the kernel checks for memory accounting); only the first uses one.
        try grant(["CAP_NET_ADMIN"], to: netAdmin)
        try grant(["CAP_NET_ADMIN", "CAP_SYS_ADMIN"], to: holdsOnly)
        cases.append(("privileged-capability", netAdmin, holdsOnly))
        defer { for c in cases { c.bad.remove(); c.good.remove() } }

        // Every runc container on the host: those of this test start after the audit does.
        let audit = try AuditProcess(["--runtime", "runc", "--no-daemon"])
        defer { audit.remove() }
        try await audit.waitUntilAuditing()
        for c in cases {
            for container in [c.bad, c.good] {
                let result = try container.runToCompletion()
                if container === c.bad && c.rule == "ptrace-in-container" {
                    #expect(result.status == 0 && result.stdout.contains("attach: 0"), "the tracer failed: \(result)")
                }
            }
        }
        let all = try await eventually(timeout: .seconds(20)) {
            cases.allSatisfy { !audit.alerts(rule: $0.rule, container: $0.bad.name).isEmpty }
        }
        // Time for a late alert of a harmless container to show up, were there one.
        try await Task.sleep(for: .seconds(1))
        let status = audit.stop()
        #expect(status == 0, "\(audit.stderr)")
        #expect(all, "missing alerts; got: \(audit.stdout)\nstderr: \(audit.stderr)")

        for c in cases {
            let alerts = audit.alerts(rule: c.rule, container: c.bad.name)
            #expect(!alerts.isEmpty, "no \(c.rule) alert for \(c.bad.name)")
            #expect(audit.alerts(rule: c.rule, container: c.good.name).isEmpty,
                    "\(c.rule) alerted on the harmless \(c.good.name): \(audit.alerts(rule: c.rule, container: c.good.name))")
            if let alert = alerts.first {
                #expect(alert["severity"] as? String != nil)
                #expect((alert["message"] as? String)?.contains(c.bad.name) == true, "\(alert)")
                let event = alert["event"] as? [String: Any]
                #expect((event?["container"] as? [String: Any])?["name"] as? String == c.bad.name)
                #expect(event?["pid"] as? Int != nil && event?["comm"] as? String != nil)
            }
        }
        // What each alert says about the act itself.
        let shell = audit.alerts(rule: "shell-in-container", container: cases[0].bad.name)
        #expect(shell.contains { ($0["message"] as? String)?.contains("/bin/sh started in container \(cases[0].bad.name)") == true
            && ($0["message"] as? String)?.contains(": sh -c sh -c 'echo inner'") == true }, "\(shell)")
        let writes = audit.alerts(rule: "write-under-etc", container: cases[1].bad.name).compactMap { ($0["event"] as? [String: Any])?["path"] as? String }
        #expect(writes.contains("/etc/passwd") && writes.contains("/etc/new.conf"), "\(writes)")
        let mount = audit.alerts(rule: "mount-in-container", container: cases[2].bad.name).first?["event"] as? [String: Any]
        #expect(mount?["target"] as? String == "/tmp/m")
        #expect(mount?["fstype"] as? String == "tmpfs")
        #expect(mount?["error"] as? String == "EPERM", "without CAP_SYS_ADMIN the attempt fails, and is reported all the same")
        let ptrace = audit.alerts(rule: "ptrace-in-container", container: cases[3].bad.name).compactMap { ($0["event"] as? [String: Any])?["request"] as? String }
        #expect(ptrace.contains("PTRACE_ATTACH"), "\(ptrace)")
        let caps = audit.alerts(rule: "privileged-capability", container: netAdmin.name)
        #expect(caps.count == 1, "once per container and capability: \(caps)")
        #expect((caps.first?["event"] as? [String: Any])?["cap"] as? String == "CAP_NET_ADMIN")
        // The harmless shell-free container raised nothing at all.
        #expect(!audit.alerts.contains { $0["container"] as? String == cases[0].good.name })
    }

    @Test func aRuleFileOfOnesOwnLoadsOnlyTheGadgetsItNeeds() async throws {
        try requireRoot()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-audit-rules-\(getpid()).yaml")
        try """
            rules:
              - name: marker-exec
                source: exec
                condition: [path = /bin/true, args ~ audit-marker]
                severity: info
                message: "{container} ran {args}"
              - name: marker-loud
                source: exec
                condition: [path = /bin/true, args ~ audit-other]
                severity: error
                message: "{container} ran {args}"
            """.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let c = try RuncContainer(prefix: "sonde-au-own", args: ["sh", "-c", "/bin/true audit-marker; /bin/true audit-other; sleep 1"])
        defer { c.remove() }
        let audit = try AuditProcess(["--rules", file.path, "--runtime", "runc", "-o", "columns", "--min-severity", "warning"])
        defer { audit.remove() }
        try await audit.waitUntilAuditing()
        #expect(audit.stderr.contains("auditing with 2 rules; gadgets: exec\n"), "\(audit.stderr)")
        _ = try c.runToCompletion()
        let seen = try await eventually { audit.stdout.contains(c.name) }
        try await Task.sleep(for: .milliseconds(500))
        #expect(audit.stop() == 0)
        #expect(seen, "\(audit.stdout) \(audit.stderr)")
        let lines = audit.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("TIME") == true)
        let alert = try #require(lines.first { $0.contains(c.name) })
        #expect(alert.contains(" error ") && alert.contains("marker-loud") && alert.contains("\(c.name) ran /bin/true audit-other"), "\(alert)")
        // The info rule matched too, below --min-severity.
        #expect(!audit.stdout.contains("marker-exec"), "\(audit.stdout)")
        #expect(lines.count == 2, "\(audit.stdout)")
    }

    @Test func commandLineListsPrintsAndChecksRules() throws {
        let printed = try run(sondeExecutable, ["audit", "--print-default-rules"])
        #expect(printed.status == 0)
        #expect(printed.stdout.hasPrefix("# sonde audit: the default rules."))
        let listed = try run(sondeExecutable, ["audit", "--list-rules"])
        #expect(listed.status == 0)
        #expect(listed.stdout.split(separator: "\n").first?.hasPrefix("RULE") == true)
        for name in ["shell-in-container", "write-under-etc", "mount-in-container", "ptrace-in-container", "privileged-capability"] {
            #expect(listed.stdout.contains(name))
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-audit-bad-\(getpid()).yaml")
        try "rules:\n  - name: bad\n    source: open\n    condition: 'path ~ (['\n    severity: info\n    message: m\n"
            .write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let bad = try run(sondeExecutable, ["audit", "--rules", file.path, "--check"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("\(file.path):4: rule 'bad':") && bad.stderr.contains("not a valid regular expression"), "\(bad.stderr)")
        let missing = try run(sondeExecutable, ["audit", "--rules", "/nonexistent/rules.yaml", "--check"])
        #expect(missing.status != 0 && missing.stderr.contains("cannot read the rule file /nonexistent/rules.yaml"))
    }
}

/// The default rule on the supervisor's decisions, read from a daemon that supervises two
/// containers: a denied mknod alerts, an allowed one does not.
@Suite(.serialized) struct AuditSupervisorTests {
    @Test func aDeniedCallAlertsAndAnAllowedOneDoesNot() async throws {
        try requireRoot()
        let directory = NSTemporaryDirectory() + "sonde-au-sv-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let policy = directory + "/policy.json"
        try SupervisorIntegrationTests.policy.write(toFile: policy, atomically: true, encoding: .utf8)
        let agentSocket = directory + "/agent.sock"
        let daemon = try DaemonProcess(recording: [], config: ["record": ["enabled": false],
                                                               "supervise": ["socket": agentSocket, "policy": policy]])
        defer { daemon.remove() }
        try await daemon.start()

        // The policy allows the null and zero character devices and refuses block devices.
        let denied = try RuncContainer(prefix: "sonde-au-svdeny", args: ["sh", "-c", "mknod /root/disk b 8 0; echo disk=$?; sleep 1"])
        let allowed = try RuncContainer(prefix: "sonde-au-svallow", args: ["sh", "-c", "mknod /root/null c 1 3; echo null=$?; sleep 1"])
        defer { denied.remove(); allowed.remove() }
        try denied.supervise(socket: agentSocket, metadata: "sonde-test")
        try allowed.supervise(socket: agentSocket, metadata: "sonde-test")

        let audit = try AuditProcess(["--runtime", "runc", "--daemon-socket", daemon.socket])
        defer { audit.remove() }
        try await audit.waitUntilAuditing()
        let refused = try denied.runToCompletion()
        #expect(refused.stdout.contains("disk=1"), "\(refused)\n\(daemon.log)")
        let accepted = try allowed.runToCompletion()
        #expect(accepted.stdout.contains("null=0"), "\(accepted)\n\(daemon.log)")

        let seen = try await eventually(timeout: .seconds(10)) {
            !audit.alerts(rule: "supervisor-denied", container: denied.name).isEmpty
        }
        try await Task.sleep(for: .seconds(1))
        #expect(audit.stop() == 0, "\(audit.stderr)")
        #expect(seen, "\(audit.stdout)\n\(audit.stderr)\n\(daemon.log)")
        let alert = try #require(audit.alerts(rule: "supervisor-denied", container: denied.name).first)
        #expect((alert["message"] as? String)?.contains("supervisor deny mknodat(") == true, "\(alert)")
        #expect((alert["message"] as? String)?.contains("/root/disk") == true, "\(alert)")
        #expect((alert["event"] as? [String: Any])?["error"] as? String == "EPERM", "\(alert)")
        #expect(audit.alerts(rule: "supervisor-denied", container: allowed.name).isEmpty, "\(audit.stdout)")
        #expect(!audit.stderr.contains("stays silent"))
    }
}
