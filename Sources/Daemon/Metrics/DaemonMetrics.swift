import Containers
import Foundation
import Gadgets
import LinuxKit
import Prometheus
import Recorder
import Synchronization

// The Daemon module has a Counter of its own (SondeService).
typealias PrometheusCounter = Prometheus.Counter

/// The daemon's Prometheus metrics (config key "metrics"). One registry, owned here and handed to
/// whatever else registers metrics (`registry`); the HTTP endpoint emits it on every scrape.
///
/// Values the kernel or the cgroup files keep (syscall totals, recorder rings, PSI, usage) are read
/// at scrape time and brought into the registry: counters advance by what was added since the
/// previous scrape, gauges are set. The syscall latency histogram is the one exception: the kernel
/// already aggregated it into power-of-two buckets and swift-prometheus' Histogram only records
/// single observations, so sonde writes that family itself (`SyscallLatencyFamily`) after the
/// registry's output.
public final class DaemonMetrics: Sendable {
    /// Every metric of the daemon. Others (start-up timelines...) register here too.
    public let registry = PrometheusCollectorRegistry()
    let syscalls: SyscallMetricsGadget
    let collection: ContainerCollection
    let cgroups: CgroupV2
    let recorder: FlightRecorder?
    /// How often the always-on sessions list the containers again without any event.
    let reconcile: Duration
    /// Sonde's own BPF programs' cost, shown as gauges of the last window.
    let bpfCost: BPFCostSampler?
    let notice: @Sendable (String) -> Void
    private let state = Mutex(State())
    /// One scrape at a time: each reads the kernel's totals and advances counters by the difference.
    private let scrapeLock = Mutex(())

    /// The latency buckets shown: every other power of two from 1.024 us to 1.07 s (the kernel's
    /// buckets 10, 12, ... 30), so that each bound is exact; +Inf is the total.
    static let latencyBucketIndices = Array(stride(from: 10, through: 30, by: 2))

    struct SeriesKey: Hashable {
        var container: String // runtime/id
        var syscall: Int
    }

    struct Series {
        let labels: [(String, String)]
        let calls: PrometheusCounter
        let errors: PrometheusCounter
        var latency = SyscallStats() // cumulative, advanced by the kernel's deltas
    }

    struct ContainerSeries {
        let labels: [(String, String)]
        var gauges: [String: Gauge] = [:]
        var counters: [String: PrometheusCounter] = [:]
        /// Last value read of each counter kept by the kernel or a cgroup file.
        var last: [String: UInt64] = [:]
    }

    struct State {
        /// The kernel's totals at the previous scrape, by (cgroup, syscall).
        var kernelTotals: [SyscallMetricsKey: SyscallStats] = [:]
        /// When a cgroup in the kernel's table was first seen without a container.
        var unknownSince: [UInt64: ContinuousClock.Instant] = [:]
        var series: [SeriesKey: Series] = [:]
        /// Per container: resources (PSI, usage) and recorder figures, by "runtime/id".
        var containers: [String: ContainerSeries] = [:]
        var recorderContainers: [String: ContainerSeries] = [:]
        var gadgetEvents: [String: PrometheusCounter] = [:]
        var gadgetLost: [String: PrometheusCounter] = [:]
        /// The kernel's loss counters of the syscall metrics at the last scrape.
        var lostUncounted: UInt64 = 0
        var lostNotices: UInt64 = 0
        /// Gauges of sonde's BPF programs, by program id, and the window they describe.
        var programs: [UInt32: ProgramGauges] = [:]
        var programsWindow: UInt64 = 0
        var windowGauge: Gauge?
    }

    struct ProgramGauges {
        let runs: Gauge
        let runSeconds: Gauge
        let cpu: Gauge
    }

    public init(collection: ContainerCollection, cgroups: CgroupV2, recorder: FlightRecorder?, syscallLatency: Bool = false,
                bpfCost: BPFCostSampler? = nil, reconcile: Duration = .seconds(60),
                notice: @escaping @Sendable (String) -> Void) {
        syscalls = SyscallMetricsGadget(measuresLatency: syscallLatency)
        self.bpfCost = bpfCost
        self.collection = collection
        self.cgroups = cgroups
        self.recorder = recorder
        self.reconcile = reconcile
        self.notice = notice
    }

