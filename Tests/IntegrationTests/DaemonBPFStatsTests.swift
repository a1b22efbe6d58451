import DaemonAPI
import Foundation
import Testing
import TestSupport

/// The daemon's self-cost report (config key "bpfStats"): sonde's BPF programs with the runs and
/// run time the kernel counted in a sampled window, in Status, `sonde daemon status` and on the
/// Prometheus endpoint. Windows are short here (0.2 s every 0.5 s); the test waits for a window
/// that ended after the container was recorded, never for a fixed time.
@Suite(.serialized) struct DaemonBPFStatsTests {
    @Test func statusCLIAndPrometheusShowTheDispatcherAndRecorderPrograms() async throws {
        try requireRoot()
        let container = try RuncContainer(prefix: "sonde-it-cost", args: ["/bin/sh", "-c", "while true; do cat /etc/passwd > /dev/null; done"])
        let daemon = try DaemonProcess(recording: [container.name], config: [
            "metrics": ["address": "127.0.0.1:0"], "bpfStats": ["windowSeconds": 0.2, "everySeconds": 0.5],
        ])
        defer { container.remove(); daemon.remove() }
        try await daemon.start()
        let address = try await DaemonMetricsTests.endpoint(daemon)
        try container.start()

        let recording = try await eventuallyValue(timeout: .seconds(30)) {
            try await daemon.api { client in
                try await client.listContainers(.with { $0.selector.names = [container.name] })
            }.containers.first { $0.recording }
        }
        #expect(recording != nil, "\(daemon.log)")
        let windowsBefore = try await daemon.api { try await $0.status(Sonde_V1_StatusRequest()) }.bpfStats.windows

        // A window that began after the container was recorded: the syscall dispatcher's entry
        // program ran for its calls (and every other call on the node: it is attached to sys_enter).
        // The recorder's own syscall programs are tail-called from it, and the kernel counts their
        // time to the dispatcher's.
        let stats = try await eventuallyValue(timeout: .seconds(30)) { () async throws -> Sonde_V1_BpfStats? in
            let stats = try await daemon.api { try await $0.status(Sonde_V1_StatusRequest()) }.bpfStats
            guard stats.windows > windowsBefore + 1,
                  stats.programs.contains(where: { $0.name == "sonde_sys_enter" && $0.runs > 0 && $0.runTimeNs > 0 }) else { return nil }
            return stats
        }
        let sample = try #require(stats, "no window showed sonde_sys_enter at work: \(daemon.log)")
        #expect(["sampled", "continuous"].contains(sample.mode))
        #expect(sample.everySeconds == 0.5)
        #expect(sample.windowSeconds > 0)
        // Full names come from the programs' BTF: the kernel keeps only "sonde_dispatch_".
        #expect(sample.programs.contains { $0.name == "sonde_sys_exit" && $0.type == "tracing" })
        #expect(sample.programs.contains { $0.name == "sonde_dispatch_newtask" })
        #expect(sample.programs.contains { $0.name == "sonde_rec_cgroup_mkdir" })
        #expect(sample.programs.allSatisfy { $0.name.hasPrefix("sonde_") })
        #expect(sample.error.isEmpty)

        // The CLI, text and JSON.
        let text = try run(sondeExecutable, ["daemon", "status", "--daemon-socket", daemon.socket], timeout: 30)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("bpf stats: "), "\(text.stdout)")
        #expect(text.stdout.split(separator: "\n").contains { $0.hasPrefix("  sonde_sys_enter ") }, "\(text.stdout)")
        let json = try run(sondeExecutable, ["daemon", "status", "--daemon-socket", daemon.socket, "-o", "json"], timeout: 30)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json.stdout)")
        let bpf = try #require(object["bpf_stats"] as? [String: Any])
        let programs = try #require(bpf["programs"] as? [[String: Any]])
        #expect(programs.contains { $0["name"] as? String == "sonde_sys_enter" && $0["cpu_ratio"] is Double })

        // Prometheus: the gauges of the last window, labelled by program.
        let scraped = try await eventually(timeout: .seconds(30)) {
            let lines = ((try? DaemonMetricsTests.scrape(address)) ?? "").split(separator: "\n")
            let runs = lines.first { $0.hasPrefix("sonde_bpf_program_runs{program=\"sonde_sys_enter\"") }
            return runs.flatMap { Double($0.split(separator: " ").last!) }.map { $0 > 0 } == true
                && lines.contains { $0.hasPrefix("sonde_bpf_program_run_seconds{program=\"sonde_sys_enter\"") }
                && lines.contains { $0.hasPrefix("sonde_bpf_program_cpu_ratio{program=\"sonde_sys_enter\"") }
                && lines.contains { $0.hasPrefix("sonde_bpf_stats_window_seconds ") }
        }
        #expect(scraped, "\((try? DaemonMetricsTests.scrape(address))?.split(separator: "\n").filter { $0.contains("sonde_bpf") }.prefix(20).joined(separator: "\n") ?? "")")
    }
}
