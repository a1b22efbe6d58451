// The event-rate benchmark of trace open: events per second end to end, from the kernel to JSON
// lines read from sonde's stdout, under a storm of opens from one runc container, beside bpftrace
// printing the same events.
//   swift build -c release && .build/release/sonde-bench events [--seconds N] [--rates 0,100000] [--write FILE]
// A rate of 0 is "as fast as the container can call open" (the throughput run); a positive rate is
// paced (the zero-loss run). See bench/RESULTS-gadgets.md.
import Foundation
import LinuxKit
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

enum EventRateBench {
    struct Settings {
        var seconds = 5
        var rates = [0, 100_000]
        var rounds = 1
        var write: String?
        var bpftrace = true
        var sonde: String?

        static let usage = """
        usage: sonde-bench events [--seconds N] [--rates R,R...] [--rounds N] [--no-bpftrace] [--sonde PATH] [--write FILE]
          --seconds N    length of each storm (default 5)
          --rates LIST   opens per second offered by the container; 0 = as fast as it can (default 0,100000)
          --rounds N     repeat every measurement N times (default 1)
          --no-bpftrace  only sonde
          --sonde PATH   the sonde executable (default: beside sonde-bench)
          --write FILE   also write the report (markdown), e.g. bench/RESULTS-gadgets.md
        """

        static func parse(_ arguments: [String]) -> Settings {
            var settings = Settings()
            var args = BenchArguments(arguments, mode: "sonde-bench events", usage: usage)
            while let argument = args.next() {
                switch argument {
                case "--seconds": settings.seconds = args.int(argument, in: 1...600, "--seconds must be 1...600")
                case "--rates":
                    let rates = args.value(argument).split(separator: ",").map { Int($0) }
                    guard !rates.isEmpty, rates.allSatisfy({ ($0 ?? -1) >= 0 }) else { args.fail("--rates takes numbers >= 0") }
                    settings.rates = rates.map { $0! }
                case "--rounds": settings.rounds = args.int(argument, in: 1..., "--rounds must be positive")
                case "--no-bpftrace": settings.bpftrace = false
                case "--sonde": settings.sonde = args.value(argument)
                case "--write": settings.write = args.value(argument)
                default: args.fail("unknown argument \(argument)")
                }
            }
            return settings
        }
    }

    /// One storm traced by one tracer.
    struct Result {
        var tracer: String
        var rate: Int
        var offered: Int
        var stormSeconds: Double
        var delivered: Int
        /// From the first storm event read to the last: the end-to-end delivery window.
        var deliverySeconds: Double
        /// What the tracer itself reported lost (sonde's summary, bpftrace's "Lost N events").
        var reportedLost: Int
        var tracerCPUSeconds: Double

        var missing: Int { max(0, offered - delivered) }
        var deliveredPerSecond: Double { deliverySeconds > 0 ? Double(delivered) / deliverySeconds : 0 }
        var offeredPerSecond: Double { stormSeconds > 0 ? Double(offered) / stormSeconds : 0 }
    }

    /// Counts the storm's events (lines naming its path) a tracer writes to its stdout pipe, in a
    /// thread of its own, as cheaply as it can (memchr and memmem over 1 MiB reads): the reader must
    /// not be the bottleneck it measures. Other lines (bpftrace's "Attaching 2 probes...", the
    /// probe opens) are not counted.
    final class LineCounter: @unchecked Sendable {
        private struct State {
            var lines = 0
            var probes = 0
            /// bpftrace's own count of what its perf buffers dropped: "Lost 123 events" on stdout.
            var reportedLost = 0
            var lastLine: ContinuousClock.Instant?
        }
        private let state = Mutex(State())
        private let fd: Int32
        private let done = DispatchSemaphore(value: 0)
        static let marker = Array(stormPath.utf8)
        static let probeMarker = Array(probePath.utf8)
        static let lostPrefix: [UInt8] = Array("Lost ".utf8)

        init(fd: Int32) {
            self.fd = fd
            let thread = Thread { [self] in count() }
            thread.start()
        }

        private func count() {
            let size = 1 << 20
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
            defer { buffer.deallocate(); done.signal() }
            var carried = 0 // bytes of an unfinished line kept at the start of the buffer
            while true {
                let n = retryingInterrupted { read(fd, buffer + carried, size - carried) }
                if n <= 0 { return }
                var lines = 0
                var probes = 0
                var reportedLost = 0
                var position = buffer
                var left = carried + n
                while left > 0, let hit = memchr(position, 0x0A, left) {
                    let length = hit - position
                    if Self.contains(position, length, Self.marker) {
                        lines += 1
                    } else if Self.contains(position, length, Self.probeMarker) {
                        probes += 1
                    } else if length > 5, memcmp(position, Self.lostPrefix, 5) == 0 {
                        let digits = UnsafeRawBufferPointer(start: position + 5, count: length - 5).prefix { $0 >= 0x30 && $0 <= 0x39 }
                        reportedLost += Int(String(decoding: digits, as: UTF8.self)) ?? 0
                    }
                    let next = hit + 1
                    left -= next - position
                    position = next
                }
                // A line longer than the whole buffer is not an event of ours: drop it.
                carried = left < size ? left : 0
                if carried > 0 { memmove(buffer, position, carried) }
                let now = ContinuousClock.now
                state.withLock { s in
                    s.lines += lines
                    s.probes += probes
                    s.reportedLost += reportedLost
                    if lines > 0 { s.lastLine = now }
                }
            }
        }

