import BPFKit
@testable import Daemon
import DaemonAPI
import Foundation
import LinuxKit
import Testing

/// The self-cost report: its config keys, the window arithmetic and how status shows it.
@Suite struct BPFStatsTests {
    @Test func configKeysAndTheirMistakes() throws {
        let defaults = try DaemonConfig.parse(Data("{}".utf8))
        #expect(defaults.bpfStats == BPFCostSampler.Settings(window: .seconds(1), every: .seconds(60)))
        #expect(defaults.reconcileSeconds == 60)

        let set = try DaemonConfig.parse(Data(#"{"reconcileSeconds": 5, "bpfStats": {"windowSeconds": 0.25, "everySeconds": 2}}"#.utf8))
        #expect(set.reconcileSeconds == 5)
        #expect(set.bpfStats == BPFCostSampler.Settings(window: .milliseconds(250), every: .seconds(2)))
        let off = try DaemonConfig.parse(Data(#"{"bpfStats": {"windowSeconds": 0}}"#.utf8))
        #expect(!off.bpfStats.enabled)

        for (bad, says) in [(#"{"bpfStats": {"windowSeconds": 5, "everySeconds": 5}}"#, "shorter than everySeconds"),
                            (#"{"bpfStats": {"windowSeconds": -1}}"#, "windowSeconds: expected seconds"),
                            (#"{"bpfStats": {"everySeconds": "often"}}"#, "everySeconds: expected seconds"),
                            (#"{"bpfStats": {"window": 1}}"#, "unknown key 'window'"),
                            (#"{"reconcileSeconds": 0}"#, "reconcileSeconds: expected a whole number from 1")] {
            #expect { try DaemonConfig.parse(Data(bad.utf8)) } throws: { error in
                "\(error)".contains(says)
            }
        }
    }

    @Test func windowCostsAreDifferencesOfTheKernelTotals() {
        let before = [BPFProgramStats(id: 7, name: "sonde_rec_sys_enter", type: "tracing", runCount: 1000, runTimeNanoseconds: 90_000),
                      BPFProgramStats(id: 8, name: "sonde_rec_sys_exit", type: "tracing", runCount: 1000, runTimeNanoseconds: 80_000),
                      BPFProgramStats(id: 9, name: "sonde_gone", type: "tracing", runCount: 5, runTimeNanoseconds: 500)]
        let after = [BPFProgramStats(id: 7, name: "sonde_rec_sys_enter", type: "tracing", runCount: 3000, runTimeNanoseconds: 290_000),
                     BPFProgramStats(id: 8, name: "sonde_rec_sys_exit", type: "tracing", runCount: 1000, runTimeNanoseconds: 80_000),
                     // Loaded within the window: every run it counted happened in it.
                     BPFProgramStats(id: 12, name: "sonde_sysmet_enter", type: "tracing", runCount: 40, runTimeNanoseconds: 4_000)]
        let costs = BPFProgramCost.between(before, after)
        #expect(costs.map(\.id) == [7, 12, 8], "the costliest first; a program unloaded meanwhile is not shown")
        #expect(costs[0].runs == 2000 && costs[0].runTimeNanoseconds == 200_000)
        #expect(costs[0].nanosecondsPerRun == 100)
        #expect(costs[0].cpuShare(windowSeconds: 0.5) == 200_000 / 0.5e9)
        #expect(costs[1].runs == 40)
        #expect(costs[2].runs == 0 && costs[2].nanosecondsPerRun == nil)
    }

    @Test func statusShowsEachProgramWithItsShareOfACPU() throws {
        let stats = Sonde_V1_BpfStats.with {
            $0.mode = "sampled"
            $0.windowSeconds = 0.5
            $0.everySeconds = 60
            $0.windows = 3
            $0.windowEndNs = 10_000_000_000
            $0.programs = [
                .with { $0.id = 7; $0.name = "sonde_rec_sys_enter"; $0.type = "tracing"; $0.runs = 2000; $0.runTimeNs = 2_500_000 },
                .with { $0.id = 12; $0.name = "sonde_rec_cgroup_mkdir"; $0.type = "tracing"; $0.runs = 0; $0.runTimeNs = 0 },
            ]
        }
        let lines = stats.textLines(now: 12_000_000_000)
        #expect(lines[0] == "bpf stats: sampled, statistics on for 0.50 s every 60 s; last window 0.50 s ended 2 s ago: 2 programs, 0.500% of one CPU in all")
        #expect(lines[1].hasPrefix("  PROGRAM"))
        let enter = lines[2].split(separator: " ")
        #expect(enter == ["sonde_rec_sys_enter", "7", "tracing", "2000", "2.5", "ms", "1250.0", "0.500%"])
        #expect(lines[3].split(separator: " ") == ["sonde_rec_cgroup_mkdir", "12", "tracing", "0", "0", "ns", "-", "0.000%"])

        let json = stats.jsonObject
        #expect(json["mode"] as? String == "sampled")
        let programs = try #require(json["programs"] as? [[String: Any]])
        #expect(programs[0]["ns_per_run"] as? Double == 1250)
        #expect(programs[0]["cpu_ratio"] as? Double == 0.005)
        #expect(programs[1]["ns_per_run"] == nil, "no runs: no mean")
        #expect(JSONSerialization.isValidJSONObject(json))

        #expect(Sonde_V1_BpfStats.with { $0.mode = "off" }.textLines(now: 0) == ["bpf stats: off (bpfStats.windowSeconds 0)"])
        let first = Sonde_V1_BpfStats.with { $0.mode = "sampled"; $0.windowSeconds = 1; $0.everySeconds = 60; $0.error = "EPERM" }
        #expect(first.textLines(now: 0) == ["bpf stats: sampled, statistics on for 1 s every 60 s; last attempt failed: EPERM; no window finished yet"])
    }

}
