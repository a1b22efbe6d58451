import Foundation
import Testing
import TestSupport
@testable import Syscalls

/// strace's classes as its 6.1 table (src/linux/x86_64/syscallent.h and syscallent-common.h)
/// gives them, read off the source for this test: a sample across every class.
@Suite struct TraceClassTests {
    @Test func classesOfASampleMatchStraceSyscallent() {
        let expected: [(String, TraceClass)] = [
            ("read", [.desc]), ("close", [.desc]), ("open", [.desc, .file]), ("openat", [.desc, .file]),
            ("stat", [.file, .stat, .statLike]), ("fstat", [.desc, .fstat, .statLike]),
            ("lstat", [.file, .lstat, .statLike]), ("newfstatat", [.desc, .file, .fstat, .statLike]),
            ("statx", [.desc, .file, .fstat, .statLike]), ("statfs", [.file, .statfs, .statfsLike]),
            ("fstatfs", [.desc, .fstatfs, .statfsLike]), ("ustat", [.statfsLike]),
            ("mmap", [.desc, .memory]), ("brk", [.memory]), ("mprotect", [.memory]), ("madvise", [.memory]),
            ("io_setup", [.memory]), ("set_mempolicy_home_node", [.memory]),
            ("rt_sigaction", [.signal]), ("kill", [.signal, .process]), ("tgkill", [.signal, .process]),
            ("rt_tgsigqueueinfo", [.process, .signal]), ("signalfd4", [.desc, .signal]), ("pause", [.signal]),
            ("execve", [.file, .process]), ("execveat", [.desc, .file, .process]), ("clone", [.process]),
            ("clone3", [.process]), ("wait4", [.process]), ("exit_group", [.process]),
            ("getpid", [.pure]), ("getppid", [.pure]), ("gettid", [.pure]), ("getpgrp", [.pure]),
            ("getuid", [.creds, .pure]), ("getegid", [.creds, .pure]), ("setuid", [.creds]),
            ("setfsuid", [.creds]), ("capget", [.creds]), ("prctl", [.creds]), ("getgroups", [.creds]),
            ("sendfile", [.desc, .network]), ("socket", [.network]), ("accept4", [.network]),
            ("recvmmsg", [.network]), ("getpmsg", [.network]), ("putpmsg", [.network]),
            ("shmat", [.ipc, .memory]), ("shmdt", [.ipc, .memory]), ("semtimedop", [.ipc]), ("msgrcv", [.ipc]),
            ("gettimeofday", [.clock]), ("settimeofday", [.clock]), ("time", [.clock]), ("adjtimex", [.clock]),
            ("clock_gettime", [.clock]), ("clock_adjtime", [.clock]),
            ("pidfd_send_signal", [.desc, .signal, .process]), ("io_uring_enter", [.desc, .signal]),
            ("io_uring_register", [.desc, .memory]), ("fanotify_mark", [.desc, .file]),
            ("inotify_add_watch", [.desc, .file]), ("getcwd", [.file]), ("uselib", [.file]),
            ("pivot_root", [.file]), ("quotactl", [.file]), ("quotactl_fd", [.desc]), ("mq_open", [.desc]),
            // In no class at all.
            ("nanosleep", []), ("futex", []), ("sched_yield", []), ("umask", []), ("close_range", []),
            ("futex_waitv", []), ("mq_unlink", []), ("clock_nanosleep", []), ("uname", []), ("_sysctl", []),
        ]
        for (name, classes) in expected {
            #expect(TraceClass.of(name) == classes, "\(name)")
        }
        #expect(TraceClass.of("socketcall") == nil)
        #expect(TraceClass.of("no_such_call") == nil)
        #expect(TraceClass.straceVersion == "6.1")
    }

