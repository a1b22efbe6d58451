import ArgumentParser
import Containers
import Events
import Foundation
import Gadgets
import LinuxKit

/// Flags every `sonde top` gadget shares.
struct TopOptions: ParsableArguments {
    @OptionGroup var rows: RowOptions

    // .unconditional: "-wbytes" is the value, not an option.
    @Option(parsing: .unconditional,
            help: ArgumentHelp("Order of the rows: fields, each descending with a leading '-', e.g. -wbytes,comm.",
                               valueName: "a,-b"))
    var sort: String?

    @Option(help: "Rows shown per interval (0: all).")
    var maxRows = 20

    @Option(help: "Seconds between refreshes.")
    var interval: Double = 1

    @Option(help: "Stop after this many seconds.")
    var timeout: Double?

    func validate() throws {
        try Seconds.check(timeout, "--timeout")
        try Seconds.check(interval, "--interval", minimum: 0.1)
        if maxRows < 0 { throw ValidationError("--max-rows must not be negative") }
    }

    var sortOrder: [String]? { RowOptions.commaList(sort) }
}

/// What every `sonde top` command does: run the gadget, and every interval drain its kernel table
/// into rows, attribute them to containers, filter, sort, cut, and print them.
enum TopRunner {
    static func run(_ gadget: any TopGadget, selection: SelectionOptions, top: TopOptions) async throws {
        let catalog = gadget.catalog
        let (columns, filters) = try top.rows.resolve(catalog)
        let order = try RowOrder(parsing: top.sortOrder ?? gadget.defaultSort, catalog: catalog)
        let collection = try selection.collection()
        let selector = try selection.selector(cgroups: collection.cgroups)
        var options = GadgetOptions(selector: selector)
        options.timeout = top.timeout.map { .milliseconds(Int64($0 * 1000)) }
        let session = GadgetSession(gadget: gadget, collection: collection, options: options,
                                    notice: { Output.notice($0) })

        let (started, startedContinuation) = AsyncStream<Void>.makeStream()
        let task = Task {
            try await session.run(ready: { startedContinuation.yield(); startedContinuation.finish() }, sink: { _ in })
        }
        // A reader that goes away (`| head`) ends the run like Ctrl-C.
        let screen = TopScreen(format: top.rows.output, columns: columns, terminal: isatty(STDOUT_FILENO) == 1,
                               onClosed: { task.cancel() })
        // One interval: drain the kernel's table, keep the selection, sort, cut, show.
        let showInterval: @Sendable () throws -> Void = {
            let now = ProcessSnapshot.wallClockNanoseconds()
            var rows: [Event] = []
            for var row in try gadget.collect(now: now) {
                row.container = collection.container(cgroupID: row.cgroupID)
                // The kernel also counts cgroups still being resolved; show only the selection.
                if !selector.host {
                    guard let container = row.container, selector.matches(container) else { continue }
                }
                if filters.matches(row) { rows.append(row) }
            }
            let total = rows.count
            rows = order.sorted(rows)
            if top.maxRows > 0 { rows = Array(rows.prefix(top.maxRows)) }
            screen.show(rows, total: total, at: now)
        }
        let ticker = Task {
            for await _ in started {}
            guard !Task.isCancelled else { return }
            let period = Duration.milliseconds(Int64(top.interval * 1000))
            do {
                while !Task.isCancelled {
                    try await Task.sleep(for: period)
                    try showInterval()
                }
            } catch {
                // A table that cannot be read ends the run with its error (CancellationError: the end).
                task.cancel()
                throw error
            }
        }
        let stats: GadgetStats
        do {
            stats = try await task.valueUntilStopped()
        } catch {
            ticker.cancel()
            throw error
        }
        ticker.cancel()
        if case .failure(let error as SondeError) = await ticker.result { throw error }
        // What was counted since the last interval (a --timeout shorter than --interval, say):
        // the gadget's maps outlive the session, so the last, partial interval is shown too.
        try showInterval()
        if let summary = stats.lossSummary { Output.notice("warning: " + summary) }
    }
}

/// Prints one block per interval: on a terminal the screen is cleared first; otherwise blocks
/// follow each other; JSON is one object per row.
final class TopScreen: @unchecked Sendable {
    let format: OutputFormat
    let table: TableRenderer
    let terminal: Bool
    private let writer: EventWriter

    init(format: OutputFormat, columns: [Column], terminal: Bool, onClosed: @escaping @Sendable () -> Void) {
        self.format = format
        self.table = TableRenderer(columns: columns)
        self.terminal = terminal
        self.writer = EventWriter(format: format, columns: columns, onClosed: onClosed)
    }

    func show(_ rows: [Event], total: Int, at time: Int64) {
        if format == .columns {
            // ESC[H ESC[2J: cursor home, clear screen.
            let title = TimeText.clock(time) + (rows.count < total ? "  (\(rows.count) of \(total) rows)" : "")
            Output.line((terminal ? "\u{1b}[H\u{1b}[2J" : "") + title)
            writer.header()
        }
        for row in rows { writer.write(row) }
        writer.flush()
        if format == .columns && !terminal { Output.line("") }
    }
}
