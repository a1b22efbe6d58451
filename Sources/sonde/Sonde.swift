import ArgumentParser
import CommandOptions

@main
struct Sonde: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sonde",
        abstract: "See and supervise what Linux containers do at the syscall level.",
        subcommands: [Trace.self, Top.self, Snapshot.self, Advise.self, Record.self, Supervise.self, ListContainers.self, DaemonCommand.self,
                      ReportCommand.self, AuditCommand.self])

    /// ArgumentParser's entry point, plus a clear message for an unknown gadget.
    static func main() async {
        if let gadget = Trace.unknownGadget(in: CommandLine.arguments) {
            let names = Trace.configuration.subcommands.map { $0._commandName }
            exit(withError: ValidationError("unknown gadget '\(gadget)'; valid gadgets: \(names.joined(separator: ", "))"))
        }
        await parseAndRun(tool: "sonde")
    }
}

struct Trace: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stream events of one kind from containers as they happen.",
        subcommands: gadgetCommands)

    /// `sonde trace NAME ...` where NAME is no gadget: ArgumentParser alone would only say
    /// "unexpected argument", without the valid names.
    static func unknownGadget(in arguments: [String]) -> String? {
        guard arguments.count > 2, arguments[1] == "trace" else { return nil }
        let name = arguments[2]
        let known = configuration.subcommands.map { $0._commandName } + ["help"]
        return name.hasPrefix("-") || known.contains(name) ? nil : name
    }
}
