import ArgumentParser
import Containers
import Events
@preconcurrency import Dispatch
import Foundation
import Gadgets
import LinuxKit

struct TraceExec: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Trace execve and execveat: who ran what, with its arguments and result.")

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "Stop after this many seconds.")
    var timeout: Double?

    func validate() throws {
        if let timeout, timeout <= 0 { throw ValidationError("--timeout must be positive") }
    }

    func run() async throws {
        do {
            try await GadgetRunner.run(ExecGadget(), selection: selection, output: output.output, timeout: timeout)
        } catch let error as SondeError {
            throw Output.fail(error)
        }
    }
}

/// What every `sonde trace` command does: start the gadget, render its events, stop on Ctrl-C or
/// the timeout, and say what was lost.
enum GadgetRunner {
    static func run(_ gadget: any Gadget, selection: SelectionOptions, output: OutputFormat, timeout: Double?) async throws {
        let collection = try selection.collection()
        let selector = try selection.selector(cgroups: collection.cgroups)
        var options = GadgetOptions(selector: selector)
        options.timeout = timeout.map { .milliseconds(Int64($0 * 1000)) }
        let session = GadgetSession(gadget: gadget, collection: collection, options: options,
                                    notice: { Output.notice($0) })

        let render: @Sendable (Event) -> String
        switch output {
        case .columns:
            let table = TableRenderer(columns: gadget.columns)
            Output.line(table.header())
            render = { table.render($0) }
        case .json:
            let json = JSONRenderer()
            render = { json.render($0) }
        }

        let task = Task {
            try await session.run { Output.line(render($0)) }
        }
        let signals = StopSignals { task.cancel() }
        defer { signals.cancel() }
        let stats = try await task.value
        if let summary = stats.lossSummary { Output.notice("warning: " + summary) }
    }
}

/// Turns SIGINT and SIGTERM into a clean stop (the gadget detaches and reports its losses).
/// `sources` is written once in init and only read after: safe to share.
final class StopSignals: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]

    init(onStop: @escaping @Sendable () -> Void) {
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: onStop)
            source.resume()
            return source
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}
