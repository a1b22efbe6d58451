import Containers
import Events
import Gadgets
import LinuxKit
import TestSupport

/// A gadget running in process for a test: its events as they arrive, and its end.
struct RunningGadget {
    let task: Task<GadgetStats, any Error>
    let events: Locked<[Event]>

    /// Starts `gadget` and returns once its programs are attached.
    static func start(_ gadget: any Gadget, selector: ContainerSelector, sources: [any ContainerSource] = [RuncSource()],
                      filters: [String] = []) async throws -> RunningGadget {
        let collection = ContainerCollection(cgroups: try CgroupV2.find(), sources: sources)
        var options = GadgetOptions(selector: selector)
        options.filters = try EventFilters(parsing: filters, catalog: gadget.catalog)
        let session = GadgetSession(gadget: gadget, collection: collection, options: options,
                                    notice: { print("sonde:", $0) })
        let events = Locked([Event]())
        let ready = Locked(false)
        let task = Task {
            try await session.run(ready: { ready.set(true) }, sink: { event in events.update { $0.append(event) } })
        }
        guard try await eventually(timeout: .seconds(30), { ready.get() }) else {
            task.cancel()
            _ = try await task.value
            throw TestFailure("the \(gadget.name) gadget did not attach")
        }
        return RunningGadget(task: task, events: events)
    }

    func first(_ predicate: (Event) -> Bool) -> Event? { events.get().first(where: predicate) }

    /// Waits until an event matches (or the deadline passes) and returns it.
    func wait(timeout: Duration = .seconds(20), for predicate: @escaping (Event) -> Bool) async throws -> Event? {
        _ = try await eventually(timeout: timeout) { first(predicate) != nil }
        return first(predicate)
    }

    func stop() async throws -> GadgetStats {
        task.cancel()
        return try await task.value
    }
}

extension Event {
    func string(_ name: String) -> String? {
        if case .string(let s)? = field(name) { return s }
        return nil
    }
}
