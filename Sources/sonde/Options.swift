import ArgumentParser
import Containers
import Foundation
import LinuxKit

/// Which containers a command applies to; the selection is applied in the kernel.
struct SelectionOptions: ParsableArguments {
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

    @Option(help: "runc's state directory (podman's runc containers are found there too).")
    var runcRoot = "/run/runc"

    @Option(help: "containerd's API socket.")
    var containerdAddress = "/run/containerd/containerd.sock"

    @Option(help: "The state directory of containerd's runc shims.")
    var containerdRuncRoot = "/run/containerd/runc"

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

    func collection() throws(SondeError) -> ContainerCollection {
        let cgroups = try CgroupV2.find()
        return ContainerCollection(cgroups: cgroups, sources: [
            RuncSource(root: runcRoot),
            PodmanSource(runcRoot: runcRoot),
            ContainerdSource(runcRoot: containerdRuncRoot, address: containerdAddress),
            CgroupSource(paths: cgroup),
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

struct OutputOptions: ParsableArguments {
    @Option(name: [.customShort("o"), .long], help: "Output format: columns or json (one object per line).")
    var output: OutputFormat = .columns
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
