import Foundation
import LinuxKit
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Containers run by podman. podman runs them through runc, whose state files (under runc's default
/// root, shared with plain runc) give the cgroup, init pid and OCI annotations; `podman ps` adds what
/// only podman knows: the name, the image and the labels. podman marks its containers with the OCI
/// annotation io.container.manager=libpod, which is how both this source and RuncSource tell them apart.
public struct PodmanSource: ContainerSource {
    public let runtime = RuntimeName.podman
    /// The root of the runc that podman runs (`runc --root`): /run/runc for root's podman.
    public let runcRoot: String
    let run: ExternalCommand.Runner
    let metadata = MetadataCache<PodmanPSEntry>()

    /// - Parameters:
    ///   - podman: the podman executable, a path or a name looked up in PATH.
    ///   - timeout: how long one `podman ps` may take before it is killed.
    public init(runcRoot: String = "/run/runc", podman: String = "podman", timeout: Double = 10) {
        self.runcRoot = runcRoot
        self.run = ExternalCommand(executable: podman, timeout: timeout).run
    }

    /// For tests: `run` stands in for podman and gets its arguments.
    init(runcRoot: String, run: @escaping ExternalCommand.Runner) {
        self.runcRoot = runcRoot
        self.run = run
    }

    static let managerAnnotation = "io.container.manager"

    public func containers(cgroups: CgroupV2, problems: inout [String]) -> [Container] {
        let entries = RuncStateReader(root: runcRoot, namespaced: false).read(problems: &problems)
            .filter { $0.annotations[Self.managerAnnotation] == "libpod" }
        let ids = entries.map(\.state.id)
        // podman is asked only when a container appears that it has not named yet.
        let known = metadata.values(for: ids, problems: &problems) { () throws(SondeError) in
            try Self.parsePS(try run(["ps", "--all", "--format", "json"]))
        }
        var result: [Container] = []
        for entry in entries {
            do {
                var container = try RuncStateReader.container(from: entry, runtime: .podman, cgroups: cgroups)
                if let ps = known[entry.state.id] {
                    if let name = ps.names?.first, !name.isEmpty { container.name = name }
                    if let image = ps.image, !image.isEmpty { container.image = image }
                    container.labels = ps.labels ?? [:]
                }
                result.append(container)
            } catch {
                if error.code != .notFound { problems.append(error.description) } // exited meanwhile
            }
        }
        return result
    }

    /// Parses `podman ps --all --format json` (a JSON array) into entries by full container id.
    static func parsePS(_ data: Data) throws(SondeError) -> [String: PodmanPSEntry] {
        let list: [PodmanPSEntry]
        do {
            list = try JSONDecoder().decode([PodmanPSEntry].self, from: data)
        } catch {
            throw SondeError(.malformedInput, "malformed output of podman ps: \(error)",
                             details: [String(decoding: data.prefix(200), as: UTF8.self)])
        }
        var byID: [String: PodmanPSEntry] = [:]
        for entry in list { byID[entry.id] = entry }
        return byID
    }
}

/// One container as `podman ps --format json` lists it (podman 4); only the fields sonde uses.
struct PodmanPSEntry: Decodable, Sendable, Equatable {
    var id: String
    var names: [String]?
    var image: String?
    /// null, not {}, when the container has none.
    var labels: [String: String]?

    enum CodingKeys: String, CodingKey {
        case id = "Id", names = "Names", image = "Image", labels = "Labels"
    }
}

// MARK: - Shared by the runtime sources

/// Metadata that a runtime's CLI gives per container id, kept while the container lives so that
/// the CLI runs only when a new container shows up, not on every refresh.
final class MetadataCache<Value: Sendable>: Sendable {
    struct State {
        var values: [String: Value] = [:]
        /// Ids the CLI did not know (or a failed call) and when: asked again only after `retryAfter`.
        var misses: [String: ContinuousClock.Instant] = [:]
    }
    private let state = Mutex(State())
    let retryAfter: Duration

    init(retryAfter: Duration = .seconds(5)) { self.retryAfter = retryAfter }

    /// The values for `keys`. When some key is neither known nor recently missed, `fetch` lists every
    /// container once; its failure becomes one problem, and the keys are retried later. Entries of
    /// keys no longer asked for are dropped.
    func values(for keys: [String], problems: inout [String],
                fetch: () throws(SondeError) -> [String: Value]) -> [String: Value] {
        let now = ContinuousClock.now
        let wanted = Set(keys)
        let missing = state.withLock { state -> Bool in
            state.values = state.values.filter { wanted.contains($0.key) }
            state.misses = state.misses.filter { wanted.contains($0.key) && now - $0.value < retryAfter }
            return wanted.contains { state.values[$0] == nil && state.misses[$0] == nil }
        }
        if missing {
            // Fetched outside the lock: a CLI call takes a while and must not block readers.
            var fetched: [String: Value] = [:]
            do {
                fetched = try fetch()
            } catch {
                problems.append(error.description)
            }
            state.withLock { state in
                for key in wanted where state.values[key] == nil {
                    if let value = fetched[key] {
                        state.values[key] = value
                        state.misses[key] = nil
                    } else {
                        state.misses[key] = now // created after the listing, or the call failed
                    }
                }
            }
        }
        return state.withLock { state in state.values.filter { wanted.contains($0.key) } }
    }

    /// The value for one key, fetched alone when unknown (for CLIs that describe one container per call).
    func value(for key: String, problems: inout [String], fetch: () throws(SondeError) -> Value) -> Value? {
        let now = ContinuousClock.now
        let cached = state.withLock { state -> (value: Value?, recentlyMissed: Bool) in
            if let value = state.values[key] { return (value, false) }
            if let missed = state.misses[key], now - missed < retryAfter { return (nil, true) }
            return (nil, false)
        }
        if let value = cached.value { return value }
        if cached.recentlyMissed { return nil }
        do {
            let value = try fetch()
            state.withLock { state in
                state.values[key] = value
                state.misses[key] = nil
            }
            return value
        } catch {
            problems.append(error.description)
            state.withLock { state in state.misses[key] = now }
            return nil
        }
    }

    /// The value for one key if it is known, without fetching.
    func cached(_ key: String) -> Value? {
        state.withLock { $0.values[key] }
    }

    /// Forgets every key not in `keys` (containers that are gone).
    func retain(_ keys: Set<String>) {
        state.withLock { state in
            state.values = state.values.filter { keys.contains($0.key) }
            state.misses = state.misses.filter { keys.contains($0.key) }
        }
    }
}
