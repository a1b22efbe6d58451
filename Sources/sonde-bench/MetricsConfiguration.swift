import Containers
import Dispatch
import Foundation
import Gadgets
import LinuxKit
import Synchronization

/// The in-kernel syscall metrics (`sonde top syscalls`, the daemon's Prometheus endpoint): the
/// SyscallMetricsGadget in a GadgetSession selecting the container. It sends no events, so it is
/// attached once its table counts calls of the selected container after an exec probe.
struct SyscallMetricsConfiguration: BenchConfiguration {
    let placement: Placement

    var name: String {
        placement == .container ? "sonde syscall metrics (container selected)" : "sonde syscall metrics (host process, not selected)"
    }

    var method: String {
        "GadgetSession(SyscallMetricsGadget) with RuncSource and ContainerSelector(names: [the container]) in a Task; attached once "
            + "its per-CPU table counted calls of that container after an execve probe; the table's totals for the container are "
            + "read after the loops. "
            + (placement == .container ? "The workload runs in the selected container."
                : "The selected container is the idle companion; the timed workload runs on the host.")
    }

    final class Attached: Attachment {
        let task: Task<GadgetStats, any Error>
        let finished: DispatchSemaphore
        let gadget: SyscallMetricsGadget
        let collection: ContainerCollection
        let name: String

        init(task: Task<GadgetStats, any Error>, finished: DispatchSemaphore, gadget: SyscallMetricsGadget,
             collection: ContainerCollection, name: String) {
            self.task = task
            self.finished = finished
            self.gadget = gadget
            self.collection = collection
            self.name = name
        }

        func detach() throws -> String? {
            let counted = try SyscallMetricsConfiguration.counted(gadget, collection: collection, name: name)
            task.cancel()
            guard finished.wait(timeout: .now() + 30) == .success else {
                throw BenchError("the metrics session did not stop within 30 s")
            }
            let top = counted.sorted { $0.value > $1.value }.prefix(3)
                .map { "\(SyscallMetricsGadget.syscallName($0.key)) \($0.value)" }.joined(separator: ", ")
            return "counted in the selected container: \(top)"
        }
    }

    /// Calls counted so far in the container named `name`, by syscall number.
    static func counted(_ gadget: SyscallMetricsGadget, collection: ContainerCollection, name: String) throws -> [Int: UInt64] {
        var result: [Int: UInt64] = [:]
        for (key, stats) in try gadget.snapshot() where collection.container(cgroupID: key.cgroupID)?.name == name {
            result[key.number, default: 0] += stats.count
        }
        return result
    }

    func attach(_ target: AttachTarget) throws -> Attachment? {
        let collection = ContainerCollection(cgroups: try CgroupV2.find(), sources: [RuncSource()])
        let gadget = SyscallMetricsGadget()
        let session = GadgetSession(gadget: gadget, collection: collection,
                                    options: GadgetOptions(selector: ContainerSelector(names: [target.containerName])),
                                    notice: { _ in })
        let finished = DispatchSemaphore(value: 0)
        let failure = Mutex<(any Error)?>(nil)
        let task = Task.detached { () async throws -> GadgetStats in
            defer { finished.signal() }
            do {
                return try await session.run { _ in }
            } catch {
                failure.withLock { $0 = error }
                throw error
            }
        }
        let deadline = Date().addingTimeInterval(30)
        while try Self.counted(gadget, collection: collection, name: target.containerName)[59, default: 0] == 0 { // execve
            if let error = failure.withLock({ $0 }) { throw BenchError("\(name): \(error)") }
            guard Date() < deadline else {
                task.cancel()
                _ = finished.wait(timeout: .now() + 30)
                throw BenchError("\(name) counted no execve of container \(target.containerName) within 30 s")
            }
            try target.execProbe()
            usleep(100_000)
        }
        return Attached(task: task, finished: finished, gadget: gadget, collection: collection, name: target.containerName)
    }
}
