import Containers
import Events
import GadgetCatalog
import Foundation
import LinuxKit
import Synchronization

/// top containers: pressure (PSI) and usage per container, read from its cgroup files every
/// interval (no BPF). Rows are `Event`s with these fields, so columns, filters, sort and JSON work
/// as for the top gadgets. Fractions are kept in hundredths (12.34% is 1234) so that they sort
/// and filter as integers; the columns show them as percents.
public final class ContainerResourcesTop: Sendable {
    public static let source = "containers"

    public static var catalog: FieldCatalog { GadgetDescription.topContainers.catalog }

    public static let defaultSort = ["-cpu", "-memory"]

    /// A value kept in hundredths of a percent, shown as 12.34%.
    let cgroups: CgroupV2
    /// CPU usage at the previous interval, by cgroup id, and when it was read.
    private let previous = Mutex<[UInt64: (usec: UInt64, at: ContinuousClock.Instant)]>([:])

    public init(cgroups: CgroupV2) {
        self.cgroups = cgroups
    }

    /// One row per container whose cgroup can still be read. CPU percent needs two readings:
    /// the first interval of a container shows none.
    public func rows(_ containers: [Container], now: Int64) -> [Event] {
        let readAt = ContinuousClock.now
        var rows: [Event] = []
        var readings: [UInt64: (usec: UInt64, at: ContinuousClock.Instant)] = [:]
        let earlier = previous.withLock { $0 }
        for container in containers {
            guard let resources = CgroupResources.read(container, cgroups: cgroups) else { continue }
            var fields: [(name: String, value: FieldValue)] = []
            if let usec = resources.cpuUsageMicroseconds {
                readings[container.cgroupID] = (usec, readAt)
                fields.append(("cpu_usec", .uint(usec)))
                if let before = earlier[container.cgroupID], usec >= before.usec {
                    let elapsed = readAt - before.at
                    let elapsedUsec = Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12
                    if elapsedUsec > 0 {
                        fields.append(("cpu", .uint(UInt64((Double(usec - before.usec) / elapsedUsec * 10_000).rounded()))))
                    }
                }
            }
            if let memory = resources.memoryBytes { fields.append(("memory", .uint(memory))) }
            let pressures: [(String, Pressure?)] = [("cpu", resources.cpuPressure), ("mem", resources.memoryPressure), ("io", resources.ioPressure)]
            for (name, pressure) in pressures {
                guard let pressure else { continue }
                fields.append(("\(name)_some", .uint(UInt64((pressure.some.avg10 * 100).rounded()))))
                fields.append(("\(name)_some_usec", .uint(pressure.some.totalMicroseconds)))
                if let full = pressure.full { fields.append(("\(name)_full", .uint(UInt64((full.avg10 * 100).rounded())))) }
            }
            let sources = [resources.cpuSource, resources.memorySource].compactMap { $0 }
            if !sources.isEmpty {
                fields.append(("usage_from", .string(sources.allSatisfy { $0 == .v2 } ? "v2" : sources.allSatisfy { $0 == .v1 } ? "v1" : "v2+v1")))
            }
            rows.append(Event(timestamp: now, source: Self.source,
                              process: ProcessRef(pid: container.initPID ?? 0, tid: container.initPID ?? 0, ppid: 0, uid: 0, gid: 0, comm: ""),
                              cgroupID: container.cgroupID, mountNamespaceID: container.mountNamespaceID ?? 0,
                              container: container, fields: fields))
        }
        previous.withLock { $0 = readings }
        return rows
    }
}
