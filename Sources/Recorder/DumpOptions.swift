import Foundation
import Containers
import Events
import LinuxKit
import Syscalls

/// strace's reading options, applied to a recording: which calls (`-e trace=`, `-e status=`, `-Z`,
/// `-z`, `-P`), how they read (`-y`, `-T`, `-t`/`-tt`/`-ttt`/`-r`), or only the `-c` table. The same
/// options serve `sonde record dump`, the daemon's DumpRecorder and cluster mode.
public struct DumpOptions: Sendable {
    public enum TimeFormat: String, Sendable, CaseIterable {
        /// -t: `14:03:07`
        case seconds
        /// -tt: `14:03:07.123456` (the default)
        case microseconds
        /// -ttt: `1701612187.123456`, seconds since the epoch
        case epoch
        /// -r: seconds since the previous line, `     0.000123`
        case relative
    }

    public var trace: TraceQualifier?
    public var status: StatusQualifier?
    /// -P: only calls that name one of these paths, directly or through a descriptor the
    /// recording saw opened on it.
    public var paths: [String] = []
    /// -y: descriptors followed by their path.
    public var decodeDescriptors = false
    /// -T: each call's duration, where the recording has its exit time.
    public var durations = false
    public var time: TimeFormat = .microseconds
    /// -c: only the summary table.
    public var summary = false
    /// Only the last N calls (after the filters).
    public var last: Int?

    public init() {}

    /// Whether anything but the defaults is asked for.
    public var isDefault: Bool {
        trace == nil && status == nil && paths.isEmpty && !decodeDescriptors && !durations && time == .microseconds
            && !summary && last == nil
    }

    /// How a call ended, as `-e status=` names it.
    static func status(of call: RecordedCall) -> SyscallStatus {
        switch call.record.completion {
        case .returned(let value): return value < 0 && value >= -4095 ? .failed : .successful
        case .unfinished, .noReturn: return .unfinished
        }
    }
}

/// What the descriptors of a dump's live processes are now (/proc/PID/fd): strace -y for those the
/// recording does not explain (inherited, opened before its oldest record, sockets and pipes). A
/// descriptor's current target holds for the calls from the last one that made or closed that
/// number on (for all of them when none did). A process is asked only while it lives, when it
/// started before its first recorded call (so its pid was not reused since) and the recording
/// shows no end of it.
struct LiveDescriptors {
    private var now: [UInt32: [Int64: String]] = [:]
    private var lastChange: [UInt32: [Int64: Int]] = [:] // by position in the dump's entries

    init(_ entries: [DumpEntry]) {
        var firstCall: [UInt32: UInt64] = [:]
        var ended: Set<UInt32> = []
        for (index, entry) in entries.enumerated() {
            switch entry {
            case .call(let call):
                if firstCall[call.pid] == nil { firstCall[call.pid] = call.bootNanoseconds }
                for fd in Self.changed(call) { lastChange[call.pid, default: [:]][fd] = index }
            case .event(let event):
                if case .exit(let exit) = event.kind, exit.lastThread { ended.insert(event.pid) }
            case .gap:
                break
            }
        }
        // /proc/PID/stat counts in clock ticks since boot (CLOCK_BOOTTIME, as the records).
        let nanosecondsPerTick = 1_000_000_000 / UInt64(max(sysconf(Int32(_SC_CLK_TCK)), 1))
        for (pid, first) in firstCall where !ended.contains(pid) {
            guard let started = ProcessStartTime.of(Int32(bitPattern: pid)), started * nanosecondsPerTick <= first,
                  let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { continue }
            var targets: [Int64: String] = [:]
            for name in names {
                guard let fd = Int64(name), let target = Files.link("/proc/\(pid)/fd/\(name)") else { continue }
                targets[fd] = target
            }
            now[pid] = targets
        }
    }

    /// The targets of the process's descriptors that hold at entry `index` of the dump.
    func paths(of pid: UInt32, at index: Int) -> [Int64: String] {
        guard let targets = now[pid] else { return [:] }
        let changes = lastChange[pid] ?? [:]
        return targets.filter { fd, _ in changes[fd].map { $0 <= index } ?? true }
    }

