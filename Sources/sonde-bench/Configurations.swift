import BPFKit
import BPFObjects
import CLibbpf
import DevBPFObjects
import Containers
import Dispatch
import Foundation
import Gadgets
import LinuxKit
import Recorder
import Syscalls
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where the timed workload runs.
enum Placement: String {
    /// In a runc container of its own (`runc run`), which tracers may select.
    case container
    /// On the host, outside any container, while a second container (the companion, idle) exists
    /// for tracers to select: the cost a tracer puts on processes it does not trace.
    case host
}

/// What a configuration attaches to, handed to `attach` once the workload waits for its go.
struct AttachTarget {
    /// The runc container the tracer should select: the workload's own (placement .container) or
    /// the companion's (placement .host).
    let containerName: String
    /// Makes the process in that container execve itself once, and returns when it is ready again.
    let execProbe: () throws -> Void
}

/// Something attached while the workload runs; `detach` ends it and returns a note for the report
/// (events seen, losses), or nil.
protocol Attachment: AnyObject {
    func detach() throws -> String?
}

/// One column of the comparison. To add a configuration (the flight recorder, another gadget),
/// write a type conforming to this protocol and list it in `Configurations.all`.
protocol BenchConfiguration: Sendable {
    /// As shown in the table.
    var name: String { get }
    /// How it was measured, one sentence, for the report.
    var method: String { get }
    var placement: Placement { get }
    /// Slow tracers (strace, perf trace) run this many times fewer calls, to keep the run short.
    var callDivisor: Int { get }
    /// Whether it can run on this machine; otherwise why not.
    func unavailableReason() -> String?
    /// A command prefix that starts the workload container under a tool (`strace -f ...`).
    var wrapper: [String] { get }
    /// Attaches to a workload that already runs and waits; returns when attached and active.
    func attach(_ target: AttachTarget) throws -> Attachment?
}

extension BenchConfiguration {
    var callDivisor: Int { 1 }
    var wrapper: [String] { [] }
    func unavailableReason() -> String? { nil }
    func attach(_ target: AttachTarget) throws -> Attachment? { nil }
}

enum Configurations {
    /// The configurations of a run, in table order. The first of each placement with nothing
    /// attached is that placement's baseline; `floorName(for:)` names that placement's floor.
    static let all: [any BenchConfiguration] = [
        Baseline(placement: .container),
        FloorPrograms(placement: .container),
        FloorCopyPrograms(),
        FloorParts(part: .clockBoth),
        FloorParts(part: .count),
        FloorParts(part: .recording),
        FloorParts(part: .ring),
        GadgetConfiguration(gadget: ExecGadget(), command: "sonde trace exec", placement: .container),
        RecorderConfiguration(placement: .container),
        SyscallMetricsConfiguration(placement: .container),
        DaemonConfiguration(role: .recorded),
        DaemonConfiguration(role: .metricsOnly),
        DaemonConfiguration(role: .metricsOnly, latency: true),
        ToolWrapper.strace,
        ToolWrapper.perfTrace,
        BpftraceCount(),
        Baseline(placement: .host),
        FloorPrograms(placement: .host),
        GadgetConfiguration(gadget: ExecGadget(), command: "sonde trace exec", placement: .host),
        RecorderConfiguration(placement: .host),
        SyscallMetricsConfiguration(placement: .host),
        DaemonConfiguration(role: .notSelected),
    ]

    /// Rows are set against the floor measured with the workload where theirs runs: a host
    /// process and a container's differ in baseline, and the VM's drift moves them apart.
    static func floorName(for placement: Placement) -> String { FloorPrograms(placement: placement).name }
}

// MARK: baseline

struct Baseline: BenchConfiguration {
    let placement: Placement
    var name: String { placement == .container ? "baseline" : "baseline (host process)" }
    var method: String {
        placement == .container
            ? "Nothing attached; the workload runs in its runc container."
            : "Nothing attached; the workload runs on the host, outside any container (the idle companion container runs too)."
    }
}

// MARK: floor

/// The empty raw_tracepoint sys_enter + sys_exit pair (bpf/dev/floor.bpf.c): what any per-syscall
/// BPF tracer pays at least on this kernel, for every syscall of every process.
struct FloorPrograms: BenchConfiguration {
    let placement: Placement
    var name: String { placement == .container ? "floor (empty raw_tp pair)" : "floor (empty raw_tp pair, host process)" }
    var method: String {
        "bpf/dev/floor.bpf.c (`EmbeddedBPF.floor`) loaded and attached with BPFKit (BPFObject.load, attachAll) before the timed loops; released (detached) after."
            + (placement == .host ? " The workload runs on the host: the floor the host rows are set against." : "")
    }

    final class Attached: Attachment {
        var object: BPFObject?
        init(_ object: BPFObject) { self.object = object }
        func detach() throws -> String? {
            object = nil // closing the object destroys its links
            return nil
        }
    }

