import Syscalls

/// One syscall of a dump: its entry and exit paired by thread.
public struct RecordedCall: Sendable {
    public var pid: UInt32
    public var tid: UInt32
    /// When it started; for a call whose entry was overwritten, when it returned.
    public var bootNanoseconds: UInt64
    /// When it returned; nil while running, and for calls that returned before anything else ran on
    /// their CPU (the recorder then spares reading the clock: see SONDE_REC_ENTRY_TIME).
    public var exitNanoseconds: UInt64?
    public var record: SyscallRecord
    /// Only the exit survived (strace's `<... read resumed>`): arguments are unknown.
    public var entryLost: Bool
}

/// A line of a dump: a call, a signal, a thread's end (with a crash's stack), or a place where
/// records are missing, with how many.
public enum DumpEntry: Sendable {
    case call(RecordedCall)
    case event(ProcessEvent)
    case gap(bootNanoseconds: UInt64, cpu: Int, overwritten: UInt64, dropped: UInt64, corrupt: UInt64)

    public var bootNanoseconds: UInt64 {
        switch self {
        case .call(let call): return call.bootNanoseconds
        case .event(let event): return event.bootNanoseconds
        case .gap(let time, _, _, _, _): return time
        }
    }
}

/// A container's recording, read and paired, oldest first.
public struct RecorderDump: Sendable {
    public var entries: [DumpEntry]
    public var overwritten: UInt64
    public var dropped: UInt64
    public var corrupt: UInt64

    /// orig_ax == -1 as the recorder's 16-bit number field holds it.
    static let notASyscall = 0xffff

    /// Merges every CPU's records by time and pairs entries with exits per thread.
    init(records: [RawRecord], losses: [RingLoss], neverReturns: (Int) -> Bool) {
        // A stable sort keeps a thread's entry before its exit when timestamps tie.
        let ordered = records.enumerated().sorted {
            ($0.element.bootNanoseconds, $0.offset) < ($1.element.bootNanoseconds, $1.offset)
        }.map(\.element)

        var entries: [(UInt64, Int, DumpEntry)] = [] // time, order, entry
        var open: [UInt32: (index: Int, record: RawRecord)] = [:] // tid -> its entry waiting for an exit
        var order = 0
        func add(_ time: UInt64, _ entry: DumpEntry) {
            entries.append((time, order, entry))
            order += 1
        }
        func call(from enter: RawRecord, completion: SyscallRecord.Completion, exit: RawRecord? = nil) -> RecordedCall {
            var captured = enter.captured
            if let exit {
                captured.merge(exit.captured) { atEntry, atExit in
                    // An in-out argument (an fd_set) keeps what it held at entry beside its result.
                    guard atExit.bytes.isEmpty, let result = atExit.atExit else { return atExit }
                    var both = atEntry
                    both.atExit = result
                    return both
                }
            }
            return RecordedCall(pid: enter.pid, tid: enter.tid, bootNanoseconds: enter.bootNanoseconds,
                                exitNanoseconds: exit.flatMap { $0.ownTime ? $0.bootNanoseconds : nil },
                                record: SyscallRecord(number: enter.number, arguments: enter.arguments,
                                                      captured: captured, completion: completion),
                                entryLost: false)
        }
        // An entry still open when the next entry of its thread comes never returned.
        func closeOpen(_ tid: UInt32) {
            guard let pending = open.removeValue(forKey: tid) else { return }
            let completion: SyscallRecord.Completion = neverReturns(pending.record.number) ? .noReturn : .unfinished
            entries[pending.index].2 = .call(call(from: pending.record, completion: completion))
        }

        var signals = SignalLines()
        for record in ordered {
            // Ignored signals the thread would have taken by now (see SignalLines).
            for ignored in signals.takeIgnored(tid: record.tid, before: record.kind) {
                add(record.bootNanoseconds, .event(ProcessEvent(pid: record.pid, tid: record.tid,
                                                                bootNanoseconds: record.bootNanoseconds, kind: .signal(ignored))))
            }
            switch record.kind {
            case .signal(let signal):
                if let shown = signals.line(for: signal, pid: record.pid, tid: record.tid, time: record.bootNanoseconds) {
                    add(record.bootNanoseconds, .event(ProcessEvent(pid: record.pid, tid: record.tid,
                                                                    bootNanoseconds: record.bootNanoseconds, kind: .signal(shown))))
                }
            case .threadExit(let exit):
                closeOpen(record.tid) // a call it was in never returns
                if let killer = signals.killer(of: exit, pid: record.pid) {
                    add(record.bootNanoseconds, .event(ProcessEvent(pid: record.pid, tid: record.tid,
                                                                    bootNanoseconds: record.bootNanoseconds, kind: .signal(killer))))
                }
                add(record.bootNanoseconds, .event(ProcessEvent(pid: record.pid, tid: record.tid,
                                                                bootNanoseconds: record.bootNanoseconds, kind: .exit(exit))))
            case .stack(let stack):
                add(record.bootNanoseconds, .event(ProcessEvent(pid: record.pid, tid: record.tid,
                                                                bootNanoseconds: record.bootNanoseconds, kind: .stack(stack))))
            case .enter:
                closeOpen(record.tid)
                open[record.tid] = (entries.count, record)
                add(record.bootNanoseconds, .call(call(from: record, completion: .unfinished)))
            case .exit:
                // rt_sigreturn restores orig_ax from the signal frame, so its exit record carries the
                // interrupted context's number (-1, read as 0xffff): it still ends the open call.
                if let pending = open[record.tid],
                   pending.record.number == record.number || record.number == Self.notASyscall {
                    open[record.tid] = nil
                    entries[pending.index].2 = .call(call(from: pending.record, completion: .returned(record.returnValue), exit: record))
                } else {
                    // The entry was overwritten (or came before recording began).
                    closeOpen(record.tid)
                    add(record.bootNanoseconds, .call(RecordedCall(
                        pid: record.pid, tid: record.tid, bootNanoseconds: record.bootNanoseconds,
                        exitNanoseconds: record.bootNanoseconds,
                        record: SyscallRecord(number: record.number, arguments: [], captured: record.captured,
                                              completion: .returned(record.returnValue)),
                        entryLost: true)))
                }
            }
        }
        for tid in Array(open.keys) {
            guard let pending = open[tid] else { continue }
            // exit_group and friends leave no exit record: that is how they end, not a loss.
            if neverReturns(pending.record.number) {
                open[tid] = nil
                entries[pending.index].2 = .call(call(from: pending.record, completion: .noReturn))
            }
        }
        // Ignored signals of threads that never ran again: where they were sent.
        for (tid, pid, time, signal) in signals.remainingIgnored() {
            add(time, .event(ProcessEvent(pid: pid, tid: tid, bootNanoseconds: time, kind: .signal(signal))))
        }
        // Each CPU's losses go just before the oldest record that CPU still had.
        for loss in losses where loss.overwritten + loss.dropped + loss.corrupt > 0 {
            let time = loss.oldestTimestamp ?? 0
            entries.append((time, -1, .gap(bootNanoseconds: time, cpu: loss.cpu, overwritten: loss.overwritten,
                                           dropped: loss.dropped, corrupt: loss.corrupt)))
        }
        self.entries = entries.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.2)
        overwritten = losses.reduce(0) { $0 + $1.overwritten }
        dropped = losses.reduce(0) { $0 + $1.dropped }
        corrupt = losses.reduce(0) { $0 + $1.corrupt }
    }
}

