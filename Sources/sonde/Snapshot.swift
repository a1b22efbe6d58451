import ArgumentParser
import Containers
import Events
import GadgetCatalog
import Gadgets
import LinuxKit

struct Snapshot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List what containers have right now: processes, sockets.",
        subcommands: [SnapshotProcess.self, SnapshotSocket.self])
}

/// Flags of the snapshot commands: like a trace's, without a duration.
struct SnapshotOptions: ParsableArguments {
    @OptionGroup var rows: RowOptions

    /// Lists the rows `take` makes for the selection, through the same columns, filters and JSON as
    /// the trace gadgets.
    func list(_ catalog: FieldCatalog, selection: SelectionOptions,
              take: (ContainerCollection, ContainerSelector) -> [Event]) throws(SondeError) {
        let (columns, filter) = try rows.resolve(catalog)
        let collection = try selection.collection()
        let selector = try selection.selector(cgroups: collection.cgroups)
        for problem in collection.refresh().problems { Output.notice(problem) }
        if selector.isExplicit { try selector.checkNamesExist(in: collection.all) }
        let writer = EventWriter(format: rows.output, columns: columns, onClosed: {}) // one-shot: nothing to stop
        writer.header()
        for event in take(collection, selector) where filter.matches(event) {
            writer.write(event)
        }
        writer.flush()
    }
}

struct SnapshotProcess: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: GadgetDescription.processSnapshot.name,
        abstract: GadgetDescription.processSnapshot.abstract,
        discussion: GadgetDescription.processSnapshot.fieldsHelp)

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var options: SnapshotOptions

    func run() async throws {
        try options.list(ProcessSnapshot.catalog, selection: selection) { collection, selector in
            ProcessSnapshot.take(collection: collection, selector: selector)
        }
    }
}

struct SnapshotSocket: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: GadgetDescription.socketSnapshot.name,
        abstract: GadgetDescription.socketSnapshot.abstract,
        discussion: GadgetDescription.socketSnapshot.fieldsHelp)

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var options: SnapshotOptions

    func run() async throws {
        try options.list(SocketSnapshot.catalog, selection: selection) { collection, selector in
            SocketSnapshot.take(collection: collection, selector: selector)
        }
    }
}