    func attach(_ target: AttachTarget) throws -> Attachment? {
        let object = try BPFObject(name: "floor", bytes: EmbeddedBPF.floor.bytes)
        try object.load()
        try object.attachAll()
        return Attached(object)
    }
}

/// The floor plus the one copy from user memory that keeping a read's data needs
/// (bpf/dev/floorcopy.bpf.c): on the read loop, the least any recorder that keeps what read() returned
/// can cost here; on getppid it is the floor again.
struct FloorCopyPrograms: BenchConfiguration {
    let name = "floor + read's 1-byte copy (tp_btf pair)"
    let placement = Placement.container
    let method = "bpf/dev/floorcopy.bpf.c (`EmbeddedBPF.floorcopy`): an empty tp_btf sys_enter program and a tp_btf sys_exit program that, after a successful read(2) only, copies its first byte with bpf_probe_read_user; loaded and attached like the floor."

    func attach(_ target: AttachTarget) throws -> Attachment? {
        let object = try BPFObject(name: "floorcopy", bytes: EmbeddedBPF.floorcopy.bytes)
        try object.load()
        try object.attachAll()
        return FloorPrograms.Attached(object)
    }
}

/// Floors made of the kernel work a feature needs (bpf/dev/floorcopy.bpf.c with a constant set): the clock at both ends
/// (any per-call latency: the syscall metrics with latency), a count per container and syscall at
/// exit (the syscall metrics without), and the current task, the entry's clock and the read's
/// first byte (a recorder of who, when and the data), and that with both records stored in a
/// per-CPU ring (the least a flight recorder does).
struct FloorParts: BenchConfiguration {
    enum Part { case clockBoth, count, recording, ring }
    let part: Part
    let placement = Placement.container

    var name: String {
        switch part {
        case .clockBoth: return "floor + clock at entry and exit (tp_btf pair)"
        case .count: return "floor + count per cgroup and syscall at exit (tp_btf pair)"
        case .recording: return "floor + task, entry clock, read's 1-byte copy (tp_btf pair)"
        case .ring: return "floor + task, entry clock, both records in a per-CPU ring, read's byte in it (tp_btf pair)"
        }
    }

    var constant: String {
        switch part {
        case .clockBoth: return "with_clock_both"
        case .count: return "with_count"
        case .recording: return "with_recording"
        case .ring: return "with_ring"
        }
    }

    var method: String {
        let work: String
        switch part {
        case .clockBoth: work = "bpf_ktime_get_boot_ns() in the tp_btf sys_enter and sys_exit programs, nothing else"
        case .count: work = "at exit only, bpf_get_current_cgroup_id() and one per-CPU hash entry keyed by (cgroup id, orig_ax) incremented, nothing else"
        case .recording: work = "bpf_get_current_task_btf() at both ends, bpf_ktime_get_boot_ns() at entry, and after a successful read(2) its first byte copied with bpf_probe_read_user, nothing else"
        case .ring: work = "the least a flight recorder does: at entry an 80-byte record (header with tgid, tid and bpf_ktime_get_boot_ns(), the six arguments) stored at the head of this CPU's 4 MiB ring (an array map entry per CPU), at exit a 40-byte record with the result, 56 bytes after a successful read(2) whose first byte bpf_probe_read_user copies into it; no filter, no dispatch, no overwrite bookkeeping"
        }
        return "bpf/dev/floorcopy.bpf.c (`EmbeddedBPF.floorcopy`) with `\(constant)` set: \(work); loaded and attached like the floor."
    }

    func attach(_ target: AttachTarget) throws -> Attachment? {
        let object = try BPFObject(name: "floorcopy", bytes: EmbeddedBPF.floorcopy.bytes)
        try object.setConstant(constant, to: UInt8(1))
        if part == .ring {
            try object.setMaxEntries(map: "rings", UInt32(libbpf_num_possible_cpus()))
        }
        try object.load()
        try object.attachAll()
        return FloorPrograms.Attached(object)
    }
}

// MARK: gadgets

/// A sonde gadget run through GadgetSession, selecting the target container by name, with a sink
/// that counts events. Attached means: an exec probe in the selected container came back as an
/// event of that container (so the programs are attached and the container is selected).
struct GadgetConfiguration: BenchConfiguration {
    let gadget: any Gadget
    /// How a user runs it: "sonde trace exec".
    let command: String
    let placement: Placement

    var name: String {
        placement == .container ? "\(command) (container selected)" : "\(command) (host process, not selected)"
    }

    var method: String {
        let session = "GadgetSession(\(type(of: gadget))) with RuncSource and ContainerSelector(names: [the container]), in a Task with a counting sink; attached once an execve probe in the selected container came back as an event; the task is cancelled after the loops."
        return placement == .container
            ? session + " The workload runs in the selected container."
            : session + " The selected container is the idle companion; the timed workload runs on the host."
    }

