import BPFKit
import BPFObjects
import Events
import GadgetCatalog
import Testing
@testable import Gadgets

@Suite struct SyscallMetricsTests {
    func stats(_ buckets: [Int: UInt64]) -> SyscallStats {
        var stats = SyscallStats()
        for (bucket, n) in buckets { stats.buckets[bucket] = n; stats.count += n }
        return stats
    }

    @Test func percentilesInterpolateInsideTheirPowerOfTwoBucket() {
        // 100 calls in [512, 1024) ns and 100 in [1024, 2048).
        let s = stats([10: 100, 11: 100])
        #expect(s.percentile(0.25) == 768)   // halfway through the first bucket
        #expect(s.percentile(0.5) == 1024)   // its end
        #expect(s.percentile(0.75) == 1536)
        #expect(s.percentile(1) == 2048)
        #expect(SyscallStats().percentile(0.5) == nil)
        // One call of 0 ns: bucket 0.
        #expect(stats([0: 1]).percentile(0.99) == 1)
    }

    @Test func intervalsAreDifferencesOfTotals() {
        var before = stats([10: 5])
        before.errors = 2
        var after = stats([10: 7, 12: 1])
        after.errors = 3
        let delta = after.since(before)
        #expect(delta.count == 3 && delta.errors == 1 && delta.buckets[10] == 2 && delta.buckets[12] == 1)
        // An entry made anew (fewer calls than before) counts from zero.
        #expect(stats([10: 1]).since(before).count == 1)
    }

    @Test func rowsNameTheSyscallAndShowLatenciesWithUnits() {
        var s = stats([10: 10])
        s.latencyNanoseconds = 7000
        let row = SyscallMetricsGadget.row(key: SyscallMetricsKey(cgroupID: 42, number: 121), stats: s, now: 0)
        #expect(row.field("syscall") == .string("getpgid"))
        #expect(row.field("avg") == .uint(700))
        #expect(SyscallMetricsGadget.row(key: SyscallMetricsKey(cgroupID: 42, number: 999), stats: s, now: 0).field("syscall") == .string("syscall_999"))
        #expect(GadgetDescription.durationText(850) == "850ns")
        #expect(GadgetDescription.durationText(12_345) == "12.3us")
        #expect(GadgetDescription.durationText(4_100_000) == "4.10ms")
        #expect(GadgetDescription.durationText(1_200_000_000) == "1.20s")
    }
}
