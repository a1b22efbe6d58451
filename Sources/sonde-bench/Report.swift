import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Everything measured in one run.
struct Measurements {
    let configurations: [any BenchConfiguration]
    let workloads: [String]
    /// ns/call per round, by configuration name, then workload.
    var samples: [String: [String: [Double]]] = [:]
    /// The fastest chunk's ns/call per round, same keys.
    var minima: [String: [String: [Double]]] = [:]
    /// The CPUs each round's loop ran on, same keys.
    var cpus: [String: [String: [String]]] = [:]
    /// Calls per timed loop, by configuration name.
    var calls: [String: Int] = [:]
    /// Notes from attachments (events seen...), by configuration name, one per round.
    var notes: [String: [String]] = [:]
    /// Configurations that could not run, with the reason.
    var skipped: [String: String] = [:]
    /// Failures of single rounds.
    var failures: [String] = []
    var rounds = 0
    /// Measurements repeated because BPF tracing programs of others were loaded meanwhile, and
    /// those kept anyway after the last attempt.
    var retried = 0
    var keptDespiteInterference: [String] = []
    var interferenceChecked = false
    var started = Date()
    var elapsed: TimeInterval = 0

    /// Which per-round value a table is built from.
    enum Statistic {
        /// The median chunk of each round: the typical cost.
        case medianChunk
        /// The fastest chunk of each round: the cost with the least interference from the VM.
        case fastestChunk
    }

    func values(_ configuration: String, _ workload: String, _ statistic: Statistic) -> [Double] {
        let source = statistic == .medianChunk ? samples : minima
        return source[configuration]?[workload] ?? []
    }

    func median(_ configuration: String, _ workload: String, _ statistic: Statistic = .medianChunk) -> Double? {
        Self.median(of: values(configuration, workload, statistic))
    }

    static func median(of values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The median over rounds of each round's added time divided by that round's floor's added
    /// time (both against the same round's baseline): the VM's speed shifts between a fast and a
    /// slow state that often lasts a whole round, and pairing by round cancels most of it. Rounds
    /// whose floor added under 20 ns (a shift inside the round) are left out.
    func pairedRatio(_ configuration: any BenchConfiguration, _ workload: String, _ statistic: Statistic) -> Double? {
        guard let base = baselineName(for: configuration.placement) else { return nil }
        let b = values(base, workload, statistic)
        let f = values(Configurations.floorName(for: configuration.placement), workload, statistic)
        let x = values(configuration.name, workload, statistic)
        guard b.count == x.count, f.count == x.count else { return nil }
        return Self.median(of: zip(x, zip(b, f)).compactMap { x, bf -> Double? in
            let (b, f) = bf
            return f - b >= 20 ? (x - b) / (f - b) : nil
        })
    }

    func baselineName(for placement: Placement) -> String? {
        configurations.first { $0 is Baseline && $0.placement == placement }?.name
    }
}

/// Machine facts for the report.
struct MachineFacts {
    let kernel: String
    let cpu: String
    let cpus: Int
    let date: String
    let tools: [String]

    static func collect() -> MachineFacts {
        var name = utsname()
        uname(&name)
        let kernel = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last!.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        let versions: [(String, [String])] = [
            ("runc", ["runc", "--version"]), ("strace", ["strace", "-V"]), ("perf", ["perf", "--version"]),
            ("bpftrace", ["bpftrace", "--version"]), ("gcc", ["gcc", "--version"]),
        ]
        let tools = versions.compactMap { label, command -> String? in
            guard onPath(command[0]), let out = runQuietly(command, timeout: 20),
                  let first = out.split(separator: "\n").first else { return nil }
            return "\(label): \(first)"
        }
        return MachineFacts(kernel: kernel, cpu: model, cpus: sysconf(Int32(_SC_NPROCESSORS_ONLN)),
                            date: formatter.string(from: Date()), tools: tools)
    }
}

enum Report {
    static func format(_ value: Double?, digits: Int = 0) -> String {
        guard let value else { return "n/a" }
        return String(format: "%.\(digits)f", value)
    }