    @Test func everySyscallOfTheTableHasStraceClassesUnderTheSameNumber() {
        let table = SyscallTable.x86_64
        for syscall in table.syscalls {
            #expect(TraceClass.of(syscall.name) != nil, "\(syscall.name)")
        }
        for entry in TraceClass.x86_64Entries {
            #expect(table.number(of: entry.name) == entry.number, "\(entry.name)")
        }
        #expect(TraceClass.x86_64Entries.count == table.syscalls.count)
        // Class sizes in strace 6.1's 64-bit table.
        let sizes: [(TraceClass, Int)] = [(.statLike, 5), (.stat, 1), (.lstat, 1), (.fstat, 3), (.statfs, 1),
                                          (.fstatfs, 1), (.statfsLike, 3), (.pure, 8), (.ipc, 12),
                                          (.clock, 8), (.creds, 19)]
        for (classes, size) in sizes {
            #expect(TraceClass.x86_64Entries.filter { $0.classes.isSuperset(of: classes) }.count == size, "\(classes)")
        }
    }

    @Test func qualifierNames() {
        #expect(TraceClass(qualifierName: "%network") == .network)
        #expect(TraceClass(qualifierName: "%net") == .network)
        #expect(TraceClass(qualifierName: "network") == .network)
        #expect(TraceClass(qualifierName: "%%stat") == .statLike)
        #expect(TraceClass(qualifierName: "%%statfs") == .statfsLike)
        #expect(TraceClass(qualifierName: "all") == [])
        // Case-sensitive; only the old classes have a name without `%`.
        #expect(TraceClass(qualifierName: "%FILE") == nil)
        #expect(TraceClass(qualifierName: "creds") == nil)
        #expect(TraceClass(qualifierName: "clock") == nil)
        #expect(TraceClass(qualifierName: "%all") == nil)
    }
}

@Suite struct TraceQualifierTests {
    let table = SyscallTable.x86_64

    func traced(_ expression: String) throws -> Set<String> {
        let qualifier = try TraceQualifier(expression)
        return Set(table.syscalls.filter { qualifier.matches($0.number) }.map(\.name))
    }

    func number(_ name: String) -> Int { table.number(of: name)! }

    @Test func namesAndNumbers() throws {
        #expect(try traced("open,close") == ["open", "close"])
        #expect(try traced("open,,close,") == ["open", "close"])
        #expect(try traced("0,3") == ["read", "close"])
        #expect(try traced("00002") == ["open"])
        #expect(try traced("read,read") == ["read"])
        let q = try TraceQualifier("openat")
        #expect(q.matches(257) && !q.matches(2) && !q.matches(-1) && !q.matches(100_000))
        #expect(q.expression == "openat")
        #expect(q.numbers() == [257])
    }

