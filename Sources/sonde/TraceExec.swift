import ArgumentParser
import Gadgets

struct TraceExec: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Trace execve and execveat: who ran what, with its arguments and result.",
        discussion: ExecGadget.fieldsHelp(ExecGadget.catalog))

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var trace: TraceOptions

    func run() async throws {
        try await GadgetRunner.main(ExecGadget(), selection: selection, trace: trace)
    }
}
