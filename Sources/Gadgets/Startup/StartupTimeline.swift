import Containers
import Events
import GadgetCatalog
import Foundation
import LinuxKit

/// The milestones of a container's start, in order.
public enum StartupStep: String, Sendable, CaseIterable, Comparable {
    /// The runtime process that made the container's cgroup was exec'd (runc create/run, crun).
    case runtime
    /// The container's cgroup v2 directory was made.
    case cgroup
    /// The first exec inside the container's mount namespace: the entrypoint.
    case entrypoint
    /// The first TCP socket put in LISTEN.
    case listen
    /// The first connection accepted.
    case accept

    var order: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (a: Self, b: Self) -> Bool { a.order < b.order }
}

/// A duration between two consecutive milestones; the histograms are per interval.
public enum StartupInterval: String, Sendable, CaseIterable {
    case runtimeToCgroup = "runtime_to_cgroup"
    case cgroupToEntrypoint = "cgroup_to_entrypoint"
    case entrypointToListen = "entrypoint_to_listen"
    case listenToAccept = "listen_to_accept"
    /// From the first milestone seen to the first connection accepted (only when accepted).
    case total = "total"

    public var steps: (from: StartupStep, to: StartupStep)? {
        switch self {
        case .runtimeToCgroup: (.runtime, .cgroup)
        case .cgroupToEntrypoint: (.cgroup, .entrypoint)
        case .entrypointToListen: (.entrypoint, .listen)
        case .listenToAccept: (.listen, .accept)
        case .total: nil
        }
    }
}

/// One container's start: when each milestone was reached (Unix ns) and what it was.
public struct StartupTimeline: Sendable {
    public var container: Container
    public var times: [StartupStep: Int64] = [:]
    public var details: [StartupStep: String] = [:]

    public init(container: Container) { self.container = container }

    public var reached: [StartupStep] { StartupStep.allCases.filter { times[$0] != nil } }

    /// Nanoseconds per interval, for the intervals whose two ends were reached. Clamped at zero:
    /// the milestones come from different CPUs' clocks of one boot clock, never meaningfully negative.
    public var durations: [(interval: StartupInterval, nanoseconds: Int64)] {
        var out: [(StartupInterval, Int64)] = []
        for interval in StartupInterval.allCases {
            if let steps = interval.steps, let a = times[steps.from], let b = times[steps.to] {
                out.append((interval, max(0, b - a)))
            }
        }
        if let accepted = times[.accept], let first = reached.first.flatMap({ times[$0] }) {
            out.append((.total, max(0, accepted - first)))
        }
        return out
    }
}

/// Turns the startup gadget's records into timeline rows: one event per milestone (source
/// "startup", field "step") as it is reached, and one summary per container (step "summary") with
/// the durations, once it accepted its first connection, when it ends, or at `finish()`.
/// Only containers whose cgroup was made while sonde ran are followed: for the others the start
/// is not known. Used serially (from the session's sink).
public final class StartupTracker {
    struct CgroupCreation {
        var event: Event
        var runtimeExec: Int64
        var runtimePath: String
        var cgroupPath: String
    }

    /// New cgroups not yet seen with a milestone inside, by id; they may never be a selected container.
    private var created: [UInt64: CgroupCreation] = [:]
    private var timelines: [UInt64: StartupTimeline] = [:] // by the container's cgroup id
    private var summarized = Set<UInt64>()
    /// The last milestone row of each timeline.
    private var lastRow: [UInt64: Event] = [:]
    /// A cgroup made more than this long before its first milestone is no longer waited for.
    static let creationKept: Int64 = 120_000_000_000
    static let createdBound = 4096

    /// Called with each summary (for the histograms).
    public var onSummary: (StartupTimeline) -> Void = { _ in }

    public init() {}

