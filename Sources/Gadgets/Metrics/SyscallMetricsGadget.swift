import BPFKit
import Foundation
import BPFObjects
import Events
import GadgetCatalog
import LinuxKit
import Synchronization
import Syscalls

/// One container's totals for one syscall, summed over the CPUs (bpf/syscall_metrics.h).
public struct SyscallStats: Sendable, Equatable {
    /// Calls that returned; exit and exit_group never return and are counted when the thread ends.
    public var count: UInt64 = 0
    /// Calls that returned a negative value (-errno).
    public var errors: UInt64 = 0
    /// Sum of the measured latencies.
    public var latencyNanoseconds: UInt64 = 0
    /// Latencies by power of two (`SyscallStats.bucketUpperBounds`).
    public var buckets = [UInt64](repeating: 0, count: SyscallStats.bucketCount)

    public init() {}

    /// SONDE_SYSMET_BUCKETS: bucket 0 holds 0 ns, bucket b holds [2^(b-1), 2^b) ns, the last one
    /// everything from 2^30 ns on.
    public static let bucketCount = 32

    /// The exclusive upper bound of each bucket in nanoseconds; nil for the last (no bound).
    public static let bucketUpperBounds: [UInt64?] = (0..<bucketCount).map { $0 == bucketCount - 1 ? nil : UInt64(1) << $0 }

    /// Calls whose latency was measured (the histogram's total).
    public var measured: UInt64 { buckets.reduce(0, &+) }

    /// The latency below which a fraction `q` (0...1) of the measured calls fell, estimated by
    /// linear interpolation inside the power-of-two bucket that holds it; nil with no measured call.
    /// Within a factor of two of the truth by construction.
    public func percentile(_ q: Double) -> UInt64? {
        let total = measured
        guard total > 0 else { return nil }
        let rank = max(1, (min(max(q, 0), 1) * Double(total)).rounded(.up))
        var below: UInt64 = 0
        for (bucket, n) in buckets.enumerated() where n > 0 {
            if Double(below + n) >= rank {
                let lower = bucket == 0 ? 0 : Double(UInt64(1) << (bucket - 1))
                let upper = bucket == 0 ? 1 : Double(UInt64(1) << min(bucket, 62))
                let fraction = (rank - Double(below)) / Double(n)
                return UInt64(lower + (upper - lower) * fraction)
            }
            below += n
        }
        return nil
    }

    /// What was added since `earlier` (counters only grow while an entry lives; an entry deleted
    /// and created again starts from zero, which shows as its whole value).
    public func since(_ earlier: SyscallStats?) -> SyscallStats {
        guard let earlier, earlier.count <= count else { return self }
        var delta = SyscallStats()
        delta.count = count - earlier.count
        delta.errors = errors &- earlier.errors
        delta.latencyNanoseconds = latencyNanoseconds &- earlier.latencyNanoseconds
        for i in 0..<Self.bucketCount { delta.buckets[i] = buckets[i] &- earlier.buckets[i] }
        return delta
    }
}

/// Which container, which syscall.
public struct SyscallMetricsKey: Hashable, Sendable {
    public var cgroupID: UInt64
    public var number: Int

    public init(cgroupID: UInt64, number: Int) {
        self.cgroupID = cgroupID
        self.number = number
    }
}

/// top syscalls, and the daemon's syscall metrics: per container and syscall, calls, errors and a
/// latency histogram, counted in the kernel (bpf/syscall_metrics.bpf.c) without any event. The
/// table holds totals; `snapshot` reads them, `collect` (top) shows what was added each interval.
public final class SyscallMetricsGadget: TopGadget {
    /// For `collect` (top) with the kernel filter on: entries of cgroups that left the selection
    /// (removed, or resolved to a container not selected) are deleted once shown, so that a long
    /// run over short-lived containers does not fill the table. Off for --host (no filter) and
    /// for the daemon, which prunes by container instead (`forget`).
    let pruneUnselected: Bool
    /// Whether the kernel measures each call's latency (the histogram, `latencyNanoseconds`): two
    /// clock reads per call, the largest part of what a counted call costs (bench/RESULTS.md). Off,
    /// it counts calls and errors only.
    public let measuresLatency: Bool

    public init(measuresLatency: Bool = true, pruneUnselected: Bool = false) {
        self.measuresLatency = measuresLatency
        self.pruneUnselected = pruneUnselected
    }

    public let name = "syscalls"
    /// Without latency nothing runs at entry: the dispatcher then answers a metered task's entries
    /// from its cache (exit and exit_group are counted by `sonde_sysmet_task_exit`).
    public var dispatchedPrograms: DispatchedPrograms? {
        DispatchedPrograms(enter: measuresLatency ? Self.enterProgram : nil, exit: "sonde_sysmet_exit")
    }
    static let enterProgram = "sonde_sysmet_enter"
    public var object: EmbeddedBPFObject { EmbeddedBPF.syscall_metrics }
    public let defaultSort = ["-count", "-errors", "syscall"]

    public static var catalog: FieldCatalog { GadgetDescription.topSyscalls.catalog }
    public var catalog: FieldCatalog { Self.catalog }

    struct Key: BitwiseCopyable {
        var cgroupID: UInt64
        var nr: UInt32
        var reserved: UInt32
    }

    struct Value: BitwiseCopyable {
        var count: UInt64
        var errors: UInt64
        var latencyNanoseconds: UInt64
        var buckets: InlineArray<32, UInt64>
    }

    private let stats = Mutex<BPFMap?>(nil)
    private let lost = Mutex<BPFMap?>(nil)
    private let selection = Mutex<BPFMap?>(nil)
    /// The totals at the previous `collect`, to show each interval's share.
    private let previous = Mutex<[SyscallMetricsKey: SyscallStats]>([:])