    static func labels(_ container: Container) -> [(String, String)] {
        [("container", container.name), ("container_id", container.id),
         ("pod", container.pod?.name ?? ""), ("namespace", container.pod?.namespace ?? "")]
    }

    /// Runs the syscall-metrics programs over every container until cancelled. If they cannot run
    /// (a kernel without task storage, say), the daemon goes on without syscall metrics: the
    /// endpoint still serves the rest, and the log says why.
    func runSyscallCounting() async throws {
        var options = GadgetOptions(selector: ContainerSelector(), refreshInterval: reconcile)
        // Its only records are new-cgroup notices, submitted with a wake-up: no need to poll the ring.
        options.pollInterval = nil
        let session = GadgetSession(gadget: syscalls, collection: collection, options: options, notice: notice)
        do {
            let stats = try await session.run(sink: { _ in })
            if let summary = stats.lossSummary { notice("syscall metrics: " + summary) }
        } catch {
            notice("metrics: no syscall metrics: \(error)")
        }
        // The daemon's task group ends the daemon when any of its tasks returns: wait for the end.
        while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
    }

    /// Start-up timelines of new containers (`sonde trace startup`'s programs), as histograms.
    let startup = StartupHistograms()

    /// Follows every new container's start until cancelled; each timeline is observed when the
    /// container accepts its first connection or its cgroup goes. Like the syscall metrics, a failure
    /// leaves the rest of the endpoint serving.
    func runStartupTimelines() async throws {
        do {
            let stats = try await StartupMonitor.run(collection: collection, refreshInterval: reconcile, notice: notice) { [startup] timeline in
                startup.observe(timeline)
            }
            if let summary = stats.lossSummary { notice("start-up timelines: " + summary) }
        } catch {
            notice("metrics: no start-up timelines: \(error)")
        }
        while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
    }

    // MARK: gadgets run for clients (RunGadget)

    /// One event a RunGadget stream of `gadget` delivered.
    func gadgetEvent(_ gadget: String) {
        let counter = state.withLock { state in
            if let counter = state.gadgetEvents[gadget] { return counter }
            let counter = registry.makeCounter(descriptor: Self.gadgetEventsDescriptor, labels: [("gadget", gadget)])
            state.gadgetEvents[gadget] = counter
            return counter
        }
        counter.increment()
    }

    /// What a RunGadget stream lost, counted when it ends, by reason.
    func gadgetEnded(_ gadget: String, stats: GadgetStats, notSent: UInt64) {
        let reasons: [(String, UInt64)] = [
            ("ring_buffer_full", stats.lostRingBufferFull), ("in_flight_full", stats.lostInFlight),
            ("corrupt", stats.corrupt), ("while_resolving", stats.lostWhileResolving), ("slow_client", notSent),
        ]
        for (reason, n) in reasons where n > 0 {
            let counter = state.withLock { state in
                let key = gadget + "\0" + reason
                if let counter = state.gadgetLost[key] { return counter }
                let counter = registry.makeCounter(descriptor: Self.gadgetLostDescriptor, labels: [("gadget", gadget), ("reason", reason)])
                state.gadgetLost[key] = counter
                return counter
            }
            counter.increment(by: Int64(clamping: n))
        }
    }

    // MARK: scrape

    /// The exposition text: the registry after bringing every kernel and cgroup figure up to date,
    /// then the syscall latency histograms.
    public func scrape() -> [UInt8] {
        scrapeLock.withLock { _ in
            refreshSyscalls()
            refreshContainers()
            refreshRecorder()
            refreshBPFCost()
            var buffer = registry.emitToBuffer()
            if syscalls.measuresLatency {
                let histograms = state.withLock { state in state.series.values.map { ($0.labels, $0.latency) } }
                SyscallLatencyFamily.emit(histograms, into: &buffer)
            }
            if !startup.snapshot().isEmpty { buffer.append(contentsOf: startup.exposition().utf8) }
            return buffer
        }
    }

