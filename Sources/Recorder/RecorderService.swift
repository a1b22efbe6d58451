import Containers
import Events
import Foundation
import LinuxKit
import Synchronization

/// The user-space half of recording, run by `sonde record start` (and later the daemon): it
/// claims the rings the kernel gave to new cgroups for the containers the selection wants (or
/// frees them), keeps the pool of ready rings full, ends the recordings of containers gone longer
/// than the retention, and writes a crash dump when a recorded process dies of a fatal signal or a
/// container's init exits non-zero. Recording itself goes on in the kernel without it.
public final class RecorderService: @unchecked Sendable {
    public struct Options: Sendable {
        public var selector: ContainerSelector
        /// Where crash dumps go; nil writes none.
        public var crashDirectory: String?
        /// How long a new cgroup may stay unidentified before its ring is freed.
        public var resolutionTimeout: Duration = .seconds(5)
        /// How long the recording of a container that ended is kept for dumping.
        public var retention: Duration = .seconds(3600)
        /// How often the runtimes are listed again without any event (a reconcile: events from the
        /// kernel, the runtimes' state directories and the hooks make it look sooner).
        public var refreshInterval: Duration = .seconds(2)
        /// Ring bytes per CPU for the containers this service records; nil: the recorder's default.
        /// (Containers that start while recording first get a ring of the pool's size.)
        public var bytesPerCPU: Int?
        /// A further condition beyond `selector` (the daemon's labels and pod namespaces).
        public var filter: (@Sendable (Container) -> Bool)?

        public init(selector: ContainerSelector, crashDirectory: String? = nil) {
            self.selector = selector
            self.crashDirectory = crashDirectory
        }
    }

    public let recorder: FlightRecorder
    public let collection: ContainerCollection
    public let options: Options
    let notice: @Sendable (String) -> Void
    /// Renders a dump for a crash file.
    let render: @Sendable (RecorderDump, Container) -> String
    private var lastRefresh = ContinuousClock.now
    private var firstSeen: [UInt32: ContinuousClock.Instant] = [:]
    /// Process exits already dumped, by ring slot and pid, with the notice's time: on kernels whose
    /// sched_process_exit tracepoint lacks group_dead (Linux 6.1), two threads ending together may
    /// both report their process's end.
    private var dumpedExits: [UInt64: UInt64] = [:]
    private let refreshRequested = Mutex(false)
    /// Ends the wait between steps early (requestRefresh); nil only when no pipe could be made.
    private let wakeup = try? Wakeup()

    public init(recorder: FlightRecorder, collection: ContainerCollection, options: Options,
                notice: @escaping @Sendable (String) -> Void,
                render: @escaping @Sendable (RecorderDump, Container) -> String) {
        self.recorder = recorder
        self.collection = collection
        self.options = options
        self.notice = notice
        self.render = render
    }

    /// Records what the selection matches now, then follows changes until cancelled or the timeout.
    /// Between steps it sleeps in poll on the kernel's notice ring and a wakeup pipe (requestRefresh,
    /// cancellation), with a timeout only for what is due: the next reconcile (`refreshInterval`)
    /// and the resolution deadline of a pending cgroup. While nothing happens it does not wake
    /// more often than that.
    /// How a run ended.
    public enum Ending: Sendable, Equatable {
        /// The timeout passed or the task was cancelled: the recording goes on in the kernel.
        case finished
        /// Someone stopped the recorder (`sonde record stop`): nothing is left to follow.
        case stopped
    }

