import Containers
@testable import Gadgets
import Events
import LinuxKit
import Testing
@testable import Audit

/// Events as the gadgets make them, without the kernel.
func event(_ source: String, container: String? = "web-1", comm: String = "sh",
           _ fields: [(name: String, value: FieldValue)]) -> Event {
    let owner = container.map {
        Container(runtime: .runc, id: "id-" + $0, name: $0, cgroupPath: "/" + $0, cgroupID: 7,
                  pod: Pod(name: "web", namespace: "shop"))
    }
    return Event(timestamp: 1_700_000_000_123_456_789, source: source,
                 process: ProcessRef(pid: 42, tid: 42, ppid: 1, uid: 0, gid: 0, comm: comm),
                 cgroupID: 7, mountNamespaceID: 9, container: owner, fields: fields)
}

func parse(_ yaml: String) throws(SondeError) -> RuleSet {
    try RuleSet(yaml: yaml, file: "rules.yaml")
}

/// The error text of a rule file that must not load.
func problem(_ yaml: String) -> String {
    do {
        _ = try parse(yaml)
        return "(no error)"
    } catch {
        return error.description
    }
}

@Suite struct RuleParserTests {
    @Test func defaultRulesLoadAndNameTheirSources() throws {
        let set = try RuleSet(yaml: DefaultRules.yaml, file: DefaultRules.file)
        #expect(set.rules.map(\.name) == ["shell-in-container", "write-under-etc", "mount-in-container",
                                          "ptrace-in-container", "privileged-capability", "supervisor-denied"])
        #expect(set.sources == ["exec", "open", "mount", "capabilities", "ptrace", "supervise"])
        #expect(set.rules.allSatisfy { !$0.description.isEmpty })
    }

    @Test func conditionsCombineWithAllAnyNotAndLists() throws {
        let set = try parse("""
            rules:
              - name: r
                source: open
                condition:
                  all:
                    - path~^/etc/
                    - any:
                        - flags ~ O_WRONLY
                        - flags ~ O_RDWR
                    - not: comm in [runc, "ignored"]
                    - fd != ENOENT
                severity: notice
                message: "{comm} wrote {path} ({flags}) in {container}/{pod}/{namespace}: {fd} {{literal}}"
            """)
        let engine = AuditEngine(set)
        let write = event("open", [("flags", .string("O_WRONLY|O_CREAT")), ("path", .string("/etc/shadow")), ("fd", .result(3))])
        let alerts = engine.evaluate(write)
        #expect(alerts.count == 1)
        #expect(alerts.first?.message == "sh wrote /etc/shadow (O_WRONLY|O_CREAT) in web-1/web/shop: 3 {literal}")
        #expect(alerts.first?.severity == .notice)

        let read = event("open", [("flags", .string("O_RDONLY")), ("path", .string("/etc/passwd")), ("fd", .result(3))])
        #expect(engine.evaluate(read).isEmpty)
        let elsewhere = event("open", [("flags", .string("O_RDWR")), ("path", .string("/tmp/x")), ("fd", .result(3))])
        #expect(engine.evaluate(elsewhere).isEmpty)
        let runc = event("open", comm: "runc", [("flags", .string("O_RDWR")), ("path", .string("/etc/x")), ("fd", .result(3))])
        #expect(engine.evaluate(runc).isEmpty)
        let failed = event("open", [("flags", .string("O_RDWR")), ("path", .string("/etc/x")), ("fd", .result(-2))])
        #expect(engine.evaluate(failed).isEmpty, "fd != ENOENT")
        // Another source's events never reach the rule.
        #expect(engine.evaluate(event("exec", [("path", .string("/etc/x"))])).isEmpty)
    }

    @Test func aListIsAllAndNoConditionMatchesEverything() throws {
        let set = try parse("""
            rules:
              - name: every-ptrace
                source: ptrace
                severity: error
                message: "{request} on {target_pid}"
              - name: listed
                source: [exec, ptrace]
                condition: ['comm = sh', 'pid = 42']
                severity: info
                message: "{comm} {pid}"
            """)
        let engine = AuditEngine(set)
        let traced = engine.evaluate(event("ptrace", [("request", .string("PTRACE_ATTACH")), ("target_pid", .int(7))]))
        #expect(traced.map(\.rule) == ["every-ptrace", "listed"])
        #expect(traced.first?.message == "PTRACE_ATTACH on 7")
        #expect(engine.evaluate(event("exec", comm: "ls", [])).isEmpty)
        #expect(engine.evaluate(event("exec", [])).map(\.rule) == ["listed"])
    }

    @Test func listValuesMayBeQuoted() throws {
        let set = try parse("""
            rules:
              - name: r
                source: exec
                condition: 'comm in ["a b", ''c'', d]'
                severity: info
                message: m
            """)
        let engine = AuditEngine(set)
        #expect(engine.evaluate(event("exec", comm: "a b", [])).count == 1)
        #expect(engine.evaluate(event("exec", comm: "c", [])).count == 1)
        #expect(engine.evaluate(event("exec", comm: "d", [])).count == 1)
        #expect(engine.evaluate(event("exec", comm: "\"a b\"", [])).isEmpty)
        #expect(Severity.warning > .notice && Severity.critical > .error)
    }

    @Test func oncePerAlertsOnceForEachKey() throws {
        let set = try parse("""
            rules:
              - name: cap
                source: capabilities
                condition: cap in [CAP_SYS_ADMIN, CAP_NET_ADMIN]
                once_per: [container, cap]
                severity: warning
                message: "{container} used {cap}"
            """)
        let engine = AuditEngine(set)
        func check(_ cap: String, _ container: String) -> Int {
            engine.evaluate(event("capabilities", container: container, [("cap", .string(cap))])).count
        }
        #expect(check("CAP_SYS_ADMIN", "a") == 1)
        #expect(check("CAP_SYS_ADMIN", "a") == 0)
        #expect(check("CAP_NET_ADMIN", "a") == 1)
        #expect(check("CAP_SYS_ADMIN", "b") == 1)
        #expect(check("CAP_KILL", "c") == 0)
    }

    @Test func anEventWithoutContainerShowsADash() throws {
        let set = try parse("""
            rules:
              - name: r
                source: exec
                condition: container !~ .
                severity: info
                message: "in {container}"
            """)
        let alerts = AuditEngine(set).evaluate(event("exec", container: nil, []))
        #expect(alerts.first?.message == "in -")
        #expect(AuditEngine(set).evaluate(event("exec", [])).isEmpty)
    }

    @Test func alertJSONNamesRuleSeverityContainerPodAndEvent() throws {
        let set = try parse("""
            rules:
              - name: shell
                source: exec
                severity: warning
                message: "ran \\"{path}\\""
            """)
        let alert = try #require(AuditEngine(set).evaluate(event("exec", [("path", .string("/bin/sh\n"))])).first)
        let json = alert.json()
        #expect(json.hasPrefix("{\"time\":\"2023-11-14T22:13:20.123456789Z\",\"rule\":\"shell\",\"severity\":\"warning\","))
        #expect(json.contains("\"message\":\"ran \\\"/bin/sh\\\\n\\\"\""), "the message escapes the hostile text: \(json)")
        #expect(json.contains("\"source\":\"exec\",\"container\":\"web-1\",\"pod\":\"web\",\"namespace\":\"shop\",\"event\":{"))
        #expect(json.contains("\"pid\":42"))
        #expect(json.contains("\"path\":\"/bin/sh\\n\""))
        #expect(json.hasSuffix("}}"))
    }

    @Test func disabledRulesAreCheckedButNotRun() throws {
        let set = try parse("""
            rules:
              - name: off
                source: tcp
                severity: info
                message: "{dport}"
                enabled: false
            """)
        #expect(set.rules.isEmpty)
        #expect(set.sources.isEmpty)
        #expect(problem("""
            rules:
              - name: off
                source: tcp
                severity: info
                message: "{nosuch}"
                enabled: false
            """).contains("unknown field 'nosuch'"))
    }

    // MARK: errors

    @Test func unknownFieldNamesTheLineTheRuleAndTheSourcesFields() {
        let text = problem("""
            rules:
              - name: etc-write
                source: open
                condition:
                  - path ~ ^/etc
                  - filename = x
                severity: error
                message: "{path}"
            """)
        #expect(text.contains("rules.yaml:6: rule 'etc-write': unknown field 'filename'"), "\(text)")
        #expect(text.contains("valid fields: time, container"), "\(text)")
        #expect(text.contains("(source open)"), "\(text)")
    }

    @Test func aFieldMissingFromOneOfTheSourcesIsNamed() {
        let text = problem("""
            rules:
              - name: both
                source: [exec, open]
                condition: args ~ x
                severity: error
                message: "{comm}"
            """)
        #expect(text.contains("rules.yaml:4: rule 'both': source open: unknown field 'args'"), "\(text)")
    }

    @Test func badRegexBadTypeAndBadOperatorAreClear() {
        let regex = problem("""
            rules:
              - name: r
                source: exec
                condition: 'path ~ ([a-'
                severity: info
                message: m
            """)
        #expect(regex.contains("rules.yaml:4: rule 'r':") && regex.contains("not a valid regular expression"), "\(regex)")
        let type = problem("""
            rules:
              - name: r
                source: exec
                condition: pid = abc
                severity: info
                message: m
            """)
        #expect(type.contains("field 'pid' is of type integer"), "\(type)")
        let op = problem("""
            rules:
              - name: r
                source: exec
                condition: pid == 1
                severity: info
                message: m
            """)
        #expect(op.contains("the operator is =, not =="), "\(op)")
        let list = problem("""
            rules:
              - name: r
                source: capabilities
                condition: cap in CAP_SYS_ADMIN
                severity: info
                message: m
            """)
        #expect(list.contains("'in' takes a list"), "\(list)")
    }

    @Test func structuralErrorsAreAllReportedWithTheirLines() {
        let text = problem("""
            rules:
              - name: a
                source: nosuch
                severity: info
                message: m
              - name: b
                source: exec
                severity: loud
                message: m
              - name: c
                source: exec
                severity: info
              - name: d
                source: exec
                severity: info
                message: "{path"
                colour: red
              - name: a
                source: exec
                condition: {all: x}
                severity: info
                message: m
            """)
        #expect(text.contains("5 problems in the rules"), "\(text)")
        #expect(text.contains("rules.yaml:3: rule 'a': unknown source 'nosuch'"), "\(text)")
        #expect(text.contains("rules.yaml:8: rule 'b': unknown severity 'loud'"), "\(text)")
        #expect(text.contains("rules.yaml:10: rule 'c': no 'message'"), "\(text)")
        #expect(text.contains("rules.yaml:17: rule 'd': unknown key 'colour'"), "\(text)")
        #expect(text.contains("rules.yaml:20: rule 'a': 'all' takes a non-empty list"), "\(text)")
    }

    @Test func notAMappingOrNotYAMLIsRefused() {
        #expect(problem("- a\n- b\n").contains("a rule file is a mapping with the key 'rules'"))
        #expect(problem("rules: [a\n").contains("not valid YAML"))
        #expect(problem("rule: []\n").contains("unknown key 'rule'"))
        #expect(problem("rules: 3\n").contains("'rules' must be a list"))
        #expect(problem("""
            rules:
              - name: x
                source: exec
                severity: info
                message: m
              - name: x
                source: exec
                severity: info
                message: m
            """).contains("rules.yaml:6: rule 'x': a second rule with this name"))
    }

    @Test func messageTemplatesRejectUnknownFieldsAndLoneBraces() {
        #expect(problem("""
            rules:
              - name: m
                source: mount
                severity: info
                message: "{target} {nosuch}"
            """).contains("rules.yaml:5: rule 'm': message '{target} {nosuch}': unknown field 'nosuch'"))
        #expect(problem("""
            rules:
              - name: m
                source: mount
                severity: info
                message: "a } b"
            """).contains("a lone }"))
    }

    @Test func defaultRulesLeaveRuncsSetupOut() throws {
        let engine = AuditEngine(try RuleSet(yaml: DefaultRules.yaml, file: DefaultRules.file))
        func write(_ comm: String) -> [String] {
            engine.evaluate(event("open", comm: comm, [("fd", .result(3)), ("flags", .string("O_WRONLY|O_CREAT")),
                                                       ("path", .string("/etc/hosts"))])).map(\.rule)
        }
        #expect(write("runc").isEmpty)
        #expect(write("runc:[2:INIT]").isEmpty)
        #expect(write("runcx") == ["write-under-etc"])
        #expect(write("sh") == ["write-under-etc"])
        // Memory accounting checks CAP_SYS_ADMIN on brk or a write to a memfd: not a use of it.
        func cap(_ name: String, _ syscall: String, container: String) -> [String] {
            engine.evaluate(event("capabilities", container: container, comm: "app",
                                  [("cap", .string(name)), ("verdict", .string("allow")), ("syscall", .string(syscall))])).map(\.rule)
        }
        #expect(cap("CAP_SYS_ADMIN", "brk", container: "a").isEmpty)
        #expect(cap("CAP_SYS_ADMIN", "write", container: "a").isEmpty)
        #expect(cap("CAP_SYS_ADMIN", "", container: "a").isEmpty)
        #expect(cap("CAP_SYS_ADMIN", "mount", container: "a") == ["privileged-capability"])
        #expect(cap("CAP_NET_ADMIN", "write", container: "a") == ["privileged-capability"])
        #expect(cap("CAP_NET_ADMIN", "ioctl", container: "a").isEmpty, "once per container and capability")
        #expect(cap("CAP_NET_ADMIN", "ioctl", container: "b") == ["privileged-capability"])
        #expect(cap("CAP_KILL", "kill", container: "b").isEmpty)
    }

    @Test func supervisorDecisionsAreASource() throws {
        let set = try RuleSet(yaml: DefaultRules.yaml, file: DefaultRules.file)
        let engine = AuditEngine(set)
        let denied = event("supervise", [("syscall", .string("mount")), ("args", .string("\"/dev/sda\", \"/mnt\"")),
                                         ("verdict", .string("deny")), ("ret", .result(-1)), ("latency_us", .uint(12)),
                                         ("rule", .string("no-block-devices"))])
        let alerts = engine.evaluate(denied)
        #expect(alerts.map(\.rule) == ["supervisor-denied"])
        #expect(alerts.first?.message == "supervisor deny mount(\"/dev/sda\", \"/mnt\") of sh (pid 42) in container web-1: rule no-block-devices")
        let allowed = event("supervise", [("syscall", .string("mount")), ("verdict", .string("allow"))])
        #expect(engine.evaluate(allowed).isEmpty)
    }
}

@Suite struct AuditSummaryTests {
    @Test func warningsNameLossesAndEventsNotAudited() {
        var lossy = GadgetStats()
        lossy.lostRingBufferFull = 3
        let quiet = AuditSummary(gadgets: ["exec": GadgetStats()], withoutContainer: 0, forgottenKeys: 0)
        #expect(quiet.warnings.isEmpty)
        let summary = AuditSummary(gadgets: ["open": lossy, "exec": GadgetStats()], withoutContainer: 2, forgottenKeys: 1)
        #expect(summary.warnings == [
            "open: 3 events lost: 3 ring buffer full",
            "2 events not audited: their container had ended before they were read",
            "once_per memory was full 1 times and was emptied: some alerts may repeat",
        ])
    }
}
