import Foundation
import LinuxKit

/// Other work on this shared machine (tests of other engineers) loads BPF tracing programs now and
/// then; attached to syscall tracepoints they slow every syscall of every process, which would
/// shift whichever configuration is being measured. bpftool lists the loaded programs (without
/// their owners), so the harness learns which ids are its own: those that appear while it attaches.
final class Interference {
    static let attempts = 3
    static let quietWait: Double = 30
    static let tracingTypes: Set<String> = [
        "tracepoint", "raw_tracepoint", "raw_tracepoint_writable", "tracing", "perf_event", "kprobe",
    ]

    /// Ids of programs this harness loaded (floor, gadgets, bpftrace); they may linger a moment
    /// after being released.
    private var ours = Set<Int>()
    let available = onPath("bpftool")

    /// Ids of loaded programs of tracing types; empty when bpftool is missing or fails.
    func loadedTracingPrograms() -> Set<Int> {
        guard available, let json = runQuietly(["bpftool", "-j", "prog", "show"], timeout: 20),
              let list = (try? JSONValue.parse(Data(json.utf8)))?.array else { return [] }
        return Set(list.compactMap { entry -> Int? in
            guard let type = entry["type"]?.string, Self.tracingTypes.contains(type) else { return nil }
            return entry["id"]?.integer.map { Int($0) }
        })
    }

    /// Programs loaded now (or in `loaded`) that are not ours.
    func foreign(in loaded: Set<Int>? = nil) -> Set<Int> { (loaded ?? loadedTracingPrograms()).subtracting(ours) }

    /// Marks what appeared since `before` as ours (called right after attaching).
    func claim(since before: Set<Int>) {
        ours.formUnion(loadedTracingPrograms().subtracting(before))
    }

    /// Waits until no foreign tracing program is loaded, at most `quietWait` seconds.
    func waitQuiet() {
        let deadline = Date().addingTimeInterval(Self.quietWait)
        while !foreign().isEmpty && Date() < deadline { usleep(500_000) }
    }
}
