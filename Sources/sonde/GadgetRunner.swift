import ArgumentParser
import Containers
@preconcurrency import Dispatch
import Events
import Foundation
import Gadgets
import LinuxKit
import Synchronization

/// What every `sonde trace` command does: start the gadget, render its events, stop on Ctrl-C or
/// the timeout, and say what was lost.
enum GadgetRunner {
    /// Runs `gadget` with the shared selection and trace flags until --timeout, Ctrl-C or a reader
    /// that goes away.
    static func run(_ gadget: any Gadget, selection: SelectionOptions, trace: TraceOptions) async throws {
        // Bad --fields and --filter fail before anything is loaded.
        let (columns, filters) = try trace.rows.resolve(gadget.catalog)
        let collection = try selection.collection()
        let selector = try selection.selector(cgroups: collection.cgroups)
        var options = GadgetOptions(selector: selector, filters: filters)
        options.timeout = trace.timeout.map { .milliseconds(Int64($0 * 1000)) }
        let session = GadgetSession(gadget: gadget, collection: collection, options: options,
                                    notice: { Output.notice($0) })

        // A reader that went away (`| head`) ends the run like Ctrl-C.
        let running = Mutex<Task<GadgetStats, any Error>?>(nil)
        let writer = EventWriter(format: trace.rows.output, columns: columns) { running.withLock { $0?.cancel() } }
        let task = Task {
            // The header once the gadget runs: a bad selection fails with its error alone.
            try await session.run(ready: { writer.header() }, sink: { writer.write($0) }, flush: { writer.flush() })
        }
        running.withLock { $0 = task }
        let stats = try await task.valueUntilStopped()
        writer.flush()
        if let summary = stats.lossSummary { Output.notice("warning: " + summary) }
    }
}

/// Renders events into one buffer and writes it to stdout once per batch the session drains:
/// one write(2) for many events under load, and each event still out as soon as the kernel
/// buffer is empty. Only used serially (the session calls sink and flush under one lock).
final class EventWriter: @unchecked Sendable {
    private let format: OutputFormat
    private let table: TableRenderer
    private let line = JSONLine(capacity: 1 << 17)
    private var closed = false
    private let onClosed: @Sendable () -> Void
    /// Above this, write even in the middle of a batch.
    static let flushThreshold = 1 << 16

    init(format: OutputFormat, columns: [Column], onClosed: @escaping @Sendable () -> Void) {
        self.format = format
        self.onClosed = onClosed
        self.table = TableRenderer(columns: columns)
        signal(SIGPIPE, SIG_IGN) // EPIPE from write instead of being killed: the loss summary still prints
    }

    func header() {
        guard format == .columns else { return }
        line.append(text: table.header())
        line.newline()
        flush()
    }

    func write(_ event: Event) {
        switch format {
        case .json: line.append(event)
        case .columns: line.append(text: table.render(event))
        }
        line.newline()
        if line.count >= Self.flushThreshold { flush() }
    }

    func flush() {
        guard !line.isEmpty else { return }
        defer { line.removeAll() }
        guard !closed else { return }
        let written = line.withUnsafeBytes { buffer -> Bool in
            do {
                try writeAll(STDOUT_FILENO, buffer)
                return true
            } catch {
                return false
            }
        }
        if !written {
            closed = true
            onClosed()
        }
    }
}

extension Task where Failure == any Error {
    /// The task's value, with SIGINT and SIGTERM cancelling it meanwhile: how every long-running
    /// command stops cleanly (a gadget detaches and reports its losses, the daemon ends its streams).
    func valueUntilStopped() async throws -> Success {
        let signals = StopSignals { self.cancel() }
        defer { signals.cancel() }
        return try await value
    }
}