    func refreshSyscalls() {
        let totals: [SyscallMetricsKey: SyscallStats]
        do {
            totals = try syscalls.snapshot()
        } catch {
            notice("metrics: cannot read the syscall table: \(error)")
            return
        }
        if let losses = try? syscalls.losses() {
            let (uncounted, notices) = state.withLock { state in
                defer { (state.lostUncounted, state.lostNotices) = (losses.uncounted, losses.cgroupNotices) }
                return (losses.uncounted &- state.lostUncounted, losses.cgroupNotices &- state.lostNotices)
            }
            // Registered even at zero, so that "no loss" is a value, not an absent series.
            registry.makeCounter(descriptor: Self.lostDescriptor, labels: [("reason", "uncounted")]).increment(by: Int64(clamping: uncounted))
            registry.makeCounter(descriptor: Self.lostDescriptor, labels: [("reason", "cgroup_notice")]).increment(by: Int64(clamping: notices))
        }
        let now = ContinuousClock.now
        var forget = Set<UInt64>()
        state.withLock { state in
            var seen = Set<SeriesKey>()
            for (key, total) in totals {
                guard let container = collection.container(cgroupID: key.cgroupID) else {
                    // Pending (a new cgroup not yet resolved) or gone: dropped after 30 s.
                    let since = state.unknownSince[key.cgroupID, default: now]
                    state.unknownSince[key.cgroupID] = since
                    if now - since > .seconds(30) { forget.insert(key.cgroupID) }
                    continue
                }
                state.unknownSince[key.cgroupID] = nil
                let delta = total.since(state.kernelTotals[key])
                state.kernelTotals[key] = total
                let seriesKey = SeriesKey(container: "\(container.runtime.rawValue)/\(container.id)", syscall: key.number)
                seen.insert(seriesKey)
                var series = state.series[seriesKey] ?? {
                    let labels = Self.labels(container) + [("syscall", SyscallMetricsGadget.syscallName(key.number))]
                    return Series(labels: labels,
                                  calls: registry.makeCounter(descriptor: Self.callsDescriptor, labels: labels),
                                  errors: registry.makeCounter(descriptor: Self.errorsDescriptor, labels: labels))
                }()
                if delta.count > 0 { series.calls.increment(by: Int64(clamping: delta.count)) }
                if delta.errors > 0 { series.errors.increment(by: Int64(clamping: delta.errors)) }
                series.latency.count &+= delta.count
                series.latency.errors &+= delta.errors
                series.latency.latencyNanoseconds &+= delta.latencyNanoseconds
                for i in 0..<SyscallStats.bucketCount { series.latency.buckets[i] &+= delta.buckets[i] }
                state.series[seriesKey] = series
            }
            // Containers that are gone: their series go from the registry.
            let live = Set(collection.all.map { "\($0.runtime.rawValue)/\($0.id)" })
            for (key, series) in state.series where !live.contains(key.container) {
                registry.unregisterCounter(series.calls)
                registry.unregisterCounter(series.errors)
                state.series[key] = nil
            }
            for key in state.kernelTotals.keys where forget.contains(key.cgroupID) || totals[key] == nil {
                state.kernelTotals[key] = nil
            }
            for id in forget { state.unknownSince[id] = nil }
        }
        if !forget.isEmpty {
            do {
                try syscalls.forget(keeping: { !forget.contains($0) })
            } catch {
                notice("metrics: cannot prune the syscall table: \(error)")
            }
        }
    }