    @Test func classes() throws {
        #expect(try traced("%pure") == ["getpid", "getuid", "getgid", "geteuid", "getegid", "getppid", "getpgrp", "gettid"])
        #expect(try traced("%net") == (try traced("%network")))
        #expect(try traced("file") == (try traced("%file")))
        #expect(try traced("%creds").contains("setresuid"))
        #expect(try traced("%clock") == ["gettimeofday", "adjtimex", "settimeofday", "time", "clock_settime",
                                          "clock_gettime", "clock_getres", "clock_adjtime"])
        // `all` inside a list is strace's legacy class: every syscall.
        #expect(try traced("open,all").count == table.syscalls.count)
        #expect(try traced("%memory,%ipc").isSuperset(of: ["mmap", "shmget", "shmat"]))
    }

    @Test func statClasses() throws {
        #expect(try traced("%stat") == ["stat"])
        #expect(try traced("%lstat") == ["lstat"])
        #expect(try traced("%fstat") == ["fstat", "newfstatat", "statx"])
        #expect(try traced("%%stat") == ["stat", "fstat", "lstat", "newfstatat", "statx"])
        #expect(try traced("%statfs") == ["statfs"])
        #expect(try traced("%fstatfs") == ["fstatfs"])
        #expect(try traced("%%statfs") == ["statfs", "fstatfs", "ustat"])
    }

    @Test func regexes() throws {
        #expect(try traced("/^getres") == ["getresuid", "getresgid"])
        #expect(try traced("/^(get|set)res[ug]id$") == ["getresuid", "getresgid", "setresuid", "setresgid"])
        #expect(try traced("/stat$") == ["stat", "fstat", "lstat", "ustat"])
        #expect(try traced("/^[[:alpha:]_]+64$") == ["pread64", "pwrite64", "getdents64", "fadvise64", "prlimit64"])
        #expect(try traced("/").count == table.syscalls.count)
        #expect(try traced("/^epoll_(wait|ctl)_old$,/^clock_") ==
            ["epoll_wait_old", "epoll_ctl_old", "clock_settime", "clock_gettime", "clock_getres", "clock_nanosleep", "clock_adjtime"])
        // glibc's ERE: `\d` is a plain `d`.
        #expect(try traced("/^\\dup") == ["dup", "dup2", "dup3"])
    }

    @Test func negation() throws {
        let notFile = try TraceQualifier("!%file")
        #expect(!notFile.matches(number("open")) && notFile.matches(number("read")))
        // Numbers outside the table are in no set: a negated set traces them.
        #expect(notFile.matches(400) && notFile.matches(999))
        #expect(!(try TraceQualifier("%file")).matches(400))
        #expect(try traced("!!open") == ["open"])
        #expect(try traced("!/^get").contains("read"))
        #expect(!(try traced("!/^get")).contains("getpid"))
        #expect(try traced("!none").count == table.syscalls.count)
        #expect(try traced("none").isEmpty)
        #expect(try traced("!all").isEmpty)
        #expect(try TraceQualifier("all").matches(999))
        #expect(TraceQualifier.all.matches(0) && TraceQualifier.all.matches(449) && TraceQualifier.all.matches(1000))
        #expect(!(try TraceQualifier("none")).matches(0))
    }

    @Test func optionalTokens() throws {
        #expect(try traced("?no_such_call,open") == ["open"])
        #expect(try traced("open,?no_such_call") == ["open"])
        #expect(try traced("?/^no_such") == [])
        #expect(try traced("?%nothing") == [])
        #expect(try traced("??open") == ["open"])
        #expect(try traced("?") == [])
        #expect(try traced("!?foo").count == table.syscalls.count)
    }

    @Test func otherPersonalities() throws {
        // Known to strace in its i386 or x32 personality: accepted, selects no 64-bit syscall.
        #expect(try traced("socketcall") == [])
        #expect(try traced("send,read") == ["read"])
        #expect(try traced("ioctl#64") == [])
        #expect(try traced("open@32") == [])
        #expect(try traced("open@64") == ["open"])
        #expect(try traced("open@x32") == [])
        #expect(try traced("%file@64") == (try traced("%file")))
        #expect(try traced("%file@32") == [])
        #expect(try traced("/^socketcall$") == [])
        // Numbers: 335 is i386's, 520 x32's, 0x40000002 x32's open with its bit set.
        #expect(try traced("335") == [])
        #expect(try traced("520") == [])
        #expect(try traced("1073741826") == [])
        #expect(try traced("2@64") == ["open"])
    }

    @Test func errorsAreStraces() {
        func message(_ expression: String) -> String? {
            do {
                _ = try TraceQualifier(expression)
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(message("foo") == "invalid system call 'foo'")
        #expect(message("open,foo,close") == "invalid system call 'foo'")
        #expect(message("") == "invalid system call ''")
        #expect(message(",") == "invalid system call ','")
        #expect(message("!") == "invalid system call '!'")
        #expect(message("Open") == "invalid system call 'Open'")
        #expect(message("%FILE") == "invalid system call '%FILE'")
        #expect(message("creds") == "invalid system call 'creds'")
        #expect(message("%all") == "invalid system call '%all'")
        #expect(message("open,none") == "invalid system call 'none'")
        #expect(message("/^no_such") == "invalid system call '/^no_such'")
        #expect(message("500") == "invalid system call '500'")
        #expect(message("12abc") == "invalid system call '12abc'")
        #expect(message("2147483648") == "invalid system call '2147483648'")
        #expect(message("socketcall@64") == "invalid system call 'socketcall@64'")
        #expect(message("335@64") == "invalid system call '335@64'")
        #expect(message("open@99") == "incorrect personality designator '99' in qualification 'open@99'")
        #expect(message("?open@") == "incorrect personality designator '' in qualification 'open@'")
        #expect(message("/(") == "regcomp: (: Unmatched ( or \\(")
        #expect(message("?/[") == "regcomp: [: Invalid regular expression")
        #expect(message("open\u{0}close") == "invalid system call 'open\u{0}close'")
        #expect(throws: TraceFilterError.invalidSyscall("foo")) { try TraceQualifier("foo") }
    }

    @Test func hostileRegexesAreRefused() throws {
        for pattern in ["/((a{1000}){1000}){1000}", "/(((((a{9}){9}){9}){9}){9})", "/(x)\\1", "/(|)(\\1\\1)*",
                        "/" + String(repeating: "a", count: 2000), "/[a-z]{5000}", "/(ab)*{3000}"] {
            #expect(throws: TraceFilterError.self, "\(pattern.prefix(40))") { try TraceQualifier(pattern) }
        }
        #expect(throws: TraceFilterError.invalidRegex(function: "regcomp", pattern: "(x)\\1",
                                                      message: "back-references are not supported")) {
            try TraceQualifier("/(x)\\1")
        }
        #expect(throws: TraceFilterError.invalidRegex(function: "regcomp", pattern: "[a-z]{5000}",
                                                      message: "Regular expression too big")) {
            try TraceQualifier("?/[a-z]{5000}")
        }
        // Bounds that stay small still work, and brackets hide what looks like a back-reference.
        #expect(try traced("/^[a-z]{3}$") == ["brk", "dup", "tee", "bpf"])
        #expect(try traced("/^(get){1}pid$") == ["getpid"])
        #expect(try traced("/^g[\\1e]tpid$") == ["getpid"])
    }

    @Test func statusSets() throws {
        let failed = try StatusQualifier("failed")
        #expect(failed.matches(.failed) && !failed.matches(.successful))
        let negated = try StatusQualifier("!successful,unfinished")
        #expect(negated.matches(.failed) && negated.matches(.detached) && negated.matches(.unavailable))
        #expect(!negated.matches(.successful) && !negated.matches(.unfinished))
        #expect(try StatusQualifier("FAILED").matches(.failed))
        #expect(try StatusQualifier("successful,,failed").matches(.failed))
        for status in SyscallStatus.allCases {
            #expect(try StatusQualifier("all").matches(status))
            #expect(try StatusQualifier("none").matches(status) == false)
            #expect(try StatusQualifier("!all").matches(status) == false)
            #expect(try StatusQualifier(status.rawValue).matches(status))
            #expect(StatusQualifier.all.matches(status))
            #expect(StatusQualifier.failedOnly.matches(status) == (status == .failed))
            #expect(StatusQualifier.successfulOnly.matches(status) == (status == .successful))
        }
        #expect(throws: TraceFilterError.invalidStatus("bogus")) { try StatusQualifier("failed,bogus") }
        #expect(throws: TraceFilterError.invalidStatus("all")) { try StatusQualifier("all,failed") }
        #expect(throws: TraceFilterError.invalidStatus("?failed")) { try StatusQualifier("?failed") }
        #expect(throws: TraceFilterError.invalidStatus("")) { try StatusQualifier("") }
        #expect(TraceFilterError.invalidStatus("x").description == "invalid status 'x'")
    }
}

