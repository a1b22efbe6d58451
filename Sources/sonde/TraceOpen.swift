import ArgumentParser
import Gadgets

struct TraceOpen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open",
        abstract: "Trace open, openat and openat2: which files containers open, with flags and the fd or error.",
        discussion: OpenGadget.fieldsHelp(OpenGadget.catalog))

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var trace: TraceOptions

    func run() async throws {
        try await GadgetRunner.main(OpenGadget(), selection: selection, trace: trace)
    }
}
