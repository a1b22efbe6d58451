import ArgumentParser
import Gadgets

struct TracePtrace: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ptrace",
        abstract: "Trace ptrace calls: which process of a container traced or read which other, and the result.",
        discussion: PtraceGadget.fieldsHelp(PtraceGadget.catalog))

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var trace: TraceOptions

    func run() async throws {
        try await GadgetRunner.main(PtraceGadget(), selection: selection, trace: trace)
    }
}
