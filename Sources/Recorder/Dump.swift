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

/// A line of a dump: a call, or a place where records are missing, with how many.
public enum DumpEntry: Sendable {
    case call(RecordedCall)
    case gap(bootNanoseconds: UInt64, cpu: Int, overwritten: UInt64, dropped: UInt64, corrupt: UInt64)

    public var bootNanoseconds: UInt64 {
        switch self {
        case .call(let call): return call.bootNanoseconds
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

        for record in ordered {
            switch record.kind {
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

    /// The last `count` calls (gaps before them kept).
    public func last(_ count: Int) -> RecorderDump {
        var copy = self
        var calls = 0
        var cut = entries.count
        for index in entries.indices.reversed() {
            if case .call = entries[index] {
                calls += 1
                if calls > count { break }
            }
            cut = index
        }
        copy.entries = Array(entries[cut...])
        return copy
    }
}
