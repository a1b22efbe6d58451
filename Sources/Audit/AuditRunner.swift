import Containers
import Events
import Gadgets
import LinuxKit
import Synchronization

/// Runs the gadgets a rule set needs, in this process, one `GadgetSession` each over one shared
/// container collection, and turns their events into alerts.
public struct AuditRunner: Sendable {
    public let engine: AuditEngine
    public let collection: ContainerCollection
    /// Selection, timeout and ring buffer size for every gadget.
    public let options: GadgetOptions

    public init(engine: AuditEngine, collection: ContainerCollection, options: GadgetOptions) {
        self.engine = engine
        self.collection = collection
        self.options = options
    }

    /// The gadgets to load: those named by a rule's source.
    public var gadgets: [any Gadget] {
        engine.ruleSet.sources.compactMap(AuditSources.gadget)
    }

    /// Loads and attaches every gadget, calls `ready` once all are attached, then passes each alert
    /// to `alert` (serially) until the timeout or cancellation. Events without a container are
    /// not audited unless the selection is the host (see `withoutContainer`). `events` are events from elsewhere
    /// (the supervisor's, from the daemon) to evaluate too; they end with the run. Returns what was lost or not audited.
    public func run(events: AsyncStream<Event>? = nil, ready: @escaping @Sendable () -> Void = {},
                    alert: @escaping @Sendable (Alert) -> Void,
                    notice: @escaping @Sendable (String) -> Void) async throws(SondeError) -> AuditSummary {
        let gadgets = self.gadgets
        let shared = Shared(alert: alert, expected: gadgets.count)
        let engine = engine
        let host = options.selector.host
        let check: @Sendable (Event) -> Void = { event in
            // Selecting containers, an event without one is of a cgroup that ended as its last
            // events arrived: an alert could not say whose it was. Counted, not evaluated.
            guard event.container != nil || host else {
                shared.countWithoutContainer()
                return
            }
            for found in engine.evaluate(event) { shared.emit(found) }
        }
        if gadgets.isEmpty { ready() }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for gadget in gadgets {
                    let session = GadgetSession(gadget: gadget, collection: collection, options: options,
                                                notice: { notice("\(gadget.name): \($0)") })
                    group.addTask {
                        let result = try await session.run(ready: {
                            if shared.attached() { ready() }
                        }, sink: check)
                        shared.finished(gadget.name, result)
                    }
                }
                if let events {
                    let selector = options.selector
                    group.addTask {
                        for await event in events where event.container.map(selector.matches) ?? selector.host {
                            check(event)
                        }
                    }
                }
                if gadgets.isEmpty, let timeout = options.timeout {
                    group.addTask { try await Task.sleep(for: timeout) }
                }
                // A gadget that fails to load ends the whole run: rules would silently not hold.
                while let _ = try await group.next() {
                    if shared.allFinished { group.cancelAll() }
                }
            }
        } catch let error as SondeError {
            throw error
        } catch is CancellationError {
        } catch {
            throw SondeError(.system, "audit stopped: \(error)")
        }
        return AuditSummary(gadgets: shared.stats, withoutContainer: shared.withoutContainer,
                            forgottenKeys: engine.forgottenCount)
    }
}

/// What a run saw besides its alerts.
public struct AuditSummary: Sendable {
    /// Each gadget's counts, losses included.
    public var gadgets: [String: GadgetStats]
    /// Events not audited because they came without a container (see `AuditRunner.run`).
    public var withoutContainer: Int
    /// How many times a rule's once_per memory was full and was emptied.
    public var forgottenKeys: Int

    /// Lines worth telling the user at the end: losses, events not audited.
    public var warnings: [String] {
        var lines = gadgets.keys.sorted().compactMap { name in gadgets[name]!.lossSummary.map { "\(name): " + $0 } }
        if withoutContainer > 0 {
            lines.append("\(withoutContainer) events not audited: their container had ended before they were read")
        }
        if forgottenKeys > 0 {
            lines.append("once_per memory was full \(forgottenKeys) times and was emptied: some alerts may repeat")
        }
        return lines
    }
}

/// What the gadgets' tasks of one run share: the alert sink (called serially), how many gadgets
/// are attached, and each one's counts once it has ended.
private final class Shared: Sendable {
    private struct State {
        var attached = 0
        var withoutContainer = 0
        var stats: [String: GadgetStats] = [:]
    }
    /// Serializes `alert`, kept outside the Mutex (see GadgetSession.run: a closure inside a
    /// Mutex gains a thunk at every access in debug builds).
    private let alert: @Sendable (Alert) -> Void
    private let alerting = Mutex(())
    private let state = Mutex(State())
    private let expected: Int

    init(alert: @escaping @Sendable (Alert) -> Void, expected: Int) {
        self.alert = alert
        self.expected = expected
    }

    func emit(_ found: Alert) { alerting.withLock { _ in alert(found) } }

    /// True for the gadget that completes the set.
    func attached() -> Bool {
        state.withLock { s in
            s.attached += 1
            return s.attached == expected
        }
    }

    func countWithoutContainer() { state.withLock { $0.withoutContainer += 1 } }

    var withoutContainer: Int { state.withLock { $0.withoutContainer } }

    func finished(_ name: String, _ stats: GadgetStats) { state.withLock { $0.stats[name] = stats } }

    var allFinished: Bool { state.withLock { $0.stats.count == expected } }

    var stats: [String: GadgetStats] { state.withLock { $0.stats } }
}

