import ArgumentParser
import GadgetCatalog
import Gadgets

/// `sonde trace NAME` for each stream gadget of the registry: the shared selection and trace flags,
/// the gadget's own help and fields.
struct TraceCommand<G: StreamGadget>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: G.about.name, abstract: G.about.abstract, discussion: G.about.fieldsHelp)
    }

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var trace: TraceOptions

    func run() async throws {
        try await GadgetRunner.run(G(), selection: selection, trace: trace)
    }
}

extension Trace {
    /// The trace gadgets in the catalogue's order: each stream gadget of the registry, and the
    /// gadgets with a command of their own (options no other gadget has).
    static var gadgetCommands: [any ParsableCommand.Type] {
        let ownCommands: [String: any ParsableCommand.Type] = [GadgetDescription.startup.name: TraceStartup.self]
        return GadgetCatalog.group(.trace).compactMap { about in
            if let stream = GadgetRegistry.streams.first(where: { $0.about.name == about.name }) { return command(for: stream) }
            return ownCommands[about.name]
        }
    }

    private static func command<G: StreamGadget>(for gadget: G.Type) -> any ParsableCommand.Type {
        TraceCommand<G>.self
    }
}