    /// The markdown table: configuration, workload, ns/call, added ns, added / floor's added,
    /// total vs baseline, and the spread over rounds.
    static func table(_ m: Measurements, _ statistic: Measurements.Statistic = .medianChunk) -> String {
        var lines = [
            "| configuration | workload | calls | ns/call (median) | added ns vs baseline | added / floor's added | paired by round | total vs baseline | rounds min–max |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for workload in m.workloads {
            for configuration in m.configurations where m.skipped[configuration.name] == nil {
                let name = configuration.name
                guard let value = m.median(name, workload, statistic) else { continue }
                let baseName = m.baselineName(for: configuration.placement)
                let base = baseName.flatMap { m.median($0, workload, statistic) }
                let isBaseline = name == baseName
                let added = base.map { value - $0 }
                let floorAdded: Double? = m.median(Configurations.floorName(for: configuration.placement), workload, statistic)
                    .flatMap { floor in base.map { floor - $0 } }
                var ratioToFloor = "—", paired = "—"
                if !isBaseline, let added, let floorAdded, floorAdded > 0 {
                    ratioToFloor = String(format: "%.2f×", added / floorAdded)
                }
                if !isBaseline, let ratio = m.pairedRatio(configuration, workload, statistic) {
                    paired = String(format: "%.2f×", ratio)
                }
                let total = base.map { String(format: "%.2f×", value / $0) } ?? "n/a"
                let values = m.values(name, workload, statistic)
                let spread = "\(format(values.min()))–\(format(values.max()))"
                let addedText = isBaseline ? "—" : (added.map { String(format: "%+.0f", $0) } ?? "n/a")
                lines.append("| \(name) | \(workload) | \(m.calls[name].map(grouped) ?? "?") | \(format(value)) | \(addedText) | \(ratioToFloor) | \(paired) | \(total) | \(spread) |")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Notes in first-seen order, identical ones once with their count.
    static func condensed(_ notes: [String]) -> String {
        var order: [String] = []
        var counts: [String: Int] = [:]
        for note in notes {
            if counts[note] == nil { order.append(note) }
            counts[note, default: 0] += 1
        }
        return order.map { note in
            let n = counts[note]!
            return n > 1 ? "\(note) (\(n) rounds)" : note
        }.joined(separator: " / ")
    }

    static func grouped(_ n: Int) -> String {
        let digits = Array(String(n))
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out += "," }
            out.append(digit)
        }
        return out
    }

    /// The whole RESULTS.md.
    static func markdown(_ m: Measurements, facts: MachineFacts, commandLine: String) -> String {
        var text = """
        # sonde benchmark results

        Per-syscall cost of tracers on syscall-heavy loops, all configurations measured in one run
        of `\(commandLine)` (Sources/sonde-bench, workload bench/workload.c). Written by the harness;
        do not edit by hand. The other benchmarks write their own files: events per second of
        `sonde trace open` beside bpftrace in [RESULTS-gadgets.md](RESULTS-gadgets.md)
        (`sonde-bench events`), the supervisor's latency and throughput in
        [RESULTS-supervisor.md](RESULTS-supervisor.md) (`sonde-supervise-bench`).

        ## Machine

        - date: \(facts.date)
        - kernel: \(facts.kernel)
        - CPU: \(facts.cpu) (\(facts.cpus) online CPUs, shared VM)

        """
        for tool in facts.tools { text += "- \(tool)\n" }
        text += """

        ## Results

        Medians over \(m.rounds) interleaved round\(m.rounds == 1 ? "" : "s") (each round runs every configuration once, the
        starting configuration rotating from round to round). "added" is the configuration's median
        minus its baseline's median (the container baseline for container rows, the host baseline for
        host rows); "added / floor's added" divides that by what the empty raw_tracepoint pair adds
        in the same place (the container's floor for container rows, the host's for host rows);
        "paired by round" is the median over rounds of that ratio taken within each round (the
        VM's speed shifts between a fast and a slow state that often lasts a whole round: pairing
        cancels most of it, so this is the column to compare with targets); "total vs baseline" is
        the ratio of the medians.

        \(table(m))

        """
        if let base = m.baselineName(for: .container) {
            func spreads(_ statistic: Measurements.Statistic) -> String {
                m.workloads.compactMap { workload -> String? in
                    let values = m.values(base, workload, statistic)
                    guard let low = values.min(), let high = values.max() else { return nil }
                    return "\(format(high - low)) ns (\(workload))"
                }.joined(separator: " and ")
            }
            text += """

            Noise: this is a shared VM whose speed drifts over seconds, so the rounds of one
            configuration disagree (see the per-round values below): the container baseline alone
            varied by \(spreads(.medianChunk)) between rounds. Differences of that order between rows
            are not significant. The same table computed from each round's fastest chunk (of 10),
            which slowdowns shorter than a round do not reach (there the baseline's rounds varied
            by \(spreads(.fastestChunk))):

            \(table(m, .fastestChunk))

            """
        }
        text += "\n## How each configuration was measured\n\n"
        text += """
        Common to all: `bench/workload.c`, built with `gcc -O2 -static`, runs as the only process of a
        busybox runc container (`runc run --bundle DIR NAME` in the foreground, terminal off, from a
        bundle made by `scripts/make-rootfs.sh` and `runc spec`; stdout captured through a pipe; the
        container is deleted afterwards). It starts with `--wait`, prints `ready` and blocks on stdin,
        so tracers attach to a running container before any timed call; then each loop (getppid(),
        and 1-byte read() from /dev/zero) runs a warm-up of a tenth of its calls (at most 100,000)
        and times its N calls with CLOCK_MONOTONIC in 10 chunks of N/10, printing the median
        chunk's ns/call (so a burst of noise spoils a chunk, not the round). Host rows run the same binary on
        the host, outside any container, while an idle companion container (the same workload,
        waiting) exists for the tracer to select.

        """
        for configuration in m.configurations {
            text += "- **\(configuration.name)** (\(configuration.placement.rawValue)): \(configuration.method)"
            if let reason = m.skipped[configuration.name] { text += " *Skipped: \(reason).*" }
            text += "\n"
        }
        let noted = m.configurations.filter { !(m.notes[$0.name] ?? []).isEmpty }
        if !noted.isEmpty {
            text += "\n## What the attached tools reported, per round\n\n"
            for configuration in noted {
                text += "- \(configuration.name): " + condensed(m.notes[configuration.name] ?? []) + "\n"
            }
        }
        text += "\n## Conditions\n\n"
        text += "- total run time: \(Int(m.elapsed.rounded())) s\n"
        if m.interferenceChecked {
            text += "- Interference: other work on this shared machine loads BPF tracing programs now and then, which slows every syscall while attached. bpftool listed the loaded tracing programs before each measurement, after attaching and after the loops; a measurement during which programs not ours were loaded was repeated (up to \(Interference.attempts) attempts, after waiting up to \(Int(Interference.quietWait)) s for them to go): \(m.retried) repeated"
            if m.keptDespiteInterference.isEmpty {
                text += ", none kept with interference.\n"
            } else {
                text += "; kept with interference after the last attempt: " + m.keptDespiteInterference.joined(separator: "; ") + ".\n"
            }
        } else {
            text += "- Interference from BPF programs of others was not checked (bpftool not found).\n"
        }
        if !m.failures.isEmpty {
            text += "- failed measurements (left out of the medians):\n"
            for failure in m.failures { text += "  - \(failure)\n" }
        }
        text += """

        ## Per-round values (ns/call)

        Per round, in order: the median of the workload's 10 chunks, then the fastest chunk, then
        the CPU(s) the loop ran on (the harness does not pin it; some tracers cost more on one CPU
        than on the other).

        | configuration | workload | rounds (median chunk) | rounds (fastest chunk) | rounds (CPU) |
        |---|---|---|---|---|

        """
        for workload in m.workloads {
            for configuration in m.configurations {
                guard let values = m.samples[configuration.name]?[workload] else { continue }
                let minima = m.minima[configuration.name]?[workload] ?? []
                let cpus = m.cpus[configuration.name]?[workload] ?? []
                text += "| \(configuration.name) | \(workload) | \(values.map { format($0) }.joined(separator: ", ")) | \(minima.map { format($0) }.joined(separator: ", ")) | \(cpus.joined(separator: ", ")) |\n"
            }
        }
        return text
    }
}