        /// memmem, which Glibc's Swift module does not export (a GNU extension): memchr for the
        /// first byte, memcmp for the rest.
        static func contains(_ start: UnsafeMutableRawPointer, _ length: Int, _ needle: [UInt8]) -> Bool {
            needle.withUnsafeBytes { n in
                var at = start
                var left = length
                while left >= n.count, let hit = memchr(at, Int32(n[0]), left - n.count + 1) {
                    if memcmp(hit, n.baseAddress!, n.count) == 0 { return true }
                    left -= hit - at + 1
                    at = hit + 1
                }
                return false
            }
        }

        var lines: Int { state.withLock { $0.lines } }
        var probes: Int { state.withLock { $0.probes } }
        var reportedLost: Int { state.withLock { $0.reportedLost } }
        var lastLine: ContinuousClock.Instant? { state.withLock { $0.lastLine } }

        /// Waits for end of file (the tracer exited).
        func waitEnd(timeout: Double) -> Bool { done.wait(timeout: .now() + timeout) == .success }
    }

    static func main(_ arguments: [String]) -> Never {
        let settings = Settings.parse(arguments)
        guard geteuid() == 0 else {
            log("needs root (BPF, runc)")
            exit(1)
        }
        signal(SIGPIPE, SIG_IGN)
        let stopHandlers = installStopHandlers()
        let root = packageRoot()
        let sonde = settings.sonde ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("sonde").path
        guard FileManager.default.isExecutableFile(atPath: sonde) else {
            log("\(sonde) not found: swift build -c release --product sonde first (or --sonde PATH)")
            exit(1)
        }
        let useBpftrace = settings.bpftrace && onPath("bpftrace")
        if settings.bpftrace && !useBpftrace { log("bpftrace not found: measuring sonde only") }

        var results: [Result] = []
        var failures: [String] = []
        let facts: MachineFacts
        do {
            try KernelFilesystems.ensureTracefs()
            try prepare(root: root)
            facts = MachineFacts.collect()
            let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3)
                .joined(separator: " ") ?? "?"
            log("load average before: \(load)")
            var counter = 0
            for round in 1...settings.rounds {
                for rate in settings.rates {
                    for tracer in useBpftrace ? ["sonde", "bpftrace"] : ["sonde"] {
                        counter += 1
                        do {
                            let result = try measure(tracer: tracer, sonde: sonde, rate: rate, seconds: settings.seconds,
                                                     tag: "\(getpid())-\(counter)")
                            results.append(result)
                            log("round \(round) \(tracer) rate \(rate == 0 ? "max" : String(rate)): offered \(result.offered) "
                                + "(\(Int(result.offeredPerSecond))/s), delivered \(result.delivered) "
                                + "(\(Int(result.deliveredPerSecond))/s), missing \(result.missing), reported lost \(result.reportedLost), "
                                + "tracer CPU \(Report.format(result.tracerCPUSeconds, digits: 2)) s")
                        } catch {
                            failures.append("round \(round) \(tracer) rate \(rate): \(error)")
                            log("FAILED \(tracer) rate \(rate): \(error)")
                        }
                    }
                }
            }
        } catch {
            log("\(error)")
            Cleanup.shared.run()
            Workspace.remove()
            exit(1)
        }
        Cleanup.shared.run()
        Workspace.remove()
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3)
            .joined(separator: " ") ?? "?"
        var commandLine = ".build/release/sonde-bench events --seconds \(settings.seconds) --rates "
            + settings.rates.map(String.init).joined(separator: ",")
        if settings.rounds > 1 { commandLine += " --rounds \(settings.rounds)" }
        if !settings.bpftrace { commandLine += " --no-bpftrace" }
        if let write = settings.write { commandLine += " --write \(write)" }
        let report = markdown(results, failures: failures, facts: facts, commandLine: commandLine, loadAfter: load)
        print(report)
        if let path = settings.write {
            do {
                try report.write(toFile: path, atomically: true, encoding: .utf8)
                log("wrote \(path)")
            } catch {
                log("cannot write \(path): \(error)")
                exit(1)
            }
        }
        withExtendedLifetime(stopHandlers) {}
        exit(failures.isEmpty ? 0 : 1)
    }

    static let stormInContainer = "/bin/openstorm"
    /// The path bench/openstorm.c opens in its storm.
    static let stormPath = "/storm-missing"
    static let probePath = "/storm-probe"

    /// The workspace: bench/openstorm.c compiled statically, in a busybox bundle.
    static func prepare(root: String) throws {
        try Workspace.prepare(packageRoot: root)
        let storm = Workspace.directory + "/openstorm"
        for command in [["gcc", "-O2", "-static", "-o", storm, root + "/bench/openstorm.c"],
                        ["cp", storm, Workspace.bundle + "/rootfs/bin/openstorm"]] {
            let child = try Child(command, stderrPath: Workspace.scratchFile("prepare.err"))
            child.closeStdin()
            child.finish(timeout: 120)
            guard child.exitStatus == 0 else { throw BenchError("\(command.joined(separator: " ")): \(child.stderrTail())") }
        }
    }

    /// The bpftrace program that prints what `sonde trace open` shows for the storm's calls
    /// (openat: glibc's open is openat): comm, pid, flags, the fd or -errno, the path.
    static func bpftraceProgram(container: String) -> String {
        let cgroup = "/sys/fs/cgroup/unified/\(container)"
        return """
        tracepoint:syscalls:sys_enter_openat /cgroup == cgroupid("\(cgroup)")/ {
            @path[tid] = args->filename; @flags[tid] = args->flags;
        }
        tracepoint:syscalls:sys_exit_openat /@path[tid]/ {
            printf("{\\"comm\\":\\"%s\\",\\"pid\\":%d,\\"flags\\":%d,\\"fd\\":%d,\\"path\\":\\"%s\\"}\\n",
                   comm, pid, @flags[tid], args->ret, str(@path[tid]));
            delete(@path[tid]); delete(@flags[tid]);
        }
        """
    }

    static func measure(tracer: String, sonde: String, rate: Int, seconds: Int, tag: String) throws -> Result {
        let name = "sonde-evbench-\(tag)"
        try Workspace.setContainerArguments([String(rate), String(seconds)], executable: stormInContainer)
        Cleanup.shared.add(container: name)
        let storm = try Child(["runc", "run", "--bundle", Workspace.bundle, name], stderrPath: Workspace.scratchFile("\(name).err"))
        defer {
            storm.closeStdin()
            storm.finish(timeout: 30, signal: SIGTERM)
            deleteContainer(name)
        }
        _ = try storm.stdout.waitFor(timeout: 60, what: "the storm to be ready") { $0 == "ready" }

        let command = tracer == "sonde"
            ? [sonde, "trace", "open", "-c", name, "-o", "json"]
            : ["bpftrace", "-e", bpftraceProgram(container: name)]
        let tracerProcess = try Child(command, stderrPath: Workspace.scratchFile("\(tracer).err"))
        tracerProcess.closeStdin()
        let counter = LineCounter(fd: tracerProcess.stdout.fd)
        defer { tracerProcess.finish(timeout: 5) }

        // Probe until the tracer prints the container's probe open: attached and selecting it.
        let attachDeadline = ContinuousClock.now + .seconds(60)
        while counter.probes == 0 {
            guard ContinuousClock.now < attachDeadline, tracerProcess.waitFor(timeout: 0) == nil else {
                throw BenchError("\(tracer) did not report the probe open: \(tracerProcess.stderrTail())")
            }
            try storm.send("p")
            _ = try storm.stdout.waitFor(timeout: 30, what: "the probe") { $0 == "ready" }
            usleep(200_000)
        }
        let before = counter.lines // 0: the storm has not begun
        let cpuBefore = cpuSeconds(tracerProcess.pid)

        try storm.send("g")
        let started = ContinuousClock.now
        let line = try storm.stdout.waitFor(timeout: Double(seconds) + 120, what: "the storm's count") { $0.hasPrefix("opens ") }
        let parts = line.split(separator: " ")
        guard parts.count == 3, let offered = Int(parts[1]), let nanoseconds = Double(parts[2]) else {
            throw BenchError("openstorm printed \(line)")
        }
        // Let the tracer drain what is still buffered: wait until its output stops growing.
        var last = counter.lines
        while true {
            usleep(500_000)
            let now = counter.lines
            if now == last { break }
            last = now
        }
        let cpuAfter = cpuSeconds(tracerProcess.pid)
        let lastLine = counter.lastLine ?? started
        tracerProcess.signal(SIGINT)
        _ = counter.waitEnd(timeout: 30)
        tracerProcess.finish(timeout: 30)
        let delivered = counter.lines - before
        let stderr = (try? String(contentsOfFile: tracerProcess.stderrPath, encoding: .utf8)) ?? ""
        let window = lastLine - started
        return Result(tracer: tracer, rate: rate, offered: offered, stormSeconds: nanoseconds / 1e9, delivered: delivered,
                      deliverySeconds: Double(window.components.seconds) + Double(window.components.attoseconds) / 1e18,
                      reportedLost: reportedLoss(stderr) + counter.reportedLost, tracerCPUSeconds: max(0, cpuAfter - cpuBefore))
    }

    /// sonde's final "sonde: warning: 123 events lost: ..." and bpftrace's "Lost 123 events" (should
    /// it print them on stderr; it prints them on stdout, where LineCounter reads them), summed.
    static func reportedLoss(_ stderr: String) -> Int {
        var total = 0
        for line in stderr.split(separator: "\n") {
            let words = line.split(separator: " ")
            if line.hasPrefix("sonde: warning: "), words.count > 4, words[3] == "events", words[4] == "lost:",
               let n = Int(words[2]) {
                total += n
            }
            if let at = words.firstIndex(of: "Lost"), at + 1 < words.count, let n = Int(words[at + 1]) { total += n }
        }
        return total
    }

    /// User plus system CPU time of a process so far.
    static func cpuSeconds(_ pid: pid_t) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the comm: state is field 3; utime and stime are fields 14 and 15.
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func markdown(_ results: [Result], failures: [String], facts: MachineFacts, commandLine: String,
                         loadAfter: String) -> String {
        var out = """
        # trace open: events per second, end to end

        A runc container calls `openat` on a missing path in a loop (bench/openstorm.c), at a paced rate or
        as fast as it can; the tracer prints one JSON line per call to a pipe whose reader counts the lines.
        `sonde trace open -c NAME -o json` and bpftrace (enter+exit tracepoints of openat, the same fields
        printed as JSON with printf) trace the same storm, one after the other in this run.

        - delivered/s: lines read divided by the time from the storm's start to the last line read
        - missing: calls made minus lines read; reported lost: what the tracer itself counted as lost
        - tracer CPU: user+system seconds of the tracer process during the storm and its drain
        - at "max" the storm runs on one core and the tracer's per-call BPF cost slows it, so the
          calls/s differ per tracer; where missing is 0 the tracer delivered all the container could
          offer, and its own limit lies higher (tracer CPU per event says how much higher)
        - sonde's ring buffer is 8 MiB; it wakes its reader once 256 KiB wait (or every 100 ms)

        Command: `\(commandLine)`

        Machine: \(facts.cpus) CPUs, \(facts.cpu), Linux \(facts.kernel); \(facts.date).
        \(facts.tools.joined(separator: "; ")).
        Load average after the run: \(loadAfter) (the machine is shared with other sessions' builds and tests).

        | tracer | offered rate | calls made | calls/s | lines delivered | delivered/s | missing | reported lost | tracer CPU s |
        |---|---|---|---|---|---|---|---|---|

        """
        for r in results {
            out += "| \(r.tracer) | \(r.rate == 0 ? "max" : Report.grouped(r.rate)) | \(Report.grouped(r.offered)) | "
                + "\(Report.grouped(Int(r.offeredPerSecond))) | \(Report.grouped(r.delivered)) | "
                + "\(Report.grouped(Int(r.deliveredPerSecond))) | \(Report.grouped(r.missing)) | "
                + "\(Report.grouped(r.reportedLost)) | \(Report.format(r.tracerCPUSeconds, digits: 2)) |\n"
        }
        out += """

        Summary (median over the rounds of each tracer and offered rate):

        | tracer | offered rate | calls/s | delivered/s | missing, worst round | tracer CPU per event |
        |---|---|---|---|---|---|

        """
        var keys: [(String, Int)] = []
        for r in results where !keys.contains(where: { $0 == (r.tracer, r.rate) }) { keys.append((r.tracer, r.rate)) }
        for (tracer, rate) in keys {
            let group = results.filter { $0.tracer == tracer && $0.rate == rate }
            func median(_ values: [Double]) -> Double {
                let sorted = values.sorted()
                return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
            }
            let perEvent = median(group.map { $0.delivered > 0 ? $0.tracerCPUSeconds / Double($0.delivered) * 1e6 : 0 })
            out += "| \(tracer) | \(rate == 0 ? "max" : Report.grouped(rate)) | "
                + "\(Report.grouped(Int(median(group.map(\.offeredPerSecond))))) | "
                + "\(Report.grouped(Int(median(group.map(\.deliveredPerSecond))))) | "
                + "\(Report.grouped(group.map(\.missing).max() ?? 0)) | \(Report.format(perEvent, digits: 2)) us |\n"
        }
        for failure in failures { out += "\nFailed: \(failure)\n" }
        return out
    }
}
