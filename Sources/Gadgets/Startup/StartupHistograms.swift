import Synchronization

/// Start-up durations as histograms, one per `StartupInterval`, with Prometheus' semantics
/// (cumulative buckets by upper bound in seconds, plus sum and count). A plain type, so the CLI and
/// tests need no metrics package; the daemon exports it with `exposition(name:)` or copies the
/// observations into its own registry through `StartupTracker.onSummary`.
public final class StartupHistograms: Sendable {
    /// Upper bounds in seconds: container starts take from milliseconds (runc) to minutes (image pulls).
    public static let bounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]

    public struct Histogram: Sendable, Equatable {
        /// Observations at or below each bound of `bounds` (not cumulative; see `cumulative`).
        public var buckets = [UInt64](repeating: 0, count: StartupHistograms.bounds.count)
        /// Observations above the last bound (the +Inf bucket minus the others).
        public var overflow: UInt64 = 0
        public var sumSeconds: Double = 0
        public var count: UInt64 = 0

        public var cumulative: [UInt64] {
            var total: UInt64 = 0
            return buckets.map { total += $0; return total }
        }
    }

    private let state = Mutex([StartupInterval: Histogram]())

    public init() {}

    /// Adds the durations of one container's timeline.
    public func observe(_ timeline: StartupTimeline) {
        let durations = timeline.durations
        state.withLock { histograms in
            for (interval, ns) in durations {
                let seconds = Double(ns) / 1e9
                var h = histograms[interval] ?? Histogram()
                if let index = Self.bounds.firstIndex(where: { seconds <= $0 }) { h.buckets[index] += 1 } else { h.overflow += 1 }
                h.sumSeconds += seconds
                h.count += 1
                histograms[interval] = h
            }
        }
    }

    public func snapshot() -> [StartupInterval: Histogram] { state.withLock { $0 } }

    /// The Prometheus text exposition of every interval observed:
    /// `NAME_bucket{interval="cgroup_to_entrypoint",le="0.01"} 3` ... `NAME_sum`, `NAME_count`.
    public func exposition(name: String = "sonde_container_startup_seconds") -> String {
        let histograms = snapshot()
        var out = "# HELP \(name) Time between the milestones of a container's start (sonde trace startup).\n"
        out += "# TYPE \(name) histogram\n"
        for interval in StartupInterval.allCases {
            guard let h = histograms[interval] else { continue }
            let label = "interval=\"\(interval.rawValue)\""
            for (bound, count) in zip(Self.bounds, h.cumulative) {
                out += "\(name)_bucket{\(label),le=\"\(Self.format(bound))\"} \(count)\n"
            }
            out += "\(name)_bucket{\(label),le=\"+Inf\"} \(h.count)\n"
            out += "\(name)_sum{\(label)} \(h.sumSeconds)\n"
            out += "\(name)_count{\(label)} \(h.count)\n"
        }
        return out
    }

    static func format(_ bound: Double) -> String {
        bound == bound.rounded() ? String(Int(bound)) : String(bound)
    }
}