    @discardableResult
    public func run(timeout: Duration? = nil, ready: @Sendable () -> Void = {}) async throws(SondeError) -> Ending {
        guard let wakeup else { throw SondeError(.resourceExhausted, "recorder: cannot make a wakeup pipe (out of file descriptors?)") }
        var short = false
        while !Task.isCancelled {
            do throws(SondeError) {
                try recordMatching()
                break
            } catch where error.errno?.isResourceShortage == true {
                await waitOutShortage(error, reported: &short)
            }
        }
        ready()
        let deadline = timeout.map { ContinuousClock.now + $0 }
        let notices = recorder.noticeDescriptor
        while !Task.isCancelled, deadline.map({ ContinuousClock.now < $0 }) ?? true {
            var wait = nextDue() - .now
            if let deadline { wait = min(wait, deadline - .now) }
            _ = await wakeup.wait(for: [notices], timeout: max(wait, .zero))
            if Task.isCancelled { break }
            // `sonde record stop` removed the pins (and took the syscall programs out of the
            // dispatcher): this process lets go of the rest, its links, when it ends.
            guard FlightRecorder.isRunning(recorder.settings) else {
                notice("the flight recorder was stopped (sonde record stop): not following containers any more")
                return .stopped
            }
            do throws(SondeError) {
                try step()
                if short { notice("recorder: working again after the shortage") }
                short = false
            } catch where error.errno?.isResourceShortage == true {
                // Out of descriptors or memory (a flood of connections, say): the kernel records
                // on; this housekeeping waits and tries again rather than ending the process.
                await waitOutShortage(error, reported: &short)
            } catch where error.code == .notFound && !FlightRecorder.isRunning(recorder.settings) {
                notice("the flight recorder was stopped (sonde record stop): not following containers any more")
                return .stopped
            }
        }
        return .finished
    }

    /// When the next step is due without any event: the reconcile, or the moment a pending cgroup
    /// that no container claimed is given up (its ring freed).
    func nextDue() -> ContinuousClock.Instant {
        var due = lastRefresh + options.refreshInterval
        if let oldest = firstSeen.values.min() { due = min(due, oldest + options.resolutionTimeout) }
        return due
    }

    /// Says once that a step failed for want of a resource, then waits a second.
    private func waitOutShortage(_ error: SondeError, reported: inout Bool) async {
        if !reported { notice("recorder: \(error.message): \(error.errno.map(\.description) ?? ""); retrying every second") }
        reported = true
        do { try await Task.sleep(for: .seconds(1)) } catch { return }
    }

    /// One round of housekeeping; public for tests that drive it step by step.
    public func step() throws(SondeError) {
        var refresh = ContinuousClock.now - lastRefresh >= options.refreshInterval
            || refreshRequested.withLock { requested in defer { requested = false }; return requested }
        var crashes: [RecorderNotice] = []
        for notice in try recorder.takeNotices() {
            switch notice.kind {
            case .cgroupCreated:
                refresh = true
            case .processExit:
                crashes.append(notice)
            case .poolEmpty:
                self.notice("a new cgroup (\(notice.path)) found no ready ring and is not recorded; raise --pool")
            case .cgroupRemoved:
                break
            }
        }
        if refresh || !crashes.isEmpty { try recordMatching() }
        try resolvePending()
        // After resolving: a container that crashed at once may only now be known by its ring.
        for crash in crashes where firstReport(of: crash) { crashDump(crash) }
        try recorder.refillPool()
        try recorder.releaseEnded(olderThan: options.retention)
    }

    /// Asks the next step to list the containers again (a runtime watcher saw a change, or a hook
    /// registered a container); safe from any thread.
    public func requestRefresh() {
        refreshRequested.withLock { $0 = true }
        wakeup?.signal()
    }

    func wants(_ container: Container) -> Bool {
        options.selector.matches(container) && (options.filter?(container) ?? true)
    }

    /// Gives every matching container (and every cgroup nested in it) a ring.
    func recordMatching() throws(SondeError) {
        let change = collection.refresh()
        for problem in change.problems { notice(problem) }
        lastRefresh = .now
        let recorded = Dictionary(try recorder.recorded().filter { !$0.ended }.map { (RecorderRegistry.key($0.container), $0.container) },
                                  uniquingKeysWith: { first, _ in first })
        for container in collection.all where wants(container) {
            // Recorded already, under the same description: nothing to do. A description that
            // changed (a hook registered it before its runtime could name it) is recorded again,
            // which keeps its ring and updates the name dumps find it by.
            guard recorded[RecorderRegistry.key(container)] != container else { continue }
            do {
                try recorder.record(container, cgroupIDs: collection.cgroupIDs(of: [container]), bytesPerCPU: options.bytesPerCPU)
            } catch {
                notice("cannot record \(container.name): \(error)") // exited meanwhile, say
            }
        }
    }

