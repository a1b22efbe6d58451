import ArgumentParser
import Gadgets

struct TraceOOMKill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oomkill",
        abstract: "Trace the OOM killer: which process it killed, its memory, and whose allocation triggered it.",
        discussion: OOMKillGadget.fieldsHelp(OOMKillGadget.catalog))

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var trace: TraceOptions

    func run() async throws {
        try await GadgetRunner.main(OOMKillGadget(), selection: selection, trace: trace)
    }
}
