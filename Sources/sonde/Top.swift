import ArgumentParser
import Containers
import Events
import Foundation
import GadgetCatalog
import Gadgets
import LinuxKit
import Synchronization

struct Top: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the busiest files, connections and syscalls of containers, refreshed every interval.",
        subcommands: [TopFile.self, TopTcp.self, TopSyscalls.self, TopContainers.self])
}

struct TopFile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: GadgetDescription.topFile.name,
        abstract: GadgetDescription.topFile.abstract,
        discussion: GadgetDescription.topFile.fieldsHelp)

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var top: TopOptions

    @Flag(help: "Count every kind of file (pipes, sockets, devices), not only regular files.")
    var allFiles = false

    func run() async throws {
        try await TopRunner.run(TopFileGadget(allFiles: allFiles), selection: selection, top: top)
    }
}

struct TopTcp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: GadgetDescription.topTcp.name,
        abstract: GadgetDescription.topTcp.abstract,
        discussion: GadgetDescription.topTcp.fieldsHelp)

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var top: TopOptions

    func run() async throws {
        try await TopRunner.run(TopTcpGadget(), selection: selection, top: top)
    }
}

struct TopSyscalls: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: GadgetDescription.topSyscalls.name,
        abstract: GadgetDescription.topSyscalls.abstract,
        discussion: GadgetDescription.topSyscalls.fieldsHelp)

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var top: TopOptions

    func run() async throws {
        try await TopRunner.run(SyscallMetricsGadget(pruneUnselected: !selection.host), selection: selection, top: top)
    }
}

struct TopContainers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: GadgetDescription.topContainers.name,
        abstract: GadgetDescription.topContainers.abstract,
        discussion: "On hosts with hybrid cgroups (v2 without controllers, controllers on v1) PSI and CPU come from the "
            + "v2 cgroup and memory from the v1 memory controller (field usage_from).\n\n"
            + GadgetDescription.topContainers.fieldsHelp)

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var top: TopOptions

    /// Every interval: list the containers again, read their cgroup files, filter, sort, cut, show.
    func run() async throws {
        if selection.host { throw SondeError(.invalidArgument, "top containers shows containers; --host has no cgroup of its own") }
        let catalog = ContainerResourcesTop.catalog
        let (columns, filters) = try top.rows.resolve(catalog)
        let order = try RowOrder(parsing: top.sortOrder ?? ContainerResourcesTop.defaultSort, catalog: catalog)
        let collection = try selection.collection()
        let selector = try selection.selector(cgroups: collection.cgroups)
        let reader = ContainerResourcesTop(cgroups: collection.cgroups)
        // A reader that goes away (`| head`) ends the run like Ctrl-C.
        let running = Mutex<Task<Void, any Error>?>(nil)
        let screen = TopScreen(format: top.rows.output, columns: columns, terminal: isatty(STDOUT_FILENO) == 1,
                               onClosed: { running.withLock { $0?.cancel() } })
        let task = Task {
            let period = Duration.milliseconds(Int64(top.interval * 1000))
            let deadline = top.timeout.map { ContinuousClock.now + .milliseconds(Int64($0 * 1000)) }
            // A first reading, so that the first interval shown has CPU percents.
            collection.refresh()
            _ = reader.rows(collection.all.filter(selector.matches), now: 0)
            while !Task.isCancelled {
                let wait = deadline.map { min(period, max(.zero, $0 - ContinuousClock.now)) } ?? period
                try await Task.sleep(for: wait)
                collection.refresh()
                let now = ProcessSnapshot.wallClockNanoseconds()
                var rows = reader.rows(collection.all.filter(selector.matches), now: now).filter(filters.matches)
                let total = rows.count
                rows = order.sorted(rows)
                if top.maxRows > 0 { rows = Array(rows.prefix(top.maxRows)) }
                screen.show(rows, total: total, at: now)
                if let deadline, ContinuousClock.now >= deadline { return }
            }
        }
        running.withLock { $0 = task }
        do {
            try await task.valueUntilStopped()
        } catch is CancellationError {
        }
    }
}
