import ArgumentParser
import Gadgets

struct Top: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the busiest files and connections of containers, refreshed every interval.",
        subcommands: [TopFile.self, TopTcp.self])
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

struct TopTcp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tcp",
        abstract: "Bytes sent and received per TCP connection per process (every send, receive, read and write on a socket).",
        discussion: TopTcpGadget.fieldsHelp(TopTcpGadget.catalog))

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var top: TopOptions

    func run() async throws {
        try await TopRunner.main(TopTcpGadget(), selection: selection, top: top)
    }
}