    /// New cgroups: claimed for the container that holds them, or freed once it is clear no
    /// wanted container does.
    func resolvePending() throws(SondeError) {
        let pending = try recorder.pendingRings()
        firstSeen = firstSeen.filter { entry in pending.contains { $0.slot == entry.key } }
        for ring in pending {
            let seen = firstSeen[ring.slot] ?? .now
            firstSeen[ring.slot] = seen
            let owner = collection.container(cgroupID: ring.cgroupID) ?? collection.adopt(cgroupID: ring.cgroupID, path: ring.path)
            if let owner, wants(owner) {
                try recorder.record(owner, cgroupIDs: [ring.cgroupID])
            } else if owner == nil, ring.ended, let orphan = orphan(path: ring.path, cgroupID: ring.cgroupID) {
                // Gone before its runtime's state could be read (a container that exits at once):
                // keep it under its cgroup's name, which runtimes derive from the container's.
                try recorder.record(orphan, cgroupIDs: [ring.cgroupID])
            } else if owner != nil || ContinuousClock.now - seen >= options.resolutionTimeout {
                try recorder.discardPending(slot: ring.slot)
            }
        }
    }

    /// A container for a cgroup that ended unidentified, if the selection may want it: any selection
    /// not limited to named containers, or a name that is the cgroup's last path component.
    func orphan(path: String, cgroupID: UInt64) -> Container? {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let selector = options.selector
        guard selector.names.isEmpty || selector.names.contains(name) || selector.names.contains(where: { name.hasSuffix($0) }),
              selector.cgroupPaths.isEmpty || selector.cgroupPaths.contains(where: { path.hasPrefix($0) }) else { return nil }
        return Container(runtime: .cgroup, id: path, name: name, cgroupPath: path, cgroupID: cgroupID)
    }

    /// Whether no notice of this process's end came within the last second (a duplicate is a few
    /// microseconds behind the first; a pid reused within a second by a process that crashes too
    /// is not a case to dump twice for).
    private func firstReport(of exit: RecorderNotice) -> Bool {
        let second: UInt64 = 1_000_000_000
        dumpedExits = dumpedExits.filter { exit.bootNanoseconds &- $0.value < 10 * second }
        let key = UInt64(exit.slot) << 32 | UInt64(exit.pid)
        if let earlier = dumpedExits[key], exit.bootNanoseconds &- earlier < second { return false }
        dumpedExits[key] = exit.bootNanoseconds
        return true
    }

    private func crashDump(_ event: RecorderNotice) {
        guard let directory = options.crashDirectory else { return }
        do {
            guard let container = try recorder.container(ofSlot: event.slot) else { return }
            let cause: String
            if let signal = event.signal {
                cause = "pid \(event.pid) (\(event.comm)) was killed by signal \(signal)\(event.exitCode & 0x80 != 0 ? " (core dumped)" : "")"
            } else {
                cause = "its init process \(event.pid) (\(event.comm)) exited with status \(event.exitStatus)"
            }
            let dump = try recorder.dump(container)
            // A dump holds the container's syscall arguments and buffers: root's only, as the API socket.
            try Files.makePrivateDirectory(directory)
            let stamp = TimeText.fileStamp(FlightRecorder.now())
            let path = directory + "/" + FileNames.safe(container.name) + "-" + stamp + ".txt"
            let text = "# sonde crash dump of \(container.name) (\(container.runtime) \(container.id)): \(cause)\n" + render(dump, container)
            try Files.writePrivate(path, Array(text.utf8))
            notice("\(container.name): \(cause); crash dump written to \(path)")
        } catch {
            notice("crash dump failed: \(error)")
        }
    }
}

/// Names from containers are hostile input: file names keep only safe characters.
enum FileNames {
    static func safe(_ name: String) -> String {
        let kept = name.unicodeScalars.map { scalar -> Character in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".": return Character(scalar)
            default: return "_"
            }
        }
        let result = String(kept).trimmingCharacters(in: CharacterSet(charactersIn: "."))
        return result.isEmpty ? "container" : String(result.prefix(100))
    }
}

extension FlightRecorder {
    /// The container a ring records, if claimed.
    public func container(ofSlot slot: UInt32) throws(SondeError) -> Container? {
        let registry = try store.load()
        return registry.rings[slot]?.container.flatMap { registry.containers[$0] }
    }

    /// Frees the rings of containers that ended longer ago than `retention`.
    public func releaseEnded(olderThan retention: Duration) throws(SondeError) {
        let limit = Self.now() - Int64(retention.components.seconds) * 1_000_000_000
        try store.update { (registry: inout RecorderRegistry) throws(SondeError) in
            for ring in registry.rings.values where (ring.ended ?? .max) < limit {
                release(slot: ring.slot, registry: &registry)
            }
        }
    }
}
