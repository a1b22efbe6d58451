import LinuxKit

/// One PSI line of a cgroup's cpu/memory/io.pressure file ("some avg10=0.12 avg60=... total=N").
public struct PressureStall: Sendable, Equatable {
    /// Percent of the last 10 and 60 seconds in which tasks stalled.
    public var avg10: Double
    public var avg60: Double
    /// Stall time since the cgroup was created, in microseconds.
    public var totalMicroseconds: UInt64

    public init(avg10: Double, avg60: Double, totalMicroseconds: UInt64) {
        self.avg10 = avg10
        self.avg60 = avg60
        self.totalMicroseconds = totalMicroseconds
    }
}

/// The "some" (at least one task stalled) and "full" (all stalled) lines of one resource.
/// cpu.pressure of the root cgroup and of older kernels may lack "full".
public struct Pressure: Sendable, Equatable {
    public var some: PressureStall
    public var full: PressureStall?

    /// Parses a pressure file's text; nil when it has no "some" line.
    public static func parse(_ text: String) -> Pressure? {
        var some: PressureStall?, full: PressureStall?
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard let kind = words.first else { continue }
            var values: [Substring: Substring] = [:]
            for word in words.dropFirst() {
                guard let eq = word.firstIndex(of: "=") else { continue }
                values[word[..<eq]] = word[word.index(after: eq)...]
            }
            guard let avg10 = values["avg10"].flatMap({ Double($0) }), let avg60 = values["avg60"].flatMap({ Double($0) }),
                  let total = values["total"].flatMap({ UInt64($0) }) else { continue }
            let stall = PressureStall(avg10: avg10, avg60: avg60, totalMicroseconds: total)
            if kind == "some" { some = stall } else if kind == "full" { full = stall }
        }
        return some.map { Pressure(some: $0, full: full) }
    }
}

/// Where a container's CPU and memory usage came from: this machine has hybrid cgroups (v2 at
/// /sys/fs/cgroup/unified with no controllers enabled, the controllers on v1), so the v2 cgroup
/// has PSI and cpu.stat but no memory.current; sonde then reads the v1 memory controller.
public enum UsageSource: String, Sendable {
    case v2 = "cgroup v2"
    case v1 = "cgroup v1"
}

/// Pressure and usage of one container, read from its cgroup files.
public struct CgroupResources: Sendable, Equatable {
    public var cpuPressure: Pressure?
    public var memoryPressure: Pressure?
    public var ioPressure: Pressure?
    /// CPU time used by the cgroup's tasks since it was created (v2 cpu.stat usage_usec, else v1
    /// cpuacct.usage).
    public var cpuUsageMicroseconds: UInt64?
    public var cpuSource: UsageSource?
    /// Memory charged to the cgroup now (v2 memory.current, else v1 memory.usage_in_bytes).
    public var memoryBytes: UInt64?
    public var memorySource: UsageSource?

    public init() {}

    /// Reads `container`'s files. Files that do not exist (a controller not enabled, PSI off) stay
    /// nil; a cgroup that is gone gives nil.
    public static func read(_ container: Container, cgroups: CgroupV2, v1Root: String = "/sys/fs/cgroup") -> CgroupResources? {
        let directory = cgroups.directory(of: container.cgroupPath)
        guard Files.exists(directory) else { return nil }
        func text(_ path: String) -> String? { try? Files.readText(path) }
        var resources = CgroupResources()
        resources.cpuPressure = text(directory + "/cpu.pressure").flatMap(Pressure.parse)
        resources.memoryPressure = text(directory + "/memory.pressure").flatMap(Pressure.parse)
        resources.ioPressure = text(directory + "/io.pressure").flatMap(Pressure.parse)

        // cpu.stat's usage_usec is core (rstat) accounting: v2 has it without the cpu controller.
        if let usage = text(directory + "/cpu.stat").flatMap({ keyed($0)["usage_usec"] }) {
            resources.cpuUsageMicroseconds = usage
            resources.cpuSource = .v2
        }
        if let current = text(directory + "/memory.current").flatMap({ UInt64($0.trimmingWhitespace) }) {
            resources.memoryBytes = current
            resources.memorySource = .v2
        }
        guard resources.cpuUsageMicroseconds == nil || resources.memoryBytes == nil else { return resources }

        // The v1 controllers: the container's own path in each hierarchy, from its init's
        // /proc/PID/cgroup ("4:memory:/c1"), else the v2 path (what runc, podman and containerd
        // use in every hierarchy).
        let v1Paths = container.initPID.flatMap { text("/proc/\($0)/cgroup") }.map(v1Paths(of:)) ?? [:]
        if resources.cpuUsageMicroseconds == nil {
            let path = v1Paths["cpuacct"] ?? container.cgroupPath
            if let nanoseconds = text(v1Root + "/cpuacct" + path + "/cpuacct.usage").flatMap({ UInt64($0.trimmingWhitespace) }) {
                resources.cpuUsageMicroseconds = nanoseconds / 1000
                resources.cpuSource = .v1
            }
        }
        if resources.memoryBytes == nil {
            let path = v1Paths["memory"] ?? container.cgroupPath
            if let bytes = text(v1Root + "/memory" + path + "/memory.usage_in_bytes").flatMap({ UInt64($0.trimmingWhitespace) }) {
                resources.memoryBytes = bytes
                resources.memorySource = .v1
            }
        }
        return resources
    }

    /// "key value" lines (cpu.stat, memory.stat).
    static func keyed(_ text: String) -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            if words.count == 2, let value = UInt64(words[1]) { result[String(words[0])] = value }
        }
        return result
    }

    /// Controller -> path from /proc/PID/cgroup v1 lines ("4:cpu,cpuacct:/c1").
    static func v1Paths(of text: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, !parts[1].isEmpty else { continue }
            for controller in parts[1].split(separator: ",") { result[String(controller)] = String(parts[2]) }
        }
        return result
    }
}

extension String {
    fileprivate var trimmingWhitespace: Substring {
        let trimmed = drop { $0 == " " || $0 == "\n" }
        return trimmed.prefix { $0 != " " && $0 != "\n" }
    }
}
