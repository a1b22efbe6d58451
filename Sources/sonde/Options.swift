import ArgumentParser
import Containers
import DaemonAPI
import Events
import Foundation
import LinuxKit

/// Which containers a command applies to (applied in the kernel); also what `sonde daemon trace`
/// asks the daemon for.
struct ContainerSelection: ParsableArguments {
    @Option(name: [.customShort("c"), .customLong("containername")],
            help: "Only this container (name or id; repeatable).")
    var containerNames: [String] = []

    @Option(help: "Only containers of this runtime (\(RuntimeName.allCases.map(\.rawValue).joined(separator: ", ")); repeatable).")
    var runtime: [String] = []

    @Option(help: "A cgroup v2 path to trace like a container, e.g. /system.slice/foo.service (repeatable).")
    var cgroup: [String] = []

    @Flag(help: "Every container (the default when nothing else is selected).")
    var allContainers = false

    @Flag(help: "Every process of the host, in a container or not.")
    var host = false

    func validate() throws {
        if host && (!containerNames.isEmpty || !runtime.isEmpty || !cgroup.isEmpty || allContainers) {
            throw ValidationError("--host selects every process; it cannot be combined with other selections")
        }
        for name in runtime where RuntimeName.allCases.first(where: { $0.rawValue == name }) == nil {
            throw ValidationError("unknown runtime '\(name)'; known: \(RuntimeName.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func selector(cgroups: CgroupV2) throws(SondeError) -> ContainerSelector {
        var paths: [String] = []
        for path in cgroup { paths.append(try cgroups.normalize(path)) }
        return ContainerSelector(names: containerNames, runtimes: runtime.map(RuntimeName.init(rawValue:)),
                                 cgroupPaths: paths, host: host)
    }

    /// The selection as the daemon's API carries it (the daemon resolves names and paths).
    var request: Sonde_V1_Selector {
        .with {
            $0.names = containerNames
            $0.runtimes = runtime
            $0.cgroupPaths = cgroup
            $0.host = host
        }
    }
}

/// Where the runtimes keep their state, for commands that find containers themselves.
struct RuntimeLocations: ParsableArguments {
    @Option(help: "runc's state directory (podman's runc containers are found there too).")
    var runcRoot = "/run/runc"

    @Option(help: "containerd's API socket.")
    var containerdAddress = "/run/containerd/containerd.sock"

    @Option(help: "The state directory of containerd's runc shims.")
    var containerdRuncRoot = "/run/containerd/runc"
}

/// The selection of a command that finds the containers itself: which, and where runtimes keep them.
struct SelectionOptions: ParsableArguments {
    @OptionGroup var containers: ContainerSelection
    @OptionGroup var runtimes: RuntimeLocations

    var host: Bool { containers.host }

    func selector(cgroups: CgroupV2) throws(SondeError) -> ContainerSelector {
        try containers.selector(cgroups: cgroups)
    }

    func collection() throws(SondeError) -> ContainerCollection {
        let cgroups = try CgroupV2.find()
        return ContainerCollection(cgroups: cgroups, sources: [
            RuncSource(root: runtimes.runcRoot),
            PodmanSource(runcRoot: runtimes.runcRoot),
            ContainerdSource(runcRoot: runtimes.containerdRuncRoot, address: runtimes.containerdAddress),
            CgroupSource(paths: containers.cgroup),
        ])
    }
}

/// Seconds given on the command line (--timeout, --interval): finite, above `minimum` and at most a
/// year, so that they always fit a Duration (a huge value would trap when converted).
enum Seconds {
    static let most: Double = 366 * 86_400

    static func check(_ value: Double?, _ flag: String, minimum: Double = 0) throws {
        guard let value else { return }
        guard value.isFinite, value > minimum || (minimum > 0 && value == minimum), value <= most else {
            throw ValidationError(minimum > 0 ? "\(flag) must be from \(minimum) to \(Int(most)) seconds"
                                              : "\(flag) must be a positive number of seconds, at most \(Int(most))")
        }
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case columns, json
}

/// -o: the one meaning of -o in every command, the output format.
struct OutputOptions: ParsableArguments {
    @Option(name: [.customShort("o"), .long], help: "Output format: columns or json (one object per line).")
    var output: OutputFormat = .columns
}

/// How events and rows are shown: the same flags on every trace, top and snapshot command.
struct RowOptions: ParsableArguments {
    @OptionGroup var format: OutputOptions

    @Option(help: ArgumentHelp("Columns to show, in this order, e.g. --fields container,pid,comm (see the fields below).",
                               valueName: "a,b,c"))
    var fields: String?

    @Option(name: .customLong("filter"),
            help: ArgumentHelp("Only events or rows where FIELD=VALUE, FIELD!=VALUE, FIELD~REGEX or FIELD!~REGEX (repeatable; all must hold). Numbers compare numerically; results take an errno name: ret=ENOENT.",
                               valueName: "condition"))
    var filters: [String] = []

    var output: OutputFormat { format.output }

    /// The columns and filters for this catalogue; unknown fields and ill-typed filters are errors.
    func resolve(_ catalog: FieldCatalog) throws(SondeError) -> (columns: [Column], filters: EventFilters) {
        (try catalog.columns(Self.commaList(fields)), try EventFilters(parsing: filters, catalog: catalog))
    }

    /// `a, b,c` -> ["a", "b", "c"] (--fields, --sort).
    static func commaList(_ text: String?) -> [String]? {
        text.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
    }
}

/// Lines to stdout, written at once so a pipe (`| grep`, `| jq`) sees events as they happen.
enum Output {
    static func line(_ text: String) {
        write(STDOUT_FILENO, text + "\n")
    }

    static func notice(_ text: String) {
        write(STDERR_FILENO, "sonde: " + text + "\n")
    }

    /// Prints a SondeError the way every command does and exits non-zero.
    private static func write(_ fd: Int32, _ text: String) {
        // A reader that went away (EPIPE) ends the output; nothing more to say to it.
        try? writeAll(fd, text)
    }
}
