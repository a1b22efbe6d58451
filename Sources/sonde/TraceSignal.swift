import ArgumentParser
import Gadgets

struct TraceSignal: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signal",
        abstract: "Trace signals sent by or to containers: sender, target, signal, and what became of it.",
        discussion: SignalGadget.fieldsHelp(SignalGadget.catalog))

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var trace: TraceOptions

    func run() async throws {
        try await GadgetRunner.main(SignalGadget(), selection: selection, trace: trace)
    }
}
