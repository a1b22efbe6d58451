import ArgumentParser
import Foundation
import LinuxKit
import Report

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Turn a recording or gadget captures into one self-contained HTML page.",
        discussion: """
        INPUT files hold JSON lines: `sonde record dump -o json` (a recording) or `sonde trace NAME -o json` \
        (gadget captures); "-" reads stdin. The page shows the syscalls per thread, latency histograms, the top \
        syscalls and errors and, with --startup, the start-up timelines of `sonde trace startup -o json`.
        """)

    @Argument(help: "Recordings or gadget captures (JSON lines).")
    var inputs: [String]

    @Option(help: "A capture of `sonde trace startup -o json`.")
    var startup: String?

    // Not -o: -o is the output format in every command.
    @Option(name: .customLong("html"), help: ArgumentHelp("Where to write the HTML page (default: stdout).", valueName: "file"))
    var output: String?

    @Option(help: "The page's title.")
    var title = "sonde report"

    @Option(help: "Threads drawn in the timeline, the busiest first.")
    var maxThreads = 40

    func validate() throws {
        guard maxThreads > 0 && maxThreads <= 10_000 else { throw ValidationError("--max-threads must be from 1 to 10000") }
        if inputs.filter({ $0 == "-" }).count + (startup == "-" ? 1 : 0) > 1 {
            throw ValidationError("stdin (-) can be read only once")
        }
    }

    func run() throws {
        var data = ReportData()
        for input in inputs { try data.read(file: input) }
        if let startup { try data.read(file: startup) }
        let html = HTMLReport(title: title, maxThreads: maxThreads).render(data)
        if let output {
            // The report shows containers' syscalls and buffers: its reader is its writer only.
            let fd = try Files.openPrivate(output)
            defer { close(fd) }
            try writeAll(fd, html)
        } else {
            try writeAll(STDOUT_FILENO, html)
        }
    }
}