/// strace's `-c` table, exactly, for totals worked out by hand from strace 6.1's count.c.
@Suite struct StraceSummaryTests {
    @Test func rendersStracesTable() {
        let summary = StraceSummary(rows: [
            .init(name: "close", calls: 23, nanoseconds: 365_000),
            .init(name: "openat", calls: 34, errors: 13, nanoseconds: 752_400),
            .init(name: "execve", calls: 1, nanoseconds: 0),
            .init(name: "getdents64", calls: 2, nanoseconds: 219_000),
            .init(name: "statfs", calls: 2, errors: 2, nanoseconds: 53_000),
        ])
        // total 1.3894 ms; openat 752.4 us / 34 = 22.13 us; close 365 / 23 = 15.87 -> 15.870 us.
        #expect(summary.render() == """
            % time     seconds  usecs/call     calls    errors syscall
            ------ ----------- ----------- --------- --------- ----------------
             54.15    0.000752          22        34        13 openat
             26.27    0.000365          15        23           close
             15.76    0.000219         109         2           getdents64
              3.81    0.000053          26         2         2 statfs
              0.00    0.000000           0         1           execve
            ------ ----------- ----------- --------- --------- ----------------
            100.00    0.001389          22        62        15 total

            """)
    }

    @Test func widensColumnsForLongValues() {
        let summary = StraceSummary(rows: [
            .init(name: "set_mempolicy_home_node", calls: 12_345_678_901, errors: 0, seconds: 12_345.5),
            .init(name: "read", calls: 1, errors: 0, seconds: 0.25),
        ])
        let lines = summary.render().split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "% time      seconds  usecs/call       calls    errors syscall")
        #expect(lines[1] == "------ ------------ ----------- ----------- --------- ------------------------")
        #expect(lines[2] == "100.00 12345.500000           1 12345678901           set_mempolicy_home_node")
        #expect(lines[3] == "  0.00     0.250000      250000           1           read")
        #expect(lines[5] == "100.00 12345.750000           1 12345678902           total")
        #expect(lines.count == 7 && lines[6].isEmpty)
    }

    @Test func countsCallsWithoutTimes() {
        var summary = StraceSummary()
        summary.record(name: "getppid", failed: false, nanoseconds: nil)
        summary.record(3, failed: true, nanoseconds: nil)
        summary.record(3, failed: false, nanoseconds: nil)
        summary.record(400, failed: true, nanoseconds: nil)
        #expect(summary.rows == [.init(name: "getppid", calls: 1), .init(name: "close", calls: 2, errors: 1),
                                 .init(name: "syscall_0x190", calls: 1, errors: 1)])
        // No time anywhere: every row 0.00, ties in number order, unknown numbers last.
        #expect(summary.render() == """
            % time     seconds  usecs/call     calls    errors syscall
            ------ ----------- ----------- --------- --------- ----------------
              0.00    0.000000           0         2         1 close
              0.00    0.000000           0         1           getppid
              0.00    0.000000           0         1         1 syscall_0x190
            ------ ----------- ----------- --------- --------- ----------------
            100.00    0.000000           0         4         2 total

            """)
        #expect(StraceSummary().render() == "")
        #expect(StraceSummary(rows: [.init(name: "read", calls: 0)]).render() == "")
    }

    @Test func sortKeys() {
        let summary = StraceSummary(rows: [
            .init(name: "write", calls: 5, errors: 1, nanoseconds: 10),
            .init(name: "read", calls: 5, errors: 3, nanoseconds: 30),
            .init(name: "close", calls: 9, nanoseconds: 20),
        ])
        func order(_ key: StraceSummary.SortKey) -> [String] {
            summary.render(sortedBy: key).split(separator: "\n").dropFirst(2).dropLast(2)
                .map { String($0.split(separator: " ").last!) }
        }
        #expect(order(.time) == ["read", "close", "write"])
        #expect(order(.calls) == ["close", "read", "write"])
        #expect(order(.errors) == ["read", "write", "close"])
        #expect(order(.name) == ["close", "read", "write"])
        #expect(order(.nothing) == ["read", "write", "close"])
    }
}

/// The same expressions through strace itself, on programs compiled here: strace accepts what
/// sonde accepts (with the same message when not), traces the calls sonde's qualifier matches,
/// prints by status as the status qualifier says, and prints the `-c` table sonde renders.
@Suite(.enabled(if: TraceOracle.available, "needs gcc and strace"))
struct TraceQualifierStraceTests {
    let table = SyscallTable.x86_64

    @Test func straceAcceptsAndRefusesTheSameExpressions() throws {
        let expressions = TraceClass.qualifierNames.map(\.name) + [
            "all", "none", "!none", "!all", "!!open", "open,close", "open,,close", "foo", "", ",", "!", "!,",
            "Open", "%FILE", "FILE", "creds", "%creds", "clock", "%CLOCK", "%all", "%", "%Network", "?foo",
            "?foo,open", "open,?foo", "!?foo", "?", "??open", "open,none", "open,all", "socketcall", "send",
            "ioctl#64", "socketcall,foo", "/^foo", "/^sys", "/", "/(", "/[", "/[[:digit:]]$", "/\\d", "/a@b",
            "?/^nothing", "500", "520", "547", "548", "999", "335", "0", "00002", "12abc", "2147483647",
            "1073741826", "open@64", "open@32", "open@x32", "socketcall@64", "socketcall@32", "send@64",
            "335@64", "335@32", "520@x32", "520@64", "open@99", "5@", "@64", "?@64", "%file@64", "%bogus@64",
            "all@64", "none@64", "?%bogus", "%net", "%%stat", "%%statfs", "/^(get|set)res[ug]id$",
        ]
        var differences: [String] = []
        for expression in expressions {
            let theirs = try TraceOracle.straceError("trace=" + expression)
            var ours: String?
            do { _ = try TraceQualifier(expression) } catch { ours = "strace: \(error)" }
            if ours != theirs { differences.append("\(expression): strace \(theirs ?? "ok"), sonde \(ours ?? "ok")") }
        }
        for expression in ["failed", "FAILED", "successful,unfinished", "unavailable,detached", "!failed", "all",
                           "none", "", ",", "bogus", "failed,bogus", "?failed", "all,failed"] {
            let theirs = try TraceOracle.straceError("status=" + expression)
            var ours: String?
            do { _ = try StatusQualifier(expression) } catch { ours = "strace: \(error)" }
            if ours != theirs { differences.append("status=\(expression): strace \(theirs ?? "ok"), sonde \(ours ?? "ok")") }
        }
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }

    @Test func straceTracesWhatTheQualifierMatches() throws {
        try TraceOracle.withProgram(TraceOracle.callsSource) { program in
            let everything = try program.trace(["-e", "trace=all"])
            let names = Set(everything.map(\.name))
            #expect(names.count >= 150, "the program made \(names.count) distinct syscalls")
            let expressions = TraceClass.qualifierNames.map(\.name) + [
                "none", "!%file", "!%desc,%memory", "%stat,%lstat,%fstat", "/^get", "!/^get", "/^(get|set)(e?uid|e?gid)$",
                "/stat", "/^[a-z]{3}$", "0,1,2,3,getpid", "?bogus,read,write", "socketcall,close", "close@64", "close@32",
                "%file@x32", "!open@64", "/^mmap$,%signal", "!!%clock", "/^\\dup", "/^[[:alpha:]_]+64$",
            ]
            var differences: [String] = []
            for expression in expressions {
                let qualifier = try TraceQualifier(expression)
                let expected = everything.filter { qualifier.matches(table.number(of: $0.name)!) }.map(\.name)
                let traced = try program.trace(["-e", "trace=" + expression]).map(\.name)
                if traced != expected {
                    let missing = Set(expected).subtracting(traced).sorted(), extra = Set(traced).subtracting(expected).sorted()
                    differences.append("\(expression): strace also traced \(extra), did not trace \(missing)")
                }
            }
            #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
        }
    }

    @Test func stracePrintsWhatTheStatusQualifierMatches() throws {
        try TraceOracle.withProgram(TraceOracle.callsSource) { program in
            let everything = try program.trace(["-e", "trace=all"])
            #expect(Set(everything.map(\.status)) == [.successful, .failed, .unfinished])
            for (options, qualifier) in [
                (["-Z"], StatusQualifier.failedOnly), (["-z"], StatusQualifier.successfulOnly),
                (["-e", "status=failed"], try StatusQualifier("failed")),
                (["-e", "status=!failed"], try StatusQualifier("!failed")),
                (["-e", "status=unfinished,failed"], try StatusQualifier("unfinished,failed")),
                (["-e", "status=none"], try StatusQualifier("none")),
            ] {
                let printed = try program.trace(options)
                let expected = everything.filter { qualifier.matches($0.status) }
                #expect(printed.map(\.name) == expected.map(\.name), "\(options)")
                #expect(printed.map(\.status) == expected.map(\.status), "\(options)")
            }
        }
    }

    /// strace -c's table for a program making 1000 getppid, 250 failing close and 7 failing dup
    /// calls (and whatever its start-up makes), against sonde's for the same rows. Times are
    /// strace's own, re-read from its table; the columns computed from them at finer precision
    /// than strace prints (percent, usecs/call, total seconds) are masked, whole columns.
    @Test(arguments: [nil, "calls", "name", "nothing"] as [String?])
    func summaryMatchesStraceC(sortBy: String?) throws {
        let strace = try TraceOracle.withProgram(TraceOracle.summarySource) { try $0.summary(sortBy: sortBy) }
        let lines = strace.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count >= 8 && lines.last == "", "\(strace)")
        #expect(lines[0] == "% time     seconds  usecs/call     calls    errors syscall")
        let columns = TraceOracle.columns(of: lines[1])
        #expect(columns.count == 6)
        let body = Array(lines[2..<(lines.count - 3)])
        var rows: [StraceSummary.Row] = []
        for (index, text) in body.enumerated() {
            let fields = columns.enumerated().map { TraceOracle.field(text, $1, last: $0 == columns.count - 1) }
            let microseconds = UInt64(fields[1].replacingOccurrences(of: ".", with: ""))!
            // Sub-microsecond offsets keep strace's order among equal printed times.
            rows.append(.init(name: fields[5], calls: UInt64(fields[3])!, errors: UInt64(fields[4]) ?? 0,
                              nanoseconds: microseconds * 1000 + UInt64(body.count - index)))
        }
        let byName = Dictionary(uniqueKeysWithValues: rows.map { ($0.name, $0) })
        #expect(byName["getppid"]?.calls == 1000 && byName["getppid"]?.errors == 0)
        #expect(byName["dup"]?.calls == 7 && byName["dup"]?.errors == 7)
        #expect(byName["close"]?.errors == 250 && (byName["close"]?.calls ?? 0) >= 250)

        let key = sortBy.map { StraceSummary.SortKey(rawValue: $0)! } ?? .time
        // Fed in reverse so that the order has to come from the sort.
        let ours = StraceSummary(rows: rows.reversed()).render(sortedBy: key)
        let oursLines = ours.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(oursLines.count == lines.count)
        for (i, (mine, theirs)) in zip(oursLines, lines).enumerated() {
            let isTotal = i == lines.count - 2
            #expect(TraceOracle.masked(mine, columns, total: isTotal) == TraceOracle.masked(theirs, columns, total: isTotal),
                    "line \(i):\nsonde:  \(mine)\nstrace: \(theirs)")
        }
    }
}

/// Compiles and runs the oracle programs (once per test process) under strace.
enum TraceOracle {
    static let available: Bool = ["/usr/bin/gcc", "/usr/bin/strace"].allSatisfy {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    struct Call: Sendable, Equatable {
        let name: String
        let status: SyscallStatus
    }

    struct Program: Sendable {
        let path: String
        let directory: String

        /// The calls strace prints with these options (without -f: one process, no pid prefix).
        func trace(_ options: [String]) throws -> [Call] {
            let output = directory + "/out-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: output) }
            _ = try TraceOracle.run("/usr/bin/strace", options + ["-o", output, path])
            return try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").compactMap { line in
                guard let paren = line.firstIndex(of: "("), !line.hasPrefix("+++"), !line.hasPrefix("---") else { return nil }
                let name = String(line[..<paren])
                let result = line.range(of: " = ", options: .backwards).map { line[$0.upperBound...] } ?? ""
                let status: SyscallStatus = result == "?" ? .unfinished : result.hasPrefix("-1 E") ? .failed : .successful
                return Call(name: name, status: status)
            }
        }

        /// strace -c's table.
        func summary(sortBy: String?) throws -> String {
            let output = directory + "/out-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: output) }
            _ = try TraceOracle.run("/usr/bin/strace", ["-c"] + (sortBy.map { ["-S", $0] } ?? []) + ["-o", output, path])
            return try String(contentsOfFile: output, encoding: .utf8)
        }
    }

    /// strace's first line on stderr for `-e EXPRESSION`, as `strace: message` (nil when it ran
    /// the program).
    static func straceError(_ expression: String) throws -> String? {
        let (status, errors) = try run("/usr/bin/strace", ["-e", expression, "-o", "/dev/null", "/bin/true"])
        if status == 0 && errors.isEmpty { return nil }
        let first = errors.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        // strace names itself by argv[0].
        return first.hasPrefix("/usr/bin/strace: ") ? String(first.dropFirst("/usr/bin/".count)) : first
    }

    /// Harmless calls (bad descriptors, null pointers, invalid flags: most fail at once) of syscalls
    /// across every class, from Tests/IntegrationTests/Oracle/harmless-syscalls.txt (the recorder's
    /// wide oracle runs them too); the program's number for each comes from sonde's table.
    static let calls: [(String, String)] = {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("IntegrationTests/Oracle/harmless-syscalls.txt")
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#"), let name = line.split(separator: " ").first else { return nil }
            return (String(name), String(line.dropFirst(name.count).drop { $0 == " " }))
        }
    }()

    static var callsSource: String {
        let table = SyscallTable.x86_64
        let lines = calls.map { name, arguments in
            "    syscall(\(table.number(of: name)!)\(arguments.isEmpty ? "" : ", " + arguments)); /* \(name) */"
        }
        return "#include <unistd.h>\nint main(void) {\n" + lines.joined(separator: "\n") + "\n    return 0;\n}\n"
    }

    static let summarySource = """
        #include <unistd.h>
        #include <sys/syscall.h>
        int main(void) {
            for (int i = 0; i < 1000; i++) syscall(SYS_getppid);
            for (int i = 0; i < 250; i++) syscall(SYS_close, -1);
            for (int i = 0; i < 7; i++) syscall(SYS_dup, -1);
            return 0;
        }

        """

    /// Compiles `source` in a directory of its own, gives the program to `body`, removes both.
    static func withProgram<T>(_ source: String, _ body: (Program) throws -> T) throws -> T {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("sonde-trace-qualifier-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/program"
        try source.write(toFile: path + ".c", atomically: true, encoding: .utf8)
        let (status, errors) = try run("/usr/bin/gcc", ["-O1", "-w", "-o", path, path + ".c"])
        guard status == 0 else { throw OracleFailure(message: "gcc: \(errors)") }
        return try body(Program(path: path, directory: directory))
    }

    struct OracleFailure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// Runs a tool (killed after a minute: a hung call must not hang the tests); its exit status
    /// and stderr.
    static func run(_ tool: String, _ arguments: [String]) throws -> (Int32, String) {
        let result = try TestSupport.run(tool, arguments, timeout: 60)
        return (result.status, result.stderr)
    }

    /// Column ranges (UTF-8 offsets) of a `-c` table, from its dashed line.
    static func columns(of divider: String) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var start: Int?
        for (i, c) in Array(divider.utf8 + [UInt8(ascii: " ")]).enumerated() {
            if c == UInt8(ascii: "-") {
                if start == nil { start = i }
            } else if let s = start {
                result.append(s..<i)
                start = nil
            }
        }
        return result
    }

    /// A column's text, trimmed; the last column (the name) runs to the end of the line.
    static func field(_ line: String, _ column: Range<Int>, last: Bool) -> String {
        let bytes = Array(line.utf8)
        guard column.lowerBound < bytes.count else { return "" }
        let slice = last ? bytes[column.lowerBound...] : bytes[column.lowerBound..<min(column.upperBound, bytes.count)]
        return String(decoding: slice, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }

    /// The line with the percent and usecs/call columns (and, on the total line, seconds) turned
    /// into `#`s, spaces included: the columns' places still count, their values (and so the
    /// values' widths) do not.
    static func masked(_ line: String, _ columns: [Range<Int>], total: Bool) -> String {
        var bytes = Array(line.utf8)
        for (index, column) in columns.enumerated() where index == 0 || index == 2 || (total && index == 1) {
            for i in column where i < bytes.count { bytes[i] = UInt8(ascii: "#") }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