    public func configure(_ object: BPFObject) throws(SondeError) {
        try object.setConstant("sysmet_latency", to: UInt8(measuresLatency ? 1 : 0))
        // Not loaded at all without latency: it would otherwise be attached like a program of its own.
        if !measuresLatency { try object.setAutoload(program: Self.enterProgram, false) }
    }

    public func loaded(_ object: BPFObject) throws(SondeError) {
        let stats = try object.map("sysmet_stats")
        guard stats.keySize == MemoryLayout<Key>.size, stats.valueSize == MemoryLayout<Value>.size,
              SyscallStats.bucketCount == 32 else {
            throw SondeError(.bpfLoadFailed, "sysmet_stats has \(stats.keySize)/\(stats.valueSize)-byte entries, sonde reads \(MemoryLayout<Key>.size)/\(MemoryLayout<Value>.size)")
        }
        self.stats.withLock { $0 = stats }
        let lost = try object.map("sonde_lost")
        self.lost.withLock { $0 = lost }
        let selection = try object.map("sonde_cgroups")
        self.selection.withLock { $0 = selection }
    }

    /// What the kernel could not count so far: calls that found the table full or no task storage
    /// (SONDE_LOST_INFLIGHT_FULL), and new-cgroup notices the ring buffer had no room for
    /// (SONDE_LOST_RINGBUF_FULL: such a container is selected at the next refresh instead).
    public func losses() throws(SondeError) -> (uncounted: UInt64, cgroupNotices: UInt64) {
        guard let map = lost.withLock({ $0 }) else { return (0, 0) }
        let notices = try map.lookupPerCPU(UInt32(0), as: UInt64.self).reduce(0, &+)
        let uncounted = try map.lookupPerCPU(UInt32(1), as: UInt64.self).reduce(0, &+)
        return (uncounted, notices)
    }

    /// Every (cgroup, syscall) counted so far, with its totals summed over the CPUs.
    public func snapshot() throws(SondeError) -> [SyscallMetricsKey: SyscallStats] {
        guard let map = stats.withLock({ $0 }) else { return [:] }
        var result: [SyscallMetricsKey: SyscallStats] = [:]
        for key in try map.keys(as: Key.self) {
            let perCPU = try map.lookupPerCPU(key, as: Value.self)
            guard !perCPU.isEmpty else { continue } // deleted meanwhile
            var total = SyscallStats()
            for value in perCPU {
                total.count &+= value.count
                total.errors &+= value.errors
                total.latencyNanoseconds &+= value.latencyNanoseconds
                for i in 0..<SyscallStats.bucketCount { total.buckets[i] &+= value.buckets[i] }
            }
            result[SyscallMetricsKey(cgroupID: key.cgroupID, number: Int(key.nr))] = total
        }
        return result
    }

    /// Deletes the entries of cgroups not in `live` (containers that are gone), so the table
    /// (16,384 entries) does not fill with the dead. Returns how many entries went.
    @discardableResult
    public func forget(keeping live: (UInt64) -> Bool) throws(SondeError) -> Int {
        guard let map = stats.withLock({ $0 }) else { return 0 }
        var removed = 0
        for key in try map.keys(as: Key.self) where !live(key.cgroupID) {
            if try map.delete(key) { removed += 1 }
        }
        return removed
    }

    public func collect(now: Int64) throws(SondeError) -> [Event] {
        let current = try snapshot()
        let earlier = previous.withLock { previous in
            defer { previous = current }
            return previous
        }
        var rows: [Event] = []
        for (key, totals) in current {
            let delta = totals.since(earlier[key])
            guard delta.count > 0 else { continue }
            rows.append(Self.row(key: key, stats: delta, now: now, source: name))
        }
        if pruneUnselected, let selection = selection.withLock({ $0 }), let map = stats.withLock({ $0 }) {
            var gone = Set<UInt64>()
            for cgroupID in Set(current.keys.map(\.cgroupID)) where try selection.lookup(cgroupID, as: UInt8.self) == nil {
                gone.insert(cgroupID)
            }
            for key in current.keys where gone.contains(key.cgroupID) {
                try map.delete(Key(cgroupID: key.cgroupID, nr: UInt32(key.number), reserved: 0))
            }
            if !gone.isEmpty { previous.withLock { $0 = $0.filter { !gone.contains($0.key.cgroupID) } } }
        }
        return rows
    }

    /// One row: the syscall's counts, with its latency percentiles.
    public static func row(key: SyscallMetricsKey, stats: SyscallStats, now: Int64, source: String = "syscalls") -> Event {
        var fields: [(name: String, value: FieldValue)] = [
            ("syscall", .string(syscallName(key.number))), ("nr", .uint(UInt64(key.number))),
            ("count", .uint(stats.count)), ("errors", .uint(stats.errors)),
            ("total_ns", .uint(stats.latencyNanoseconds)),
        ]
        if stats.measured > 0 { fields.append(("avg", .uint(stats.latencyNanoseconds / stats.measured))) }
        for (name, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
            if let value = stats.percentile(q) { fields.append((name, .uint(value))) }
        }
        return Event(timestamp: now, source: source,
                     process: ProcessRef(pid: 0, tid: 0, ppid: 0, uid: 0, gid: 0, comm: ""),
                     cgroupID: key.cgroupID, mountNamespaceID: 0, fields: fields)
    }

    /// The name from the x86_64 table, or "syscall_N" for a number it does not know.
    public static func syscallName(_ number: Int) -> String {
        SyscallTable.x86_64[number]?.name ?? "syscall_\(number)"
    }
}
