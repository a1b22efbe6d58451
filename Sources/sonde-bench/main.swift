// sonde-bench: per-syscall cost of sonde, the BPF floor and reference tracers, side by side.
//   swift run -c release sonde-bench [--quick] [--rounds N] [--calls N] [--only NAME,...] [--write bench/RESULTS.md]
// See bench/README.md.
import Dispatch
import Foundation
import LinuxKit
#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var quick = false
    var rounds: Int?
    var calls: Int?
    var write: String?
    var only: [String] = []

    static let usage = """
    usage: sonde-bench [--quick] [--rounds N] [--calls N] [--only SUBSTRING,...] [--write FILE]
      --quick        a smoke run of about 30 s (3 rounds, 200,000 calls per loop)
      --rounds N     rounds of all configurations (default 9)
      --calls N      calls per timed loop for untraced-speed configurations (default 500,000);
                     strace and perf trace run fewer (see the table)
      --only LIST    only configurations whose name contains one of these (baselines always run)
      --write FILE   also write the report (markdown) to FILE, e.g. bench/RESULTS.md
    """

    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var args = BenchArguments(arguments, mode: "sonde-bench", usage: usage)
        while let argument = args.next() {
            switch argument {
            case "--quick": options.quick = true
            case "--rounds": options.rounds = args.int(argument, in: 1..., "--rounds must be a positive integer")
            case "--calls": options.calls = args.int(argument, in: 1000..., "--calls must be at least 1000")
            case "--write": options.write = args.value(argument)
            case "--only": options.only = args.value(argument).split(separator: ",").map(String.init)
            default: args.fail("unknown argument \(argument)")
            }
        }
        return options
    }
}

func log(_ message: String) {
    FileHandle.standardError.write(Data("sonde-bench: \(message)\n".utf8))
}

/// The package root: from this file's location, else the current directory.
func packageRoot() -> String {
    let fromSource = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    for candidate in [FileManager.default.currentDirectoryPath, fromSource]
        where FileManager.default.fileExists(atPath: candidate + "/bench/workload.c") {
        return candidate
    }
    log("cannot find bench/workload.c: run from the package root")
    exit(1)
}

/// Ctrl-C and SIGTERM: kill what we started, delete containers, remove the workspace.
func installStopHandlers() -> [any DispatchSourceSignal] {
    signal(SIGPIPE, SIG_IGN)
    return [SIGINT, SIGTERM].map { number in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler {
            log("interrupted: cleaning up")
            Cleanup.shared.run()
            Workspace.remove()
            exit(130)
        }
        source.resume()
        return source
    }
}

/// One measurement: start the workload (in its container, or on the host beside an idle
/// companion container), attach, run the loops, detach, clean up.
/// `interfered` is true when BPF tracing programs of others were loaded before or after the loops.
func measure(_ configuration: any BenchConfiguration, calls: Int, tag: String,
             interference: Interference) throws -> (timings: Timings, note: String?, interfered: Bool) {
    let before = interference.loadedTracingPrograms()
    let foreignBefore = interference.foreign(in: before)
    let counts = [calls, calls]
    let containerName = "sonde-bench-\(getpid())-\(tag)"
    // Container placement: the workload's own container. Host: the companion, which only waits.
    let container = try WorkloadProcess(
        containerName: containerName, calls: configuration.placement == .container ? counts : [0, 0],
        wrapper: configuration.placement == .container ? configuration.wrapper : [])
    defer { container.stop() }
    try container.waitReady()

    let host = configuration.placement == .host ? try WorkloadProcess(hostCalls: counts) : nil
    defer { host?.stop() }
    try host?.waitReady()

    let target = AttachTarget(containerName: containerName, execProbe: { try container.execProbe() })
    let attachment = try configuration.attach(target)
    interference.claim(since: before)
    let timings: Timings
    do {
        // Generous: the slowest tracers take about 40 us per call.
        let timeout = 60 + Double(calls) * 2 * 100e-6
        timings = try (host ?? container).run(timeout: timeout)
    } catch {
        _ = try? attachment?.detach()
        throw error
    }
    let foreignAfter = interference.foreign()
    let note = try attachment?.detach()
    return (timings, note, !foreignBefore.isEmpty || !foreignAfter.isEmpty)
}

// MARK: main

// `sonde-bench events ...`: the trace open event-rate benchmark (EventRateBench.swift).
if CommandLine.arguments.dropFirst().first == "events" { EventRateBench.main(Array(CommandLine.arguments.dropFirst(2))) }
// `sonde-bench idle ...`: the daemon's idle cost (IdleBench.swift).
if CommandLine.arguments.dropFirst().first == "idle" { IdleBench.main(Array(CommandLine.arguments.dropFirst(2))) }

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
// Many short rounds rather than a few long ones: this VM's speed drifts over seconds, so more
// interleaved rounds give steadier medians for the same time.
let rounds = options.rounds ?? (options.quick ? 3 : 9)
let baseCalls = options.calls ?? (options.quick ? 200_000 : 500_000)
let root = packageRoot()
let stopHandlers = installStopHandlers()