/// Which signal records become lines, and where, as strace would show them. A signal is shown when
/// the thread takes it, with its siginfo. One the kernel discarded when it was sent (the process
/// ignores it, as most do SIGCHLD) never reaches the thread; strace, whose tracee the kernel never
/// discards a signal for, shows it when the thread next returns to user space, after any pending
/// signal of a lower number (the kernel takes them lowest first): sonde shows it there too, before
/// the thread's next record other than a syscall's exit. A signal whose default action ends the
/// process without a core dump is turned into a group exit the moment it is sent, so no thread
/// takes it with its siginfo: the threads only see a bare SIGKILL. Its line is then the one
/// recorded when it was sent (who sent it), shown before the end of the first thread it killed.
struct SignalLines {
    /// Sent and queued, not yet taken, by process.
    private var queued: [UInt32: [RecordedSignal]] = [:]
    /// Discarded when sent, not shown yet, by thread: with the process and the time it was sent.
    private var ignored: [UInt32: [(pid: UInt32, time: UInt64, signal: RecordedSignal)]] = [:]

    mutating func line(for signal: RecordedSignal, pid: UInt32, tid: UInt32, time: UInt64) -> RecordedSignal? {
        switch signal.event {
        case .generated(.ignored):
            if ignored[tid, default: []].count < 64 { ignored[tid, default: []].append((pid, time, signal)) }
            return nil
        case .generated(.queued), .generated(.infoLost):
            if queued[pid, default: []].count < 64 { queued[pid, default: []].append(signal) }
            return nil
        case .generated:
            return nil // already pending or over the queue's limit: nothing new reaches the thread
        case .delivered:
            if signal.info != nil || signal.fromKernel {
                if let index = queued[pid]?.firstIndex(where: { $0.number == signal.number }) {
                    queued[pid]?.remove(at: index)
                }
                return signal
            }
            return nil // a bare delivery: a thread taken down by its process's group exit
        }
    }

    /// The ignored signals of a thread to show before its next record: all of them, or before a
    /// delivered signal those of lower numbers, and none before a syscall's exit (the signals are
    /// taken on the way back to user space, after it).
    mutating func takeIgnored(tid: UInt32, before next: RawRecord.Kind) -> [RecordedSignal] {
        guard let pending = ignored[tid], !pending.isEmpty else { return [] }
        var limit = Int.max
        // A syscall's exit comes before the return to user space that takes signals.
        if case .exit = next { return [] }
        if case .signal(let signal) = next {
            guard case .delivered = signal.event else { return [] }
            limit = signal.number
        }
        let now = pending.filter { $0.signal.number < limit }
        ignored[tid] = pending.filter { $0.signal.number >= limit }
        return now.map(\.signal)
    }

    /// Ignored signals never shown: their threads did not run again.
    mutating func remainingIgnored() -> [(tid: UInt32, pid: UInt32, time: UInt64, signal: RecordedSignal)] {
        defer { ignored = [:] }
        return ignored.flatMap { tid, list in list.map { (tid, $0.pid, $0.time, $0.signal) } }
    }

    /// The signal line to show before a thread's end: the queued signal that killed it, the first
    /// time a thread dies of it. SIGKILL itself shows no line in strace (nobody sees it arrive).
    mutating func killer(of exit: ThreadExit, pid: UInt32) -> RecordedSignal? {
        guard let number = exit.signal, number != 9,
              let index = queued[pid]?.firstIndex(where: { $0.number == number }),
              var sent = queued[pid]?.remove(at: index) else { return nil }
        sent.event = .delivered(.defaultAction)
        return sent
    }
}
