import Foundation

/// `sonde daemon status`'s self-cost section, as text lines and as a JSON object.
extension Sonde_V1_BpfStats {
    /// "sampled 1 s every 60 s" and so on, then one row per program (the costliest first).
    /// `now`: nanoseconds since the Unix epoch, for the window's age.
    public func textLines(now: Int64) -> [String] {
        var head: String
        switch mode {
        case "off": return ["bpf stats: off (bpfStats.windowSeconds 0)"]
        case "continuous": head = "bpf stats: continuous (kernel.bpf_stats_enabled=1), read every \(Self.seconds(everySeconds))"
        default: head = "bpf stats: sampled, statistics on for \(Self.seconds(windowSeconds)) every \(Self.seconds(everySeconds))"
        }
        if !error.isEmpty { head += "; last attempt failed: \(error)" }
        guard windows > 0 else { return [head + "; no window finished yet"] }
        let age = max(0, Double(now - windowEndNs) / 1e9)
        head += "; last window " + Self.seconds(windowSeconds) + " ended " + String(format: "%.0f", age) + " s ago: "
            + "\(programs.count) programs, " + String(format: "%.3f", 100 * totalCPUShare) + "% of one CPU in all"
        func row(_ cells: [String]) -> String {
            let widths = [-28, 7, -16, 12, 10, 9, 8] // negative: left-aligned
            return "  " + zip(cells, widths).map { cell, width in
                let pad = String(repeating: " ", count: max(0, abs(width) - cell.count))
                return width < 0 ? cell + pad : pad + cell
            }.joined(separator: " ")
        }
        var lines = [head, row(["PROGRAM", "ID", "TYPE", "RUNS", "RUN TIME", "NS/RUN", "CPU"])]
        for program in programs {
            let perRun = program.runs > 0 ? String(format: "%.1f", Double(program.runTimeNs) / Double(program.runs)) : "-"
            lines.append(row([program.name, String(program.id), program.type, String(program.runs), Self.duration(program.runTimeNs),
                              perRun, String(format: "%.3f%%", 100 * cpuShare(program))]))
        }
        return lines
    }

    /// Share of one CPU a program used in the window.
    public func cpuShare(_ program: Sonde_V1_BpfProgramCost) -> Double {
        windowSeconds > 0 ? Double(program.runTimeNs) / (windowSeconds * 1e9) : 0
    }

    public var totalCPUShare: Double { programs.reduce(0) { $0 + cpuShare($1) } }

    /// For `-o json`: numbers as numbers, with the derived ns per run and CPU share.
    public var jsonObject: [String: Any] {
        var object: [String: Any] = ["mode": mode, "window_seconds": windowSeconds, "every_seconds": everySeconds,
                                     "windows": windows, "window_end_ns": windowEndNs, "cpu_ratio": totalCPUShare]
        if !error.isEmpty { object["error"] = error }
        object["programs"] = programs.map { program -> [String: Any] in
            var entry: [String: Any] = ["id": program.id, "name": program.name, "type": program.type, "runs": program.runs,
                                        "run_time_ns": program.runTimeNs, "cpu_ratio": cpuShare(program)]
            if program.runs > 0 { entry["ns_per_run"] = Double(program.runTimeNs) / Double(program.runs) }
            return entry
        }
        return object
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(format: "%.0f s", value) : String(format: "%.2f s", value)
    }

    static func duration(_ nanoseconds: UInt64) -> String {
        switch nanoseconds {
        case ..<1_000: return "\(nanoseconds) ns"
        case ..<1_000_000: return String(format: "%.1f us", Double(nanoseconds) / 1e3)
        case ..<1_000_000_000: return String(format: "%.1f ms", Double(nanoseconds) / 1e6)
        default: return String(format: "%.2f s", Double(nanoseconds) / 1e9)
        }
    }
}
