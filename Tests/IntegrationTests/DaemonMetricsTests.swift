import Foundation
import Testing
import TestSupport

/// The daemon's Prometheus endpoint (config key "metrics") scraped by a real Prometheus server:
/// a real runc container makes a known number of calls, and Prometheus' API must report them.
@Suite(.serialized) struct DaemonMetricsTests {
    /// The endpoint the daemon logged ("metrics on http://HOST:PORT/metrics").
    static func endpoint(_ daemon: DaemonProcess) async throws -> String {
        var address: String?
        _ = try await eventually(timeout: .seconds(30)) {
            guard let range = daemon.log.range(of: #"metrics on http://[0-9.]+:[0-9]+/metrics"#, options: .regularExpression) else { return false }
            address = String(daemon.log[range].dropFirst("metrics on http://".count).dropLast("/metrics".count))
            return true
        }
        return try #require(address, "\(daemon.log)")
    }

    static func scrape(_ address: String) throws -> String {
        let result = try run("/usr/bin/curl", ["-sS", "--max-time", "10", "http://\(address)/metrics"], timeout: 15)
        guard result.status == 0 else { throw TestFailure("scrape failed: \(result.stderr)") }
        return result.stdout
    }

    /// Both kernel paths: calls and errors counted at exit from the registers (the default), and
    /// timed from entry to exit (`syscallLatency`).
    @Test(arguments: [false, true])
    func prometheusScrapesTheSyscallsOfARealContainer(latency: Bool) async throws {
        let container = try SyscallWorkload.container(prefix: "sonde-it-prom", ok: 777, failing: 123)
        let daemon = try DaemonProcess(recording: [container.name],
                                       config: ["metrics": ["address": "127.0.0.1:0", "syscallLatency": latency]])
        defer { container.remove(); daemon.remove() }
        try await daemon.start()
        let address = try await Self.endpoint(daemon)
        try container.start()

        // The waiting loop's calls (access) show once the container is selected in the kernel
        // (a container started while the daemon's programs were still loading is selected at the
        // session's next refresh).
        let counted = try await eventually(timeout: .seconds(30)) {
            ((try? Self.scrape(address)) ?? "").split(separator: "\n").contains {
                $0.hasPrefix("sonde_syscalls_total{container=\"\(container.name)\"") && $0.contains("syscall=\"access\"")
            }
        }
        #expect(counted, "\(daemon.log)")
        // runc's own processes in the container's cgroup ended with exit_group before the workload's.
        func value(_ text: String, _ syscall: String) -> Double {
            text.split(separator: "\n").first {
                $0.hasPrefix("sonde_syscalls_total{container=\"\(container.name)\"") && $0.contains("syscall=\"\(syscall)\"")
            }.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
        }
        let before = try Self.scrape(address)
        let (exitsBefore, sigreturnsBefore) = (value(before, "exit_group"), value(before, "rt_sigreturn"))
        SyscallWorkload.go(container)

        let prometheus = try PrometheusServer(scraping: [address])
        defer { prometheus.stop() }
        let selector = "container=\"\(container.name)\""
        var calls: Double?, errors: Double?, exits: Double?, sigreturns: Double?
        let scraped = try await eventually(timeout: .seconds(60)) {
            calls = (try? prometheus.query("sonde_syscalls_total{\(selector),syscall=\"getpgid\"}"))?.first?.value
            errors = (try? prometheus.query("sonde_syscall_errors_total{\(selector),syscall=\"rmdir\"}"))?.first?.value
            // Calls that never return (counted when the thread ends) and one whose exit carries no
            // syscall number (counted as rt_sigreturn).
            exits = (try? prometheus.query("sonde_syscalls_total{\(selector),syscall=\"exit_group\"}"))?.first?.value
            sigreturns = (try? prometheus.query("sonde_syscalls_total{\(selector),syscall=\"rt_sigreturn\"}"))?.first?.value
            return calls == 777 && errors == 123 && exits == exitsBefore + Double(SyscallWorkload.children)
                && sigreturns == sigreturnsBefore + Double(SyscallWorkload.signals)
        }
        if !scraped {
            let direct = ((try? Self.scrape(address)) ?? "").split(separator: "\n").filter { $0.contains(container.name) && $0.hasPrefix("sonde_syscall") && !$0.contains("latency") }
            let targets = (try? run("/usr/bin/curl", ["-sS", "http://127.0.0.1:\(prometheus.port)/api/v1/targets"]).stdout) ?? ""
            Issue.record("getpgid \(String(describing: calls)), rmdir errors \(String(describing: errors)), exit_group \(String(describing: exits)), rt_sigreturn \(String(describing: sigreturns)); endpoint: \(direct.joined(separator: "\n")); targets: \(targets); log: \(prometheus.log)")
        }

        // The labels, the histogram and the other families of the same scrape.
        let sample = try #require(try prometheus.query("sonde_syscalls_total{\(selector),syscall=\"rmdir\"}").first)
        #expect(sample.value == 123)
        #expect(sample.labels["container_id"] == container.name && sample.labels["pod"] == "" || sample.labels["pod"] == nil)
        let histogram = try prometheus.query("sonde_syscall_latency_seconds_count{\(selector),syscall=\"getpgid\"}")
        if latency {
            #expect(histogram.first?.value == 777)
            let underOneMillisecond = try prometheus.query("sonde_syscall_latency_seconds_bucket{\(selector),syscall=\"getpgid\",le=\"0.001048576\"}")
            #expect((underOneMillisecond.first?.value ?? 0) >= 700, "\(underOneMillisecond)")
        } else {
            #expect(histogram.isEmpty, "no latency family without syscallLatency: \(histogram)")
            #expect(!(try Self.scrape(address)).contains("sonde_syscall_latency_seconds"))
        }
        let recorded = try prometheus.query("sonde_recorder_written_records_total{\(selector)}")
        #expect((recorded.first?.value ?? 0) > 1800, "\(recorded)") // at least the 900 calls, entry and exit
        let buffer = try prometheus.query("sonde_recorder_buffer_bytes{\(selector)}")
        #expect((buffer.first?.value ?? 0) >= 256 * 1024, "\(buffer)")
        let psi = try prometheus.query("sonde_container_pressure_stalled_seconds_total{\(selector),resource=\"cpu\",kind=\"some\"}")
        #expect(psi.count == 1, "\(psi)")
        let memory = try prometheus.query("sonde_container_memory_bytes{\(selector)}")
        #expect((memory.first?.value ?? 0) > 0, "\(memory)")
        #expect(try prometheus.query("up{job=\"sonde\"}").first?.value == 1)
        #expect(try prometheus.query("sonde_syscall_metrics_lost_total{reason=\"uncounted\"}").first?.value == 0)

        // Start-up timelines: a container started and removed now (the daemon's programs are long
        // attached) is observed when its cgroup goes, as histograms by interval.
        let second = try SyscallWorkload.container(prefix: "sonde-it-start", ok: 0, failing: 0)
        defer { second.remove() }
        try second.start()
        // Identified by the daemon (its series appear) before it goes.
        let known = try await eventually(timeout: .seconds(30)) { ((try? Self.scrape(address)) ?? "").contains(second.name) }
        #expect(known, "\(daemon.log)")
        second.remove()
        let timed = try await eventually(timeout: .seconds(30)) {
            ((try? Self.scrape(address)) ?? "").split(separator: "\n").contains {
                $0.hasPrefix("sonde_container_startup_seconds_count{interval=\"cgroup_to_entrypoint\"}") && !$0.hasSuffix(" 0")
            }
        }
        #expect(timed, "\(daemon.log)")
    }

    @Test func countsTheEventsOfGadgetsRunForClients() async throws {
        let container = try RuncContainer(prefix: "sonde-it-promgadget", args: ["sh", "-c", "while true; do /bin/true; sleep 0.2; done"])
        let daemon = try DaemonProcess(recording: [], config: ["metrics": ["address": "127.0.0.1:0"], "record": ["enabled": false]])
        defer { container.remove(); daemon.remove() }
        try await daemon.start()
        let address = try await Self.endpoint(daemon)
        try container.start()
        let traced = try run(sondeExecutable, ["daemon", "trace", "exec", "--daemon-socket", daemon.socket, "-c", container.name,
                                               "--timeout", "3", "-o", "json"], timeout: 60)
        #expect(traced.status == 0, "\(traced.stderr)")
        let events = traced.stdout.split(separator: "\n").count
        #expect(events > 0)
        let text = try Self.scrape(address)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("sonde_gadget_events_total{gadget=\"exec\"}") }, "\(text)")
        #expect(Int(line.split(separator: " ").last ?? "") == events, "\(line)")
        #expect(text.contains("# TYPE sonde_gadget_events_total counter"))
        // Unknown paths are 404.
        let missing = try run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://\(address)/nope"])
        #expect(missing.stdout == "404")
    }
}