    final class Counter: Sendable {
        let target = Atomic<Int>(0)
        let other = Atomic<Int>(0)
        let notices = Mutex<[String]>([])
    }

    /// How the session ended, set by its task.
    final class Outcome: Sendable {
        let result = Mutex<Result<GadgetStats, any Error>?>(nil)
    }

    final class Attached: Attachment {
        let task: Task<GadgetStats, any Error>
        let finished: DispatchSemaphore
        let outcome: Outcome
        let counter: Counter
        let eventsBeforeLoops: Int

        init(task: Task<GadgetStats, any Error>, finished: DispatchSemaphore,
             outcome: Outcome, counter: Counter) {
            self.task = task
            self.finished = finished
            self.outcome = outcome
            self.counter = counter
            self.eventsBeforeLoops = counter.target.load(ordering: .relaxed)
        }

        func detach() throws -> String? {
            task.cancel()
            guard finished.wait(timeout: .now() + 30) == .success else {
                throw BenchError("the gadget session did not stop within 30 s")
            }
            let stats = try outcome.result.withLock { $0! }.get()
            let target = counter.target.load(ordering: .relaxed)
            var note = "\(eventsBeforeLoops) probe event(s) before the loops, \(target - eventsBeforeLoops) during them"
            let other = counter.other.load(ordering: .relaxed)
            if other > 0 { note += ", \(other) from other containers" }
            if let loss = stats.lossSummary { note += "; " + loss }
            // Loss notices repeat what the loss summary says.
            let notices = counter.notices.withLock { $0 }.filter { !$0.contains("events lost") }
            if !notices.isEmpty { note += "; notices: " + notices.joined(separator: "; ") }
            return note
        }
    }

    func attach(_ target: AttachTarget) throws -> Attachment? {
        let collection = ContainerCollection(cgroups: try CgroupV2.find(), sources: [RuncSource()])
        let options = GadgetOptions(selector: ContainerSelector(names: [target.containerName]))
        let counter = Counter()
        let session = GadgetSession(gadget: gadget, collection: collection, options: options,
                                    notice: { message in counter.notices.withLock { $0.append(message) } })
        let finished = DispatchSemaphore(value: 0)
        let outcome = Outcome()
        let name = target.containerName
        let task = Task.detached { () async throws -> GadgetStats in
            defer { finished.signal() }
            do {
                let stats = try await session.run { event in
                    if event.container?.name == name {
                        counter.target.add(1, ordering: .relaxed)
                    } else {
                        counter.other.add(1, ordering: .relaxed)
                    }
                }
                outcome.result.withLock { $0 = .success(stats) }
                return stats
            } catch {
                outcome.result.withLock { $0 = .failure(error) }
                throw error
            }
        }

        // Probe until the gadget reports the probe from the selected container.
        let deadline = Date().addingTimeInterval(30)
        while counter.target.load(ordering: .relaxed) == 0 {
            if let failure = outcome.result.withLock({ $0 }), case .failure(let error) = failure {
                throw BenchError("\(command): \(error)")
            }
            guard Date() < deadline else {
                task.cancel()
                _ = finished.wait(timeout: .now() + 30)
                throw BenchError("\(command) reported no event from container \(name) within 30 s")
            }
            try target.execProbe()
            let wait = Date().addingTimeInterval(0.5)
            while counter.target.load(ordering: .relaxed) == 0 && Date() < wait { usleep(5_000) }
        }
        // Counts the probe events seen so far as "before the loops".
        return Attached(task: task, finished: finished, outcome: outcome, counter: counter)
    }
}

// MARK: reference tools

/// A tool that starts the whole `runc run` under it, following forks, so the workload's process is
/// traced from its first instruction: nothing to wait for before the go.
struct ToolWrapper: BenchConfiguration {
    let name: String
    let method: String
    let tool: String
    let wrapper: [String]
    let callDivisor: Int
    let placement = Placement.container

    func unavailableReason() -> String? {
        onPath(tool) ? nil : "\(tool) is not installed"
    }

    static let strace = ToolWrapper(
        name: "strace -f",
        method: "`strace -f -o /dev/null runc run ...`: runc and, through its forks, the workload in the container are traced from the start; output discarded.",
        tool: "strace", wrapper: ["strace", "-f", "-o", "/dev/null"], callDivisor: 100)

    static let perfTrace = ToolWrapper(
        name: "perf trace",
        method: "`perf trace -o /dev/null -- runc run ...`: per-task syscall events inherited by runc's children, the workload included, enabled at exec; output formatted and discarded.",
        tool: "perf", wrapper: ["perf", "trace", "-o", "/dev/null", "--"], callDivisor: 40)
}

