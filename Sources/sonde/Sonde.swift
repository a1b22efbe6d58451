import ArgumentParser

@main
struct Sonde: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sonde",
        abstract: "See and supervise what Linux containers do at the syscall level.",
        subcommands: [Trace.self, Record.self, ListContainers.self, DaemonCommand.self])
}

struct Trace: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stream events of one kind from containers as they happen.",
        subcommands: [TraceExec.self])
}