    /// The descriptor numbers a call made or closed.
    static func changed(_ call: RecordedCall) -> [Int64] {
        guard case .returned(let value) = call.record.completion, value >= 0 else { return [] }
        let record = call.record
        if SyscallFormatter.resultIsDescriptor(record) { return [value] }
        if record.number == 3, let fd = record.arguments.first { return [Int64(Int32(truncatingIfNeeded: fd))] } // close
        if record.number == 436, record.arguments.count > 1 { // close_range: at most the first thousand
            let first = Int64(record.arguments[0] & 0xFFFF_FFFF), last = Int64(record.arguments[1] & 0xFFFF_FFFF)
            return first <= last ? Array(first...min(last, first + 1023)) : []
        }
        return SyscallFormatter.madeDescriptors(record)
    }
}

/// The descriptors of each process as the recording shows them opened, duplicated and closed:
/// what strace -y and -P know of a descriptor.
struct DescriptorPaths {
    private var byProcess: [UInt32: [Int64: String]] = [:]

    func paths(of pid: UInt32) -> [Int64: String] { byProcess[pid] ?? [:] }

    /// Follows one call: opens and dups before it is shown (its result is the new descriptor),
    /// closes after (`close(3</etc/hosts>)`).
    mutating func before(_ call: RecordedCall) {
        guard case .returned(let value) = call.record.completion, value >= 0, !call.entryLost else { return }
        let record = call.record
        func arg(_ i: Int) -> Int64 { i < record.arguments.count ? Int64(Int32(truncatingIfNeeded: record.arguments[i])) : -1 }
        switch record.number {
        case 2, 257, 437, 85: // open, openat, openat2, creat
            let index = record.number == 257 || record.number == 437 ? 1 : 0
            guard let bytes = record.captured[index]?.bytes, !bytes.isEmpty else { return }
            var path = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            if !path.hasPrefix("/"), record.number == 257 || record.number == 437, let base = byProcess[call.pid]?[arg(0)] {
                path = base + "/" + path // relative to a directory descriptor the recording knows
            }
            byProcess[call.pid, default: [:]][value] = path
        case 32, 33, 292: // dup, dup2, dup3
            byProcess[call.pid, default: [:]][value] = byProcess[call.pid]?[arg(0)]
        case 72 where SyscallFormatter.resultIsDescriptor(record): // fcntl F_DUPFD
            byProcess[call.pid, default: [:]][value] = byProcess[call.pid]?[arg(0)]
        default:
            // A socket, pipe, eventfd...: not a path; what it is comes from /proc (LiveDescriptors).
            for fd in SyscallFormatter.madeDescriptors(record) { byProcess[call.pid]?[fd] = nil }
        }
    }

    mutating func after(_ call: RecordedCall) {
        guard call.record.number == 3, case .returned(let value) = call.record.completion, value == 0,
              let fd = call.record.arguments.first else { return } // close
        byProcess[call.pid]?[Int64(Int32(truncatingIfNeeded: fd))] = nil
    }

    /// Whether the call names `path`: as a string argument, or through a descriptor argument.
    static func call(_ call: RecordedCall, names paths: [String], descriptors: [Int64: String]) -> Bool {
        for (_, captured) in call.record.captured {
            let text = String(decoding: captured.bytes.prefix { $0 != 0 }, as: UTF8.self)
            if paths.contains(text) { return true }
        }
        guard let syscall = SyscallTable.x86_64[call.record.number] else { return false }
        for index in syscall.descriptorArguments where index < call.record.arguments.count {
            if let path = descriptors[Int64(Int32(truncatingIfNeeded: call.record.arguments[index]))], paths.contains(path) { return true }
        }
        if case .returned(let value) = call.record.completion, SyscallFormatter.returnsDescriptor.contains(call.record.number),
           let path = descriptors[value], paths.contains(path) { return true }
        return false
    }
}

