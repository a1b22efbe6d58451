import LinuxKit

/// Which containers a command applies to, as the CLI flags say (`-c`, `--runtime`, `--cgroup`,
/// `--all-containers`, `--host`). With nothing set it selects every container.
public struct ContainerSelector: Sendable, Equatable {
    /// Names or ids (a unique id prefix of at least 6 characters works too).
    public var names: [String]
    public var runtimes: [RuntimeName]
    /// Plain cgroups, hierarchy-relative ("/system.slice/foo.service").
    public var cgroupPaths: [String]
    /// Every process of the host, container or not: no kernel filter at all.
    public var host: Bool

    public init(names: [String] = [], runtimes: [RuntimeName] = [], cgroupPaths: [String] = [], host: Bool = false) {
        self.names = names
        self.runtimes = runtimes
        self.cgroupPaths = cgroupPaths
        self.host = host
    }

    /// True when only named containers or cgroups are wanted, so an unknown name is an error.
    public var isExplicit: Bool { !names.isEmpty || (!cgroupPaths.isEmpty && runtimes.isEmpty) }

    public func matches(_ container: Container) -> Bool {
        if host { return true }
        if container.runtime == .cgroup {
            return cgroupPaths.contains(container.cgroupPath)
        }
        if !cgroupPaths.isEmpty && names.isEmpty && runtimes.isEmpty { return false }
        if !names.isEmpty && !names.contains(where: { Self.name($0, matches: container) }) { return false }
        if !runtimes.isEmpty && !runtimes.contains(container.runtime) { return false }
        return true
    }

    /// How users name a container: its name, its id, or a prefix of its id of 6 characters or more.
    public static func name(_ name: String, matches container: Container) -> Bool {
        container.name == name || container.id == name || (name.count >= 6 && container.id.hasPrefix(name))
    }

    /// The names no container has.
    func missingNames(in containers: [Container]) -> [String] {
        names.filter { name in !containers.contains { Self.name(name, matches: $0) } }
    }

    /// "known containers: a (runc), b (podman)", or that none runs: what a message about an
    /// unknown name adds, so that a typo shows.
    static func knownContainers(_ containers: [Container]) -> String {
        let known = containers.filter { $0.runtime != .cgroup }.map { "\($0.name) (\($0.runtime))" }.sorted()
        return known.isEmpty ? "no containers are running" : "known containers: " + known.joined(separator: ", ")
    }

    /// For commands that follow containers as they appear (trace, top, advise): the names no
    /// container has yet, said once on stderr with the known containers. nil when every name is there.
    public func waitingNotice(in containers: [Container]) -> String? {
        let missing = missingNames(in: containers)
        guard !missing.isEmpty else { return nil }
        return "waiting for container\(missing.count == 1 ? "" : "s") " + missing.joined(separator: ", ") + " to appear; "
            + Self.knownContainers(containers)
    }

    /// For commands that look once (snapshot) or cannot wait (record start): a name no container
    /// has is an error, listing the known containers.
    public func checkNamesExist(in containers: [Container]) throws(SondeError) {
        if let name = missingNames(in: containers).first {
            throw SondeError(.notFound, "no container named \(name)", hint: Self.knownContainers(containers))
        }
    }
}
