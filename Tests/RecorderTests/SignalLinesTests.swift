import Testing
@testable import Recorder
import Syscalls

/// Where a dump puts signals and exits, and how strace's siginfo reads.
@Suite struct SignalLinesTests {
    static func info(signal: Int32, code: Int32, pid: Int32 = 0, uid: UInt32 = 0, word24: UInt64 = 0) -> SignalInfo {
        var bytes = [UInt8](repeating: 0, count: 48)
        func put<T>(_ value: T, _ at: Int) { withUnsafeBytes(of: value) { bytes.replaceSubrange(at..<at + $0.count, with: $0) } }
        put(signal, 0)
        put(code, 8)
        put(pid, 16)
        put(uid, 20)
        put(word24, 24)
        return SignalInfo(bytes: bytes)
    }

    static func record(_ kind: RawRecord.Kind, number: Int = 0, pid: UInt32 = 10, tid: UInt32 = 10, at time: UInt64) -> RawRecord {
        RawRecord(kind: kind, number: number, pid: pid, tid: tid, bootNanoseconds: time, cpu: 0, arguments: [0, 0, 0, 0, 0, 0],
                  returnValue: 0, captured: [:])
    }

    static func lines(_ records: [RawRecord]) -> [String] {
        RecorderDump(records: records, losses: [], neverReturns: { $0 == 231 }).entries.map { entry -> String in
            switch entry {
            case .call(let call): return "call \(call.record.number)"
            case .event(let event): return DumpRenderer.line(event)
            case .gap: return "gap"
            }
        }
    }

    @Test func siginfoReadsAsStraceWritesIt() {
        #expect(Self.info(signal: 10, code: 0, pid: 42, uid: 1000).text == "{si_signo=SIGUSR1, si_code=SI_USER, si_pid=42, si_uid=1000}")
        #expect(Self.info(signal: 11, code: 1).text == "{si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL}")
        #expect(Self.info(signal: 11, code: 2, pid: 0x1000).text == "{si_signo=SIGSEGV, si_code=SEGV_ACCERR, si_addr=0x1000}")
        // SIGCHLD: an exit status, or the signal that killed the child.
        #expect(Self.info(signal: 17, code: 1, pid: 7, word24: 3).text
                == "{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=7, si_uid=0, si_status=3, si_utime=0, si_stime=0}")
        #expect(Self.info(signal: 17, code: 2, pid: 7, word24: 15).text
                == "{si_signo=SIGCHLD, si_code=CLD_KILLED, si_pid=7, si_uid=0, si_status=SIGTERM, si_utime=0, si_stime=0}")
        #expect(Self.info(signal: 10, code: -1, pid: 5, word24: 0x2a).text
                == "{si_signo=SIGUSR1, si_code=SI_QUEUE, si_pid=5, si_uid=0, si_int=42, si_ptr=0x2a}")
        #expect(Self.info(signal: 9, code: 0x80).text == "{si_signo=SIGKILL, si_code=SI_KERNEL}")
        #expect(ThreadExit(status: 11 | 0x80, lastThread: true).text == "killed by SIGSEGV (core dumped)")
        #expect(ThreadExit(status: 3 << 8, lastThread: true).text == "exited with 3")
    }

    @Test func aSignalDiscardedWhenSentShowsWhereTheThreadWouldHaveTakenIt() {
        let sigchld = RecordedSignal(number: 17, event: .generated(.ignored), info: Self.info(signal: 17, code: 1, pid: 11),
                                     fromKernel: false, toProcess: true)
        let usr1 = RecordedSignal(number: 10, event: .delivered(.handler(0x401000)), info: Self.info(signal: 10, code: 0, pid: 11),
                                  fromKernel: false, toProcess: true)
        // Sent while the thread sleeps; it wakes (a syscall's exit), takes SIGUSR1, then enters rt_sigreturn.
        let lines = Self.lines([
            Self.record(.enter, number: 130, at: 1), // rt_sigsuspend
            Self.record(.signal(sigchld), number: 17, at: 2),
            Self.record(.exit, number: 130, at: 3),
            Self.record(.signal(usr1), number: 10, at: 4),
            Self.record(.enter, number: 15, at: 5), // rt_sigreturn
        ])
        #expect(lines.count == 4)
        #expect(lines[1].hasPrefix("--- SIGUSR1 "))
        #expect(lines[2].hasPrefix("--- SIGCHLD ") && !lines[2].hasSuffix("(ignored)"))
        #expect(lines[3] == "call 15")
    }

    @Test func aSignalThatEndsTheProcessAtOnceShowsItsSenderBeforeTheExit() {
        let term = RecordedSignal(number: 15, event: .generated(.queued), info: Self.info(signal: 15, code: 0, pid: 99),
                                  fromKernel: false, toProcess: true)
        let bare = RecordedSignal(number: 9, event: .delivered(.defaultAction), info: nil, fromKernel: false, toProcess: false)
        let lines = Self.lines([
            Self.record(.enter, number: 34, at: 1), // pause
            Self.record(.signal(term), number: 15, at: 2),
            Self.record(.signal(bare), number: 9, at: 3),
            Self.record(.threadExit(ThreadExit(status: 15, lastThread: true)), at: 4),
        ])
        #expect(lines == ["call 34", "--- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid=99, si_uid=0} ---", "+++ killed by SIGTERM +++"])
        // An ignored SIGTERM is marked: the process chose to ignore it.
        let ignored = RecordedSignal(number: 15, event: .generated(.ignored), info: Self.info(signal: 15, code: 0, pid: 99),
                                     fromKernel: false, toProcess: true)
        #expect(Self.lines([Self.record(.signal(ignored), number: 15, at: 1)]).first?.hasSuffix("--- (ignored)") == true)
    }

    @Test func strippedFramesNameTheirFileByBuildID() {
        var frame = CrashStack.Frame(address: 0x401634)
        frame.buildID = [0xab, 0x01]
        frame.fileOffset = 0x1634
        let unnamed = CrashStack(signal: 11, executable: "/bin/app", frames: [frame, CrashStack.Frame(address: 0x7f00)])
        #expect(unnamed.lines == [" > build-id ab01 [0x1634]", " > ? [0x7f00]"])
        frame.module = "/bin/app"
        frame.moduleAddress = 0x401634
        frame.symbol = "crash_here"
        frame.symbolOffset = 0xc
        #expect(CrashStack(signal: 11, executable: "/bin/app", frames: [frame]).lines == [" > /bin/app(crash_here+0xc) [0x401634]"])
    }
}
