import ArgumentParser
import Gadgets

struct TraceTcp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tcp",
        abstract: "Trace TCP connect, accept and close, IPv4 and IPv6, with both ends and the result.",
        discussion: TcpGadget.fieldsHelp(TcpGadget.catalog))

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var trace: TraceOptions

    func run() async throws {
        try await GadgetRunner.main(TcpGadget(), selection: selection, trace: trace)
    }
}
