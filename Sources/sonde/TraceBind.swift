import ArgumentParser
import Gadgets

struct TraceBind: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bind",
        abstract: "Trace bind: which addresses and ports containers bind, and the result.",
        discussion: BindGadget.fieldsHelp(BindGadget.catalog))

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var trace: TraceOptions

    func run() async throws {
        try await GadgetRunner.main(BindGadget(), selection: selection, trace: trace)
    }
}
