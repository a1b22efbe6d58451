import ArgumentParser
import Gadgets

struct Top: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the busiest files and connections of containers, refreshed every interval.",
        subcommands: [TopFile.self])
}

struct TopFile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "file",
        abstract: "Reads, writes and bytes per file per process (read/write/pread/pwrite/readv/writev and their variants).",
        discussion: TopFileGadget.fieldsHelp(TopFileGadget.catalog))

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var top: TopOptions

    @Flag(help: "Count every kind of file (pipes, sockets, devices), not only regular files.")
    var allFiles = false

    func run() async throws {
        try await TopRunner.main(TopFileGadget(allFiles: allFiles), selection: selection, top: top)
    }
}