extension DumpRenderer {
    /// The dump's lines with strace's reading options: the calls they keep, as they ask them shown,
    /// with the signals, exits and gaps in their place; or only the `-c` table.
    public func text(_ dump: RecorderDump, options: DumpOptions) -> [String] {
        let kept = filtered(dump, options: options)
        if options.summary { return summary(kept).render().split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
        var previous: UInt64?
        return kept.map { item in
            let time = stamp(item.entry.bootNanoseconds, options.time, previous: &previous)
            switch item.entry {
            case .call(let call):
                var line: String
                if options.decodeDescriptors {
                    let formatter = SyscallFormatter()
                    line = call.entryLost ? formatter.formatResumed(call.record, fdPaths: item.descriptors)
                        : formatter.format(call.record, fdPaths: item.descriptors)
                } else {
                    line = self.line(call)
                }
                if options.durations, let exit = call.exitNanoseconds {
                    line += " <" + Self.seconds(exit &- call.bootNanoseconds) + ">"
                }
                return String(call.tid).leftPadded(to: 7) + " " + time + " " + line
            case .event(let event):
                if case .stack = event.kind { return Self.line(event) }
                return String(event.tid).leftPadded(to: 7) + " " + time + " " + Self.line(event)
            case .gap(_, let cpu, let overwritten, let dropped, let corrupt):
                return "------- " + time + " " + Self.gapText(cpu: cpu, overwritten: overwritten, dropped: dropped, corrupt: corrupt) + " -------"
            }
        }
    }

    /// The JSON lines of the entries the options keep (the time formats do not apply: JSON carries
    /// RFC 3339 times and each call's duration).
    public func json(_ dump: RecorderDump, container: Container, options: DumpOptions) -> [String] {
        var kept = dump
        kept.entries = filtered(dump, options: options).map(\.entry)
        return json(kept, container: container)
    }

    /// strace -c's table for the calls of a dump.
    public func summary(_ kept: [(entry: DumpEntry, descriptors: [Int64: String])]) -> StraceSummary {
        var table = StraceSummary()
        for item in kept {
            guard case .call(let call) = item.entry else { continue }
            let failed = DumpOptions.status(of: call) == .failed
            table.record(call.record.number, failed: failed,
                         nanoseconds: call.exitNanoseconds.map { $0 &- call.bootNanoseconds })
        }
        return table
    }

    /// The entries the options keep, each call with the descriptors known at it.
    func filtered(_ dump: RecorderDump, options: DumpOptions) -> [(entry: DumpEntry, descriptors: [Int64: String])] {
        var descriptors = DescriptorPaths()
        let live = options.decodeDescriptors || !options.paths.isEmpty ? LiveDescriptors(dump.entries) : nil
        var kept: [(entry: DumpEntry, descriptors: [Int64: String])] = []
        for (index, entry) in dump.entries.enumerated() {
            guard case .call(let call) = entry else {
                kept.append((entry, [:]))
                continue
            }
            descriptors.before(call)
            // What the recording shows opened wins: it is the path as the call saw it.
            let known = (live?.paths(of: call.pid, at: index) ?? [:]).merging(descriptors.paths(of: call.pid)) { _, recorded in recorded }
            defer { descriptors.after(call) }
            if let trace = options.trace, !trace.matches(call.record.number) { continue }
            if let status = options.status, !status.matches(DumpOptions.status(of: call)) { continue }
            if !options.paths.isEmpty, !DescriptorPaths.call(call, names: options.paths, descriptors: known) { continue }
            kept.append((entry, known))
        }
        if let last = options.last {
            var calls = 0
            var cut = kept.count
            for index in kept.indices.reversed() {
                if case .call = kept[index].entry {
                    calls += 1
                    if calls > last { break }
                }
                cut = index
            }
            kept = Array(kept[cut...])
        }
        return kept
    }

    func stamp(_ boot: UInt64, _ format: DumpOptions.TimeFormat, previous: inout UInt64?) -> String {
        switch format {
        case .microseconds:
            return timeOfDay(boot)
        case .seconds:
            return String(timeOfDay(boot).prefix(8))
        case .epoch:
            let wall = clock.wallNanoseconds(boot: boot)
            return String(wall / 1_000_000_000) + "." + String(wall % 1_000_000_000 / 1000).leftPadded(to: 6, with: "0")
        case .relative:
            defer { previous = boot }
            return Self.seconds(previous.map { boot &- $0 } ?? 0).leftPadded(to: 13)
        }
    }

    /// "0.000123": seconds with microseconds, as strace's -T and -r print them.
    static func seconds(_ nanoseconds: UInt64) -> String {
        String(nanoseconds / 1_000_000_000) + "." + String(nanoseconds % 1_000_000_000 / 1000).leftPadded(to: 6, with: "0")
    }
}
