import ArgumentParser
import Events
import Foundation
import Gadgets
import LinuxKit

/// Flags every `sonde trace` gadget shares: output, columns, filters, duration.
struct TraceOptions: ParsableArguments {
    @Option(name: [.customShort("o"), .long], help: "Output format: columns or json (one object per line).")
    var output: OutputFormat = .columns

    @Option(help: ArgumentHelp("Columns to show, in this order, e.g. --fields container,pid,comm,path (see the fields below).",
                               valueName: "a,b,c"))
    var fields: String?

    @Option(name: .customLong("filter"),
            help: ArgumentHelp("Only events where FIELD=VALUE, FIELD!=VALUE, FIELD~REGEX or FIELD!~REGEX (repeatable; all must hold). Numbers compare numerically; results take an errno name: ret=ENOENT.",
                               valueName: "condition"))
    var filters: [String] = []

    @Option(help: "Stop after this many seconds.")
    var timeout: Double?

    func validate() throws {
        try Seconds.check(timeout, "--timeout")
    }

    var fieldList: [String]? {
        fields.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
    }

    /// The columns and filters for this gadget; unknown fields and ill-typed filters are errors.
    func resolve(_ catalog: FieldCatalog) throws(SondeError) -> (columns: [Column], filters: EventFilters) {
        (try catalog.columns(fieldList), try EventFilters(parsing: filters, catalog: catalog))
    }
}