    /// The rows this record makes: milestones (in order), possibly a summary.
    public func consume(_ event: Event) -> [Event] {
        guard case .string(let step)? = event.field("step"), case .uint(let cgroup)? = event.field("cgroup") else { return [] }
        switch step {
        case "cgroup":
            forgetOldCreations(now: event.timestamp)
            var runtimeExec: Int64 = 0
            if case .int(let t)? = event.field("runtime_exec_ns") { runtimeExec = t }
            created[cgroup] = CgroupCreation(event: event, runtimeExec: runtimeExec,
                                             runtimePath: string(event, "path"), cgroupPath: string(event, "cgroup_path"))
            return []
        case "gone":
            created[cgroup] = nil
            let key = cgroup // timelines are keyed by their container's cgroup id
            guard timelines[key] != nil else { return [] }
            defer {
                timelines[key] = nil
                lastRow[key] = nil
                summarized.remove(key)
            }
            guard !summarized.contains(key) else { return [] }
            // The row names the process of the last milestone, at the time the container ended.
            var end = lastRow[key] ?? event
            end.timestamp = event.timestamp
            return [summary(key, at: end)]
        default:
            guard let container = event.container, let milestone = StartupStep(rawValue: step)
            else { return [] }
            let key = container.cgroupID
            var rows: [Event] = []
            if timelines[key] == nil {
                // Only a container whose own cgroup was seen being made has a start to show.
                guard let creation = created.removeValue(forKey: key) else { return [] }
                timelines[key] = StartupTimeline(container: container)
                var runtimeRow = creation.event
                runtimeRow.container = container
                if creation.runtimeExec != 0 {
                    runtimeRow.timestamp = creation.runtimeExec
                    rows += record(.runtime, key: key, event: runtimeRow, detail: creation.runtimePath)
                    runtimeRow.timestamp = creation.event.timestamp
                }
                rows += record(.cgroup, key: key, event: runtimeRow, detail: creation.cgroupPath)
            }
            guard timelines[key]!.times[milestone] == nil else { return rows }
            let detail: String
            switch milestone {
            case .entrypoint: detail = string(event, "path")
            case .listen: detail = "port \(uint(event, "port"))"
            case .accept: detail = "port \(uint(event, "port")) from port \(uint(event, "peer_port"))"
            default: detail = ""
            }
            rows += record(milestone, key: key, event: event, detail: detail)
            if milestone == .accept && !summarized.contains(key) {
                summarized.insert(key)
                rows.append(summary(key, at: event))
            }
            return rows
        }
    }

    /// Summaries of the containers still starting (the run ends).
    public func finish(at timestamp: Int64) -> [Event] {
        var rows: [Event] = []
        for key in timelines.keys.sorted() where !summarized.contains(key) {
            // The summary row names the process of the last milestone reached.
            var stamp = lastRow[key] ?? Event(timestamp: timestamp, source: "startup",
                                              process: ProcessRef(pid: 0, tid: 0, ppid: 0, uid: 0, gid: 0, comm: ""),
                                              cgroupID: key, mountNamespaceID: 0)
            stamp.timestamp = timestamp
            rows.append(summary(key, at: stamp))
            summarized.insert(key)
        }
        return rows
    }

    // MARK: rows

    private func record(_ step: StartupStep, key: UInt64, event: Event, detail: String) -> [Event] {
        let previous = timelines[key]!.reached.filter { $0 < step }.last.flatMap { timelines[key]!.times[$0] }
        let first = timelines[key]!.reached.first.flatMap { timelines[key]!.times[$0] }
        timelines[key]!.times[step] = event.timestamp
        timelines[key]!.details[step] = detail
        var row = event
        row.source = "startup"
        row.fields = [
            ("step", .string(step.rawValue)),
            ("since_us", .int(first.map { max(0, event.timestamp - $0) / 1000 } ?? 0)),
            ("delta_us", .int(previous.map { max(0, event.timestamp - $0) / 1000 } ?? 0)),
            ("detail", .string(detail)),
        ]
        lastRow[key] = row
        return [row]
    }

    private func summary(_ key: UInt64, at event: Event) -> Event {
        let timeline = timelines[key]!
        onSummary(timeline)
        var row = event
        row.source = "startup"
        row.container = timeline.container
        let durations = timeline.durations
        let text = durations.map { "\($0.interval.rawValue) \(Self.milliseconds($0.nanoseconds))" }
        let missing = StartupStep.allCases.filter { timeline.times[$0] == nil }.map(\.rawValue)
        row.fields = [("step", .string("summary")), ("reached", .strings(timeline.reached.map(\.rawValue), truncated: false))]
        for (interval, ns) in durations { row.fields.append((interval.rawValue + "_us", .int(ns / 1000))) }
        row.fields.append(("detail", .string(text.joined(separator: ", ")
            + (missing.isEmpty ? "" : (text.isEmpty ? "" : "; ") + "not reached: " + missing.joined(separator: ",")))))
        return row
    }

    static func milliseconds(_ ns: Int64) -> String {
        let ms = Double(ns) / 1e6
        return ms < 10 ? String(format: "%.2fms", ms) : String(format: "%.1fms", ms)
    }

    private func forgetOldCreations(now: Int64) {
        created = created.filter { now - $0.value.event.timestamp < Self.creationKept }
        if created.count >= Self.createdBound, let oldest = created.min(by: { $0.value.event.timestamp < $1.value.event.timestamp }) {
            created[oldest.key] = nil
        }
    }

    private func string(_ event: Event, _ name: String) -> String {
        if case .string(let s)? = event.field(name) { return s }
        return ""
    }

    private func uint(_ event: Event, _ name: String) -> UInt64 {
        if case .uint(let v)? = event.field(name) { return v }
        return 0
    }

    public static var catalog: FieldCatalog { GadgetDescription.startup.catalog }
}
