import ArgumentParser
import Events
import Foundation
import GadgetCatalog
import Gadgets
import LinuxKit
import Synchronization

struct TraceStartup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: GadgetDescription.startup.name,
        abstract: GadgetDescription.startup.abstract,
        discussion: "One row per milestone as it is reached, then a summary row per container with the durations "
            + "(after its first accepted connection, when it ends, or when sonde stops; a container that never "
            + "listens shows the steps it reached). Only containers started while sonde runs have a timeline.\n\n"
            + GadgetDescription.startup.fieldsHelp)

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var trace: TraceOptions

    func run() async throws {
        // The rows are the tracker's, not the raw records': columns and filters apply to them.
        let (columns, filters) = try trace.rows.resolve(StartupTracker.catalog)
        let collection = try selection.collection()
        let selector = try selection.selector(cgroups: collection.cgroups)
        var options = GadgetOptions(selector: selector)
        options.timeout = trace.timeout.map { .milliseconds(Int64($0 * 1000)) }
        let session = GadgetSession(gadget: StartupGadget(), collection: collection, options: options,
                                    notice: { Output.notice($0) })

        let running = Mutex<Task<GadgetStats, any Error>?>(nil)
        let writer = EventWriter(format: trace.rows.output, columns: columns) { running.withLock { $0?.cancel() } }
        let tracker = Mutex(StartupTracker())
        let show: @Sendable ([Event]) -> Void = { rows in
            for row in rows where filters.isEmpty || filters.matches(row) { writer.write(row) }
        }
        let task = Task {
            // The notice tells scripts (and people, with -o json) that new containers are now followed.
            try await session.run(ready: { writer.header(); Output.notice("following new containers") },
                                  sink: { event in show(tracker.withLock { $0.consume(event) }) },
                                  flush: { writer.flush() })
        }
        running.withLock { $0 = task }
        let stats = try await task.valueUntilStopped()
        let now = BootClock().wallNanoseconds(boot: BootClock.nowBootNanoseconds())
        show(tracker.withLock { $0.finish(at: now) })
        writer.flush()
        if let summary = stats.lossSummary { Output.notice("warning: " + summary) }
    }
}
