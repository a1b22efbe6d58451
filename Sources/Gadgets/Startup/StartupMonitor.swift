import Containers
import Events
import LinuxKit
import Synchronization

/// The start-up timelines without a terminal: for the daemon's metrics. Runs the startup gadget
/// until cancelled and hands over each container's timeline once it is complete (first connection
/// accepted) or the container ended, ready for `StartupHistograms.observe` or a Prometheus registry.
public enum StartupMonitor {
    /// - Parameters:
    ///   - collection, selector: which containers, as for every gadget (new ones are followed).
    ///   - observe: called serially with each finished timeline.
    ///   - refreshInterval: how often the containers are listed again without any event.
    ///   - notice: losses and other things worth logging.
    /// - Returns: the gadget's counts once cancelled.
    public static func run(collection: ContainerCollection, selector: ContainerSelector = ContainerSelector(),
                           refreshInterval: Duration = .seconds(2), ready: @Sendable () -> Void = {},
                           notice: @escaping @Sendable (String) -> Void,
                           observe: @escaping @Sendable (StartupTimeline) -> Void) async throws(SondeError) -> GadgetStats {
        let tracker = Mutex(StartupTracker())
        tracker.withLock { $0.onSummary = observe }
        var options = GadgetOptions(selector: selector, refreshInterval: refreshInterval)
        // Every startup record is submitted with a wake-up: no need to poll the ring.
        options.pollInterval = nil
        let session = GadgetSession(gadget: StartupGadget(), collection: collection, options: options, notice: notice)
        return try await session.run(ready: ready, sink: { event in _ = tracker.withLock { $0.consume(event) } })
    }
}
