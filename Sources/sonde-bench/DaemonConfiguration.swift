import Containers
import Foundation
import LinuxKit
import Recorder

/// `sonde daemon` as a new user runs it: recording one container, the Prometheus endpoint on (which
/// brings the syscall metrics of every container and the start-up timelines), everything else
/// default; or, for one more row, with the syscall latency histogram on (`metrics.syscallLatency`).
/// The binary is the `sonde` built beside this benchmark.
struct DaemonConfiguration: BenchConfiguration {
    enum Role {
        /// The workload's container is the one recorded (and, like every container, metered).
        case recorded
        /// The workload's container is metered only: the daemon records another one.
        case metricsOnly
        /// The workload runs on the host: the daemon records the idle companion container.
        case notSelected
    }

    let role: Role
    /// `metrics.syscallLatency`: off by default.
    var latency = false
    var placement: Placement { role == .notSelected ? .host : .container }

    var name: String {
        if latency { return "sonde daemon, syscallLatency on (container metered, not recorded)" }
        switch role {
        case .recorded: return "sonde daemon, default config (container recorded)"
        case .metricsOnly: return "sonde daemon, default config (container metered, not recorded)"
        case .notSelected: return "sonde daemon, default config (host process, not selected)"
        }
    }

    var method: String {
        let recorded: String
        switch role {
        case .recorded: recorded = "the workload's container"
        case .metricsOnly: recorded = "another, idle container (the workload's container is only counted by the metrics)"
        case .notSelected: recorded = "the idle companion container (the timed workload runs on the host)"
        }
        return "`sonde daemon --config FILE` (the release binary beside sonde-bench) with `record.select.names` naming "
            + recorded + " and `metrics.address` set" + (latency ? " with `metrics.syscallLatency: true`" : "")
            + ", every other key default (own socket, state and pin directories); "
            + "attached once the daemon's recorder lists the recorded container and its /metrics shows syscalls of the "
            + "selected one after an execve probe, and its first 1 s bpf_stats sample (taken at start, then every 60 s) has ended; "
            + "stopped with SIGTERM after the loops, then its pinned recording removed."
    }

    func unavailableReason() -> String? {
        guard FileManager.default.isExecutableFile(atPath: Self.sondeBinary) else { return "no sonde binary at \(Self.sondeBinary)" }
        return onPath("curl") ? nil : "curl is not installed (the metrics endpoint is read with it)"
    }

    static var sondeBinary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("sonde").path
    }

    final class Attached: Attachment {
        let child: Child
        let directory: String
        let settings: RecorderSettings

        init(child: Child, directory: String, settings: RecorderSettings) {
            self.child = child
            self.directory = directory
            self.settings = settings
        }

        func detach() throws -> String? {
            defer {
                try? FlightRecorder.stop(settings)
                try? FileManager.default.removeItem(atPath: directory)
            }
            child.signal(SIGTERM)
            let status = child.waitFor(timeout: 30)
            if status == nil { child.finish(timeout: 0) }
            return status == nil ? "the daemon did not stop within 30 s of SIGTERM (killed)" : nil
        }
    }

    func attach(_ target: AttachTarget) throws -> Attachment? {
        let unique = "sonde-bench-daemon-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let directory = "/run/" + unique
        try FileManager.default.createDirectory(atPathOrThrow: directory)
        var settings = RecorderSettings()
        settings.pinDirectory = "/sys/fs/bpf/" + unique
        settings.stateDirectory = directory + "/recorder"
        let recordedName = role == .metricsOnly ? unique + "-absent" : target.containerName
        let port = 20_000 + Int(getpid() % 20_000)
        let config: [String: Any] = [
            "socket": directory + "/sonde.sock",
            "stateDirectory": directory + "/state",
            "record": ["select": ["names": [recordedName]], "pinDirectory": settings.pinDirectory,
                       "stateDirectory": settings.stateDirectory, "crashDirectory": directory + "/crash"],
            "metrics": ["address": "127.0.0.1:\(port)", "syscallLatency": latency],
        ]
        let configPath = directory + "/config.json"
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        let child = try Child([Self.sondeBinary, "daemon", "--config", configPath], stderrPath: directory + "/daemon.err")
        child.closeStdin()
        let attached = Attached(child: child, directory: directory, settings: settings)
        do {
            try waitActive(target: target, recordedName: recordedName, port: port, settings: settings, child: child)
        } catch {
            let tail = child.stderrTail()
            _ = try? attached.detach()
            throw BenchError("\(name): \(error) \(tail)")
        }
        return attached
    }

    /// Until the recorder records the named container (unless it is absent by design) and the
    /// metrics count calls of the target container, probing it with an execve.
    private func waitActive(target: AttachTarget, recordedName: String, port: Int, settings: RecorderSettings,
                            child: Child) throws {
        let deadline = Date().addingTimeInterval(60)
        let metered = "container=\"\(target.containerName)\""
        while true {
            if child.waitFor(timeout: 0) != nil { throw BenchError("the daemon exited") }
            let recording = role == .metricsOnly
                || ((try? FlightRecorder.attach(settings).recorded())?.contains { $0.container.name == recordedName } ?? false)
            let metrics = runQuietly(["curl", "-s", "--max-time", "5", "http://127.0.0.1:\(port)/metrics"], timeout: 10) ?? ""
            let lines = metrics.split(separator: "\n")
            let counted = lines.contains { $0.hasPrefix("sonde_syscall") && $0.contains(metered) }
            // The daemon samples its programs' cost by turning the kernel's bpf_stats on for 1 s in
            // every 60, from its start: the loops run after the first window, as they would at any
            // other time but that 1/60.
            let sampled = lines.contains { $0.hasPrefix("sonde_bpf_stats_window_seconds") }
            if recording && counted && sampled { return }
            guard Date() < deadline else {
                throw BenchError("not active within 60 s (recording: \(recording), metered: \(counted), cost sampled: \(sampled))")
            }
            try target.execProbe()
            usleep(300_000)
        }
    }
}