    /// PSI and usage of every container, from its cgroup files.
    func refreshContainers() {
        var readings: [(Container, CgroupResources)] = []
        for container in collection.all {
            if let resources = CgroupResources.read(container, cgroups: cgroups) { readings.append((container, resources)) }
        }
        state.withLock { state in
            var live = Set<String>()
            for (container, resources) in readings {
                let key = "\(container.runtime.rawValue)/\(container.id)"
                live.insert(key)
                var series = state.containers[key] ?? ContainerSeries(labels: Self.labels(container))
                for (resource, pressure) in [("cpu", resources.cpuPressure), ("memory", resources.memoryPressure), ("io", resources.ioPressure)] {
                    guard let pressure else { continue }
                    for (kind, stall) in [("some", Optional(pressure.some)), ("full", pressure.full)] {
                        guard let stall else { continue }
                        let labels = series.labels + [("resource", resource), ("kind", kind)]
                        gauge(&series, "psi \(resource) \(kind)", Self.pressureDescriptor, labels).set(stall.avg10)
                        advance(&series, "psi total \(resource) \(kind)", Self.pressureTotalDescriptor, labels,
                                to: stall.totalMicroseconds, scale: 1e-6)
                    }
                }
                if let cpu = resources.cpuUsageMicroseconds {
                    advance(&series, "cpu", Self.cpuDescriptor, series.labels, to: cpu, scale: 1e-6)
                }
                if let memory = resources.memoryBytes {
                    gauge(&series, "memory", Self.memoryDescriptor, series.labels).set(Double(memory))
                }
                state.containers[key] = series
            }
            for (key, series) in state.containers where !live.contains(key) {
                unregister(series)
                state.containers[key] = nil
            }
        }
    }

    /// Ring bytes, written, dropped and overwritten per recorded container.
    func refreshRecorder() {
        guard let recorder else { return }
        let usage: [RecorderUsage]
        do {
            usage = try recorder.usage()
        } catch {
            notice("metrics: cannot read the recorder's rings: \(error)")
            return
        }
        state.withLock { state in
            var live = Set<String>()
            for entry in usage {
                let key = "\(entry.container.runtime.rawValue)/\(entry.container.id)"
                live.insert(key)
                var series = state.recorderContainers[key] ?? ContainerSeries(labels: Self.labels(entry.container))
                gauge(&series, "bytes", Self.recorderBytesDescriptor, series.labels).set(Double(entry.bufferBytes))
                advance(&series, "written", Self.recorderWrittenDescriptor, series.labels, to: entry.writtenRecords)
                advance(&series, "dropped", Self.recorderDroppedDescriptor, series.labels, to: entry.droppedRecords)
                advance(&series, "overwritten", Self.recorderOverwrittenDescriptor, series.labels, to: entry.overwrittenBytes)
                state.recorderContainers[key] = series
            }
            for (key, series) in state.recorderContainers where !live.contains(key) {
                unregister(series)
                state.recorderContainers[key] = nil
            }
        }
    }

    /// Runs, run time and CPU share of each of sonde's BPF programs in the last sampled window.
    /// Gauges, not counters: the kernel only counts while statistics are on, so totals would
    /// mean "during the sampled windows", which no rate() should be taken of.
    func refreshBPFCost() {
        guard let bpfCost, let sample = bpfCost.current.sample else { return }
        state.withLock { state in
            guard state.programsWindow != sample.sequence else { return }
            state.programsWindow = sample.sequence
            let window = state.windowGauge ?? registry.makeGauge(descriptor: Self.bpfWindowDescriptor)
            state.windowGauge = window
            window.set(sample.windowSeconds)
            var live = Set<UInt32>()
            for program in sample.programs {
                live.insert(program.id)
                let gauges = state.programs[program.id] ?? {
                    let labels = [("program", program.name), ("id", String(program.id)), ("type", program.type)]
                    return ProgramGauges(runs: registry.makeGauge(descriptor: Self.bpfRunsDescriptor, labels: labels),
                                         runSeconds: registry.makeGauge(descriptor: Self.bpfRunSecondsDescriptor, labels: labels),
                                         cpu: registry.makeGauge(descriptor: Self.bpfCPUDescriptor, labels: labels))
                }()
                gauges.runs.set(Double(program.runs))
                gauges.runSeconds.set(Double(program.runTimeNanoseconds) / 1e9)
                gauges.cpu.set(program.cpuShare(windowSeconds: sample.windowSeconds))
                state.programs[program.id] = gauges
            }
            for (id, gauges) in state.programs where !live.contains(id) {
                for gauge in [gauges.runs, gauges.runSeconds, gauges.cpu] { registry.unregisterGauge(gauge) }
                state.programs[id] = nil
            }
        }
    }

