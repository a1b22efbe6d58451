import BPFKit
import Foundation
import LinuxKit
import Synchronization

/// What sonde's BPF programs cost the node (config key "bpfStats"): each program's runs and run
/// time over a short window, from the kernel's bpf_stats, for Status and the metrics endpoint.
///
/// The kernel counts run time only while statistics are enabled, and enabling them costs two clock
/// reads on every run of every program on the node: kept on, that alone would spoil the always-on
/// cost sonde is measured by. So the daemon samples: it holds BPF_ENABLE_STATS for `window` once
/// every `every`, and reports what happened in that window. When kernel.bpf_stats_enabled is
/// already 1 (someone keeps them on anyway), it adds nothing and reads every `every` instead,
/// reporting the whole period as the window.
public final class BPFCostSampler: Sendable {
    public struct Settings: Sendable, Equatable {
        /// How long statistics are on per sample; zero disables sampling.
        public var window: Duration
        /// How often a sample starts.
        public var every: Duration

        public init(window: Duration = .seconds(1), every: Duration = .seconds(60)) {
            self.window = window
            self.every = every
        }

        public var enabled: Bool { window > .zero }
    }

    /// One finished window.
    public struct Sample: Sendable {
        public enum Mode: String, Sendable {
            /// The daemon held BPF_ENABLE_STATS for the window.
            case sampled
            /// kernel.bpf_stats_enabled was 1: the window is the time between two readings.
            case continuous
        }
        public var mode: Mode
        public var windowSeconds: Double
        /// End of the window, nanoseconds since the Unix epoch.
        public var endedAt: Int64
        /// Windows finished since the daemon started (this one included).
        public var sequence: UInt64
        public var programs: [BPFProgramCost]
    }

    /// Programs whose kernel name starts with this are sonde's (every program in bpf/ is named so).
    public static let namePrefix = "sonde_"

    public let settings: Settings
    let notice: @Sendable (String) -> Void
    private let latest = Mutex<(sample: Sample?, error: String?)>((nil, nil))

    public init(settings: Settings, notice: @escaping @Sendable (String) -> Void) {
        self.settings = settings
        self.notice = notice
    }

    /// The last finished window, and the last error if the latest attempt failed.
    public var current: (sample: Sample?, error: String?) { latest.withLock { $0 } }

    /// Samples until cancelled. A failure (no permission to enable statistics, say) is reported
    /// once in the log and through `current`, and retried at the next period.
    func run() async throws {
        guard settings.enabled else {
            while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
            return
        }
        let table = BPFProgramTable()
        var previous: (programs: [BPFProgramStats], at: ContinuousClock.Instant)?
        var sequence: UInt64 = 0
        var lastError: String?
        while !Task.isCancelled {
            let started = ContinuousClock.now
            do throws(SondeError) {
                if BPFRunTimeStats.enabledBySysctl {
                    // Statistics are on anyway: compare with the previous reading.
                    let now = try table.programs(namePrefix: Self.namePrefix)
                    let at = ContinuousClock.now
                    if let previous {
                        sequence += 1
                        publish(.continuous, window: at - previous.at, programs: BPFProgramCost.between(previous.programs, now), sequence: sequence)
                    }
                    previous = (now, at)
                } else {
                    previous = nil
                    let stats = try BPFRunTimeStats()
                    let before = try table.programs(namePrefix: Self.namePrefix)
                    let from = ContinuousClock.now
                    try? await Task.sleep(for: settings.window)
                    let after = try table.programs(namePrefix: Self.namePrefix)
                    let window = ContinuousClock.now - from
                    withExtendedLifetime(stats) {} // held until the second reading
                    if Task.isCancelled { return }
                    sequence += 1
                    publish(.sampled, window: window, programs: BPFProgramCost.between(before, after), sequence: sequence)
                }
                lastError = nil
            } catch {
                latest.withLock { $0.error = error.description }
                if lastError != error.description { notice("bpf stats: \(error)") }
                lastError = error.description
            }
            let elapsed = ContinuousClock.now - started
            try await Task.sleep(for: max(settings.every - elapsed, .milliseconds(10)))
        }
    }

    private func publish(_ mode: Sample.Mode, window: Duration, programs: [BPFProgramCost], sequence: UInt64) {
        let seconds = Double(window.components.seconds) + Double(window.components.attoseconds) / 1e18
        let sample = Sample(mode: mode, windowSeconds: seconds, endedAt: Int64(Date().timeIntervalSince1970 * 1e9),
                            sequence: sequence, programs: programs)
        latest.withLock { $0 = (sample, nil) }
    }
}
