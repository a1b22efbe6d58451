import LinuxKit
import Synchronization

/// The containers on this node, indexed by every cgroup id in their subtree, kept current by
/// `refresh()` (callers refresh when the kernel reports a new cgroup, and periodically).
public final class ContainerCollection: Sendable {
    public let cgroups: CgroupV2
    let sources: [any ContainerSource]

    struct State {
        var containers: [String: Container] = [:]        // by runtime/id
        var byCgroupID: [UInt64: String] = [:]           // every cgroup in a container's subtree
    }
    private let state = Mutex(State())
    /// Called after a refresh that found containers added or removed (gadget sessions sharing this
    /// collection select the new ones at once rather than at their own next refresh).
    private let observers = Mutex<(next: Int, calls: [Int: @Sendable () -> Void])>((0, [:]))

    public init(cgroups: CgroupV2, sources: [any ContainerSource]) {
        self.cgroups = cgroups
        self.sources = sources
    }

    public struct Change: Sendable {
        public var added: [Container] = []
        public var removed: [Container] = []
        /// Entries that could not be read (malformed state files...), as messages.
        public var problems: [String] = []
    }

    static func key(_ c: Container) -> String { "\(c.runtime.rawValue)/\(c.id)" }

    /// Lists every source again and reports what changed since the last time.
    @discardableResult
    public func refresh() -> Change {
        var change = Change()
        var fresh: [String: Container] = [:]
        var index: [UInt64: String] = [:]
        for source in sources {
            for container in source.containers(cgroups: cgroups, problems: &change.problems) {
                let key = Self.key(container)
                fresh[key] = container
                for cgroup in cgroups.subtree(of: container.cgroupPath) where index[cgroup.id] == nil {
                    index[cgroup.id] = key
                }
                index[container.cgroupID] = key
            }
        }
        state.withLock { state in
            change.added = fresh.filter { state.containers[$0.key] == nil }.map(\.value)
            change.removed = state.containers.filter { fresh[$0.key] == nil }.map(\.value)
            state.containers = fresh
            state.byCgroupID = index
        }
        if !change.added.isEmpty || !change.removed.isEmpty {
            for call in observers.withLock({ Array($0.calls.values) }) { call() }
        }
        return change
    }

    /// Calls `changed` after each refresh that adds or removes a container, until `removeObserver`
    /// with the returned token. `changed` must not block (it runs on the refreshing thread).
    public func observe(_ changed: @escaping @Sendable () -> Void) -> Int {
        observers.withLock { observers in
            defer { observers.next += 1 }
            observers.calls[observers.next] = changed
            return observers.next
        }
    }

    public func removeObserver(_ token: Int) {
        observers.withLock { _ = $0.calls.removeValue(forKey: token) }
    }

    public var all: [Container] {
        state.withLock { Array($0.containers.values) }.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
    }

    /// The container whose cgroup subtree holds this cgroup id.
    public func container(cgroupID: UInt64) -> Container? {
        state.withLock { state in state.byCgroupID[cgroupID].flatMap { state.containers[$0] } }
    }

    /// The container whose cgroup holds this path (the innermost one when containers nest).
    public func container(cgroupPath: String) -> Container? {
        state.withLock { state in Self.innermost(containing: cgroupPath, in: state) }
    }

    private static func innermost(containing path: String, in state: State) -> Container? {
        state.containers.values.filter { $0.contains(cgroupPath: path) }.max { $0.cgroupPath.count < $1.cgroupPath.count }
    }

    /// Attributes a cgroup created after the last refresh to the container whose cgroup holds its
    /// path, so its events are tagged before the next refresh walks the subtree again.
    @discardableResult
    public func adopt(cgroupID: UInt64, path: String) -> Container? {
        state.withLock { state in
            guard let owner = Self.innermost(containing: path, in: state) else { return nil }
            state.byCgroupID[cgroupID] = Self.key(owner)
            return owner
        }
    }

    /// Every cgroup id in the subtree of the given containers, for the kernel's selection map.
    public func cgroupIDs(of containers: [Container]) -> [UInt64] {
        var ids = Set<UInt64>()
        for container in containers {
            ids.insert(container.cgroupID)
            for cgroup in cgroups.subtree(of: container.cgroupPath) { ids.insert(cgroup.id) }
        }
        return ids.sorted()
    }
}