    private func gauge(_ series: inout ContainerSeries, _ key: String, _ descriptor: MetricNameDescriptor,
                       _ labels: [(String, String)]) -> Gauge {
        if let gauge = series.gauges[key] { return gauge }
        let gauge = registry.makeGauge(descriptor: descriptor, labels: labels)
        series.gauges[key] = gauge
        return gauge
    }

    /// Advances a counter to a total kept elsewhere (a file, a ring header): by the difference
    /// since the last reading; a total that went down (a cgroup made anew) starts over.
    private func advance(_ series: inout ContainerSeries, _ key: String, _ descriptor: MetricNameDescriptor,
                         _ labels: [(String, String)], to total: UInt64, scale: Double = 1) {
        let counter = series.counters[key] ?? {
            let counter = registry.makeCounter(descriptor: descriptor, labels: labels)
            series.counters[key] = counter
            return counter
        }()
        let last = series.last[key] ?? 0
        let delta = total >= last ? total - last : total
        series.last[key] = total
        guard delta > 0 else { return }
        if scale == 1 { counter.increment(by: Int64(clamping: delta)) } else { counter.increment(by: Double(delta) * scale) }
    }

    private func unregister(_ series: ContainerSeries) {
        for gauge in series.gauges.values { registry.unregisterGauge(gauge) }
        for counter in series.counters.values { registry.unregisterCounter(counter) }
    }

    // MARK: names (computed: MetricNameDescriptor is not Sendable)

    static var callsDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "sonde", metricName: "syscalls", unitName: "total",
                             helpText: "Syscalls made by the container's processes (counted in the kernel).")
    }
    static var errorsDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "sonde", metricName: "syscall_errors", unitName: "total",
                             helpText: "Syscalls that returned an error (-errno).")
    }
    static var lostDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "sonde", metricName: "syscall_metrics_lost", unitName: "total",
                             helpText: "Syscalls the kernel could not count (reason uncounted: table full, no task storage) and new-cgroup notices lost (reason cgroup_notice).")
    }
    static var gadgetEventsDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "sonde", metricName: "gadget_events", unitName: "total",
                             helpText: "Events delivered by the gadgets the daemon ran for clients (RunGadget).")
    }
    static var gadgetLostDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "sonde", metricName: "gadget_lost_events", unitName: "total",
                             helpText: "Events of RunGadget streams that were lost, by reason; counted when a stream ends.")
    }
    static var pressureDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "sonde", subsystem: "container", metricName: "pressure_avg10", unitName: "percent",
                             helpText: "PSI of the container's cgroup: share of the last 10 s in which some (or all) tasks stalled on the resource.")
    }
    static var pressureTotalDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "sonde", subsystem: "container", metricName: "pressure_stalled_seconds", unitName: "total",
                             helpText: "PSI total stall time of the container's cgroup, by resource and kind.")
    }
    static var cpuDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "sonde", subsystem: "container", metricName: "cpu_usage_seconds", unitName: "total",
                             helpText: "CPU time used by the container (cgroup v2 cpu.stat usage_usec, else v1 cpuacct.usage).")
    }
    static var memoryDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "sonde", subsystem: "container", metricName: "memory", unitName: "bytes",
                             helpText: "Memory charged to the container now (cgroup v2 memory.current, else v1 memory.usage_in_bytes).")
    }
    static var recorderBytesDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "sonde", subsystem: "recorder", metricName: "buffer", unitName: "bytes",
                             helpText: "Flight recorder ring memory of the container (all CPUs).")
    }
    static var recorderWrittenDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "sonde", subsystem: "recorder", metricName: "written_records", unitName: "total",
                             helpText: "Records the flight recorder wrote for the container.")
    }
    static var recorderDroppedDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "sonde", subsystem: "recorder", metricName: "dropped_records", unitName: "total",
                             helpText: "Records the flight recorder could not write (too large, scratch unavailable).")
    }
    static var bpfWindowDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "sonde", subsystem: "bpf_stats", metricName: "window", unitName: "seconds",
                             helpText: "Length of the last window in which the kernel's BPF run statistics were on (config bpfStats).")
    }
    static var bpfRunsDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "sonde", subsystem: "bpf_program", metricName: "runs",
                             helpText: "Runs of sonde's BPF program in the last statistics window (sonde_bpf_stats_window_seconds).")
    }
    static var bpfRunSecondsDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "sonde", subsystem: "bpf_program", metricName: "run", unitName: "seconds",
                             helpText: "CPU time sonde's BPF program ran in the last statistics window (the kernel's run_time_ns).")
    }
    static var bpfCPUDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "sonde", subsystem: "bpf_program", metricName: "cpu", unitName: "ratio",
                             helpText: "Share of one CPU sonde's BPF program used in the last statistics window (run time / window).")
    }
    static var recorderOverwrittenDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "sonde", subsystem: "recorder", metricName: "overwritten_bytes", unitName: "total",
                             helpText: "Bytes of older records the container's rings overwrote once full (history no longer kept).")
    }
}

