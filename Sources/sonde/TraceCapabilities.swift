import ArgumentParser
import Gadgets

struct TraceCapabilities: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capabilities",
        abstract: "Trace capability checks: which capability a container needed, for which syscall, and the verdict.",
        discussion: CapabilitiesGadget.fieldsHelp(CapabilitiesGadget.catalog))

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var trace: TraceOptions

    func run() async throws {
        try await GadgetRunner.main(CapabilitiesGadget(), selection: selection, trace: trace)
    }
}