/// bpftrace counting every syscall system-wide on raw_syscalls sys_enter and sys_exit (classic
/// tracepoints through perf events). Attached once its BEGIN probe printed, which bpftrace fires
/// after attaching the others.
struct BpftraceCount: BenchConfiguration {
    let name = "bpftrace (count raw_syscalls)"
    let placement = Placement.container
    let method = "`bpftrace -B line -e 'BEGIN { printf(\"attached\\n\") } tracepoint:raw_syscalls:sys_enter { @enter = count() } tracepoint:raw_syscalls:sys_exit { @exit = count() }'` started before the go (system-wide, no filter), loops run after it printed \"attached\"; stopped with SIGINT."

    static let program = "BEGIN { printf(\"attached\\n\"); } tracepoint:raw_syscalls:sys_enter { @enter = count(); } tracepoint:raw_syscalls:sys_exit { @exit = count(); }"

    func unavailableReason() -> String? {
        onPath("bpftrace") ? nil : "bpftrace is not installed"
    }

    final class Attached: Attachment {
        let child: Child
        init(_ child: Child) { self.child = child }

        func detach() throws -> String? {
            child.signal(SIGINT)
            var counts: [String] = []
            while let line = try? child.stdout.nextLine(timeout: 30) {
                if line.hasPrefix("@enter:") || line.hasPrefix("@exit:") { counts.append(line) }
            }
            child.finish(timeout: 30)
            return counts.isEmpty ? nil : "counted system-wide: " + counts.joined(separator: ", ")
        }
    }

    func attach(_ target: AttachTarget) throws -> Attachment? {
        let child = try Child(["bpftrace", "-B", "line", "-e", Self.program],
                              stderrPath: Workspace.scratchFile("bpftrace.err"))
        child.closeStdin()
        do {
            _ = try child.stdout.waitFor(timeout: 60, what: "bpftrace to attach") { $0 == "attached" }
        } catch {
            child.finish(timeout: 0)
            throw BenchError("bpftrace: \(error) \(child.stderrTail())")
        }
        return Attached(child)
    }
}

// MARK: flight recorder

/// The flight recorder (bpf/recorder.bpf.c) recording the target container with rings of 4 MiB per
/// CPU: container placement measures a recorded process, host placement an unrecorded one while
/// the recorder records the companion. On detach it dumps the rings (full by then) and notes how
/// many calls they kept per MiB and how long reading and pairing them took.
struct RecorderConfiguration: BenchConfiguration {
    let placement: Placement

    var name: String {
        placement == .container ? "sonde record (container recorded)" : "sonde record (host process, not recorded)"
    }

    var method: String {
        "FlightRecorder.start with the x86_64 capture table, rings of 4 MiB per CPU, pins in a temporary bpffs directory; "
            + "FlightRecorder.record of the " + (placement == .container ? "workload's container" : "idle companion container")
            + "; after the loops FlightRecorder.dump is timed, then FlightRecorder.stop."
    }

    final class Attached: Attachment {
        let recorder: FlightRecorder
        let container: Container
        let settings: RecorderSettings

        init(recorder: FlightRecorder, container: Container, settings: RecorderSettings) {
            self.recorder = recorder
            self.container = container
            self.settings = settings
        }

        func detach() throws -> String? {
            defer { try? FlightRecorder.stop(settings) }
            let clock = ContinuousClock()
            let start = clock.now
            let dump = try recorder.dump(container)
            let elapsed = clock.now - start
            let calls = dump.entries.reduce(0) { count, entry in
                if case .call = entry { return count + 1 } else { return count }
            }
            let mebibytes = Double(settings.bytesPerCPU * Int(ProcessInfo.processInfo.activeProcessorCount)) / Double(1 << 20)
            let millis = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
            return "dump of \(Int(mebibytes)) MiB of rings: \(calls) calls (\(Int(Double(calls) / mebibytes)) per MiB), "
                + "\(dump.overwritten) overwritten, read and paired in \(String(format: "%.1f", millis)) ms"
        }
    }

    func attach(_ target: AttachTarget) throws -> Attachment? {
        let settings = RecorderSettings.isolated("sonde-bench", bytesPerCPU: 4 << 20, poolSize: 1)
        let collection = ContainerCollection(cgroups: try CgroupV2.find(), sources: [RuncSource()])
        collection.refresh()
        guard let container = collection.all.first(where: { $0.name == target.containerName }) else {
            throw BenchError("container \(target.containerName) not found")
        }
        do {
            let recorder = try FlightRecorder.start(settings, captures: { SyscallTable.x86_64[$0]?.captures ?? [] })
            try recorder.record(container, cgroupIDs: collection.cgroupIDs(of: [container]))
            return Attached(recorder: recorder, container: container, settings: settings)
        } catch {
            try? FlightRecorder.stop(settings)
            throw error
        }
    }
}