/// `sonde_syscall_latency_seconds`, written from the kernel's power-of-two buckets (see
/// DaemonMetrics): cumulative counts at each bound, +Inf, _sum and _count, per container and syscall.
enum SyscallLatencyFamily {
    static let name = "sonde_syscall_latency_seconds"

    /// `{le="..."} ` suffixes of the bucket lines, made once.
    static let bounds: [(index: Int, suffix: [UInt8])] = DaemonMetrics.latencyBucketIndices.map { index in
        (index, Array(",le=\"\(formatSeconds(Double(UInt64(1) << index) / 1e9))\"} ".utf8))
    }

    static func emit(_ series: [(labels: [(String, String)], stats: SyscallStats)], into buffer: inout [UInt8]) {
        guard !series.isEmpty else { return }
        buffer.append(contentsOf: "# HELP \(name) Latency of the container's syscalls, from entry to return (the kernel's power-of-two histogram).\n".utf8)
        buffer.append(contentsOf: "# TYPE \(name) histogram\n".utf8)
        // Bytes appended directly: with hundreds of containers this is 100,000 lines a scrape.
        let bucketName = Array("\(name)_bucket{".utf8), sumName = Array("\(name)_sum{".utf8), countName = Array("\(name)_count{".utf8)
        for (labels, stats) in series {
            let prefix = Array(labelText(labels).utf8)
            var cumulative: UInt64 = 0
            var next = 0
            for (index, suffix) in bounds {
                // Kernel bucket b holds [2^(b-1), 2^b) ns: every bucket up to `index` is below 2^index.
                while next <= index { cumulative += stats.buckets[next]; next += 1 }
                line(&buffer, bucketName, prefix, suffix, String(cumulative))
            }
            let measured = String(stats.measured)
            line(&buffer, bucketName, prefix, Array(",le=\"+Inf\"} ".utf8), measured)
            line(&buffer, sumName, prefix, Array("} ".utf8), formatSeconds(Double(stats.latencyNanoseconds) / 1e9))
            line(&buffer, countName, prefix, Array("} ".utf8), measured)
        }
    }

    private static func line(_ buffer: inout [UInt8], _ name: [UInt8], _ labels: [UInt8], _ suffix: [UInt8], _ value: String) {
        buffer.append(contentsOf: name)
        buffer.append(contentsOf: labels)
        buffer.append(contentsOf: suffix)
        buffer.append(contentsOf: value.utf8)
        buffer.append(UInt8(ascii: "\n"))
    }

    static func formatSeconds(_ value: Double) -> String {
        var text = String(format: "%.9f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// name="value",... with the exposition format's escapes (container names are hostile input).
    static func labelText(_ labels: [(String, String)]) -> String {
        labels.map { name, value in
            var escaped = ""
            for character in value.unicodeScalars {
                switch character {
                case "\\": escaped += "\\\\"
                case "\"": escaped += "\\\""
                case "\n": escaped += "\\n"
                default: escaped.unicodeScalars.append(character)
                }
            }
            return "\(name)=\"\(escaped)\""
        }.joined(separator: ",")
    }
}