guard geteuid() == 0 else {
    log("needs root (BPF, runc)")
    exit(1)
}
do {
    try KernelFilesystems.ensureTracefs()
    try KernelFilesystems.ensureBPFFS()
} catch {
    log("\(error)")
    exit(1)
}

var configurations = Configurations.all
if !options.only.isEmpty {
    configurations = configurations.filter { c in
        c is Baseline || options.only.contains { c.name.localizedCaseInsensitiveContains($0) }
    }
}
var measurements = Measurements(configurations: configurations, workloads: ["getppid", "read"])
for configuration in configurations {
    if let reason = configuration.unavailableReason() { measurements.skipped[configuration.name] = reason }
    measurements.calls[configuration.name] = max(1000, baseCalls / configuration.callDivisor)
}
let runnable = configurations.filter { measurements.skipped[$0.name] == nil }

log("preparing the workload and the bundle")
do {
    try Workspace.prepare(packageRoot: root)
} catch {
    log("\(error)")
    Workspace.remove()
    exit(1)
}
let facts = MachineFacts.collect()

let started = Date()
measurements.started = started
/// Measures once the machine is free of others' BPF tracers; names each container uniquely.
final class Sequencer {
    let interference = Interference()
    private var counter = 0

    func measureQuietly(_ configuration: any BenchConfiguration, calls: Int) throws -> (timings: Timings, note: String?, interfered: Bool) {
        interference.waitQuiet()
        counter += 1
        return try measure(configuration, calls: calls, tag: String(counter), interference: interference)
    }
}
let sequencer = Sequencer()
measurements.interferenceChecked = sequencer.interference.available
if !sequencer.interference.available { log("bpftool not found: interference from other BPF tracers is not checked") }

for round in 0..<rounds {
    // Rotate the order so no configuration always follows the same one.
    let offset = round % runnable.count
    let order = Array(runnable[offset...] + runnable[..<offset])
    for configuration in order {
        let calls = measurements.calls[configuration.name]!
        do {
            var attempt = 1
            var result = try sequencer.measureQuietly(configuration, calls: calls)
            while result.interfered && attempt < Interference.attempts {
                attempt += 1
                measurements.retried += 1
                log("round \(round + 1)/\(rounds) \(configuration.name): BPF tracing programs of others were loaded; measuring again")
                result = try sequencer.measureQuietly(configuration, calls: calls)
            }
            let (timings, note, interfered) = result
            if interfered {
                measurements.keptDespiteInterference.append("round \(round + 1) \(configuration.name)")
            }
            for (workload, timing) in timings {
                measurements.samples[configuration.name, default: [:]][workload, default: []].append(timing.median)
                measurements.minima[configuration.name, default: [:]][workload, default: []].append(timing.minimum)
                measurements.cpus[configuration.name, default: [:]][workload, default: []].append(timing.cpus)
            }
            if let note { measurements.notes[configuration.name, default: []].append(note) }
            let shown = measurements.workloads.map { "\($0) \(Report.format(timings[$0]?.median, digits: 1))" }
            log("round \(round + 1)/\(rounds) \(configuration.name): " + shown.joined(separator: ", ") + " ns/call")
        } catch {
            let message = "round \(round + 1) \(configuration.name): \(error)"
            measurements.failures.append(message)
            log("FAILED " + message)
        }
    }
}
measurements.rounds = rounds
measurements.elapsed = Date().timeIntervalSince(started)

Cleanup.shared.run()
Workspace.remove()

var commandLine = "swift run -c release sonde-bench"
if options.quick { commandLine += " --quick" }
if let r = options.rounds { commandLine += " --rounds \(r)" }
if let c = options.calls { commandLine += " --calls \(c)" }
if !options.only.isEmpty { commandLine += " --only " + options.only.joined(separator: ",") }
if let path = options.write { commandLine += " --write \(path)" }

print(Report.table(measurements))
print("\nFrom each round's fastest chunk (less VM noise):\n")
print(Report.table(measurements, .fastestChunk))
for (name, reason) in measurements.skipped.sorted(by: { $0.key < $1.key }) { print("skipped \(name): \(reason)") }
for failure in measurements.failures { print("failed: \(failure)") }
if let path = options.write {
    do {
        try Report.markdown(measurements, facts: facts, commandLine: commandLine)
            .write(toFile: path, atomically: true, encoding: .utf8)
        log("wrote \(path)")
    } catch {
        log("cannot write \(path): \(error)")
        exit(1)
    }
}
withExtendedLifetime(stopHandlers) {}
exit(measurements.failures.isEmpty ? 0 : 1)
