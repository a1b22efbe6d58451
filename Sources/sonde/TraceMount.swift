import ArgumentParser
import Gadgets

struct TraceMount: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mount",
        abstract: "Trace mount, umount2 and move_mount: what containers mount where, and the result.",
        discussion: MountGadget.fieldsHelp(MountGadget.catalog))

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var trace: TraceOptions

    func run() async throws {
        try await GadgetRunner.main(MountGadget(), selection: selection, trace: trace)
    }
}
