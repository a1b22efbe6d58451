/// Per-syscall numbers of a recording: counts, errors, latency percentiles and log2 histograms.
public struct SyscallStatistics: Sendable, Equatable {
    public var syscall: String
    public var calls = 0
    public var errors = 0
    /// Durations of the calls that have one, sorted.
    public var durations: [Int64] = []

    public var totalNanoseconds: Int64 { durations.reduce(0, +) }

    /// The value at `q` (0...1) of the sorted durations (nearest rank), nil without durations.
    public func percentile(_ q: Double) -> Int64? {
        guard !durations.isEmpty else { return nil }
        let rank = Int((q * Double(durations.count)).rounded(.up)) - 1
        return durations[min(max(rank, 0), durations.count - 1)]
    }

    /// Bucket i holds durations in [2^i, 2^(i+1)) microseconds, bucket 0 everything below 2 us;
    /// the last bucket everything from about 1 s.
    public static let bucketCount = 21
    public var histogram: [Int] {
        var buckets = [Int](repeating: 0, count: Self.bucketCount)
        for d in durations {
            let micros = max(d / 1000, 1)
            let index = min(63 - micros.leadingZeroBitCount, Self.bucketCount - 1)
            buckets[index] += 1
        }
        return buckets
    }

    public static func bucketLabel(_ index: Int) -> String {
        let low = Int64(1) << index
        if index == 0 { return "<2us" }
        if index == bucketCount - 1 { return ">=" + DurationText.text(low * 1000) }
        return DurationText.text(low * 1000)
    }
}

/// Errors by syscall (or gadget) and errno name, with one example line.
public struct ErrorStatistics: Sendable, Equatable {
    public var what: String
    public var error: String
    public var count: Int
    public var example: String
}

public struct ReportStatistics: Sendable {
    public var syscalls: [SyscallStatistics]
    public var errors: [ErrorStatistics]

    public init(_ data: ReportData) {
        var bySyscall: [String: SyscallStatistics] = [:]
        var byError: [String: ErrorStatistics] = [:]
        for call in data.calls {
            var s = bySyscall[call.syscall] ?? SyscallStatistics(syscall: call.syscall)
            s.calls += 1
            if let d = call.durationNanoseconds, d >= 0 { s.durations.append(d) }
            if let error = call.error {
                s.errors += 1
                let key = call.syscall + "\u{0}" + error
                byError[key, default: ErrorStatistics(what: call.syscall, error: error, count: 0, example: call.text)].count += 1
            }
            bySyscall[call.syscall] = s
        }
        for event in data.events {
            guard let error = event.error else { continue }
            let what = "trace " + event.source
            byError[what + "\u{0}" + error, default: ErrorStatistics(what: what, error: error, count: 0,
                                                                    example: "\(event.comm) (pid \(event.pid))")].count += 1
        }
        syscalls = bySyscall.values.map { s in
            var sorted = s
            sorted.durations.sort()
            return sorted
        }.sorted { ($0.calls, $1.syscall) > ($1.calls, $0.syscall) }
        errors = byError.values.sorted { ($0.count, $1.what, $1.error) > ($1.count, $0.what, $0.error) }
    }
}

enum DurationText {
    /// "850ns", "12.3us", "4.56ms", "1.20s".
    static func text(_ ns: Int64) -> String {
        func fixed(_ v: Double, _ unit: String) -> String {
            let digits = v < 10 ? 2 : (v < 100 ? 1 : 0)
            var scaled = (v * pow10(digits)).rounded() / pow10(digits)
            if digits == 0 { scaled = scaled.rounded() }
            return (digits == 0 ? String(Int64(scaled)) : String(scaled)) + unit
        }
        let v = Double(ns)
        if ns < 1000 { return "\(ns)ns" }
        if ns < 1_000_000 { return fixed(v / 1e3, "us") }
        if ns < 1_000_000_000 { return fixed(v / 1e6, "ms") }
        return fixed(v / 1e9, "s")
    }

    private static func pow10(_ n: Int) -> Double { n == 0 ? 1 : (n == 1 ? 10 : 100) }
}
