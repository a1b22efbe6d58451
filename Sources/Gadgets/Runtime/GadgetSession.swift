import BPFKit
import Containers
import Dispatch
import Events
import LinuxKit
import Synchronization

/// Settings every gadget shares.
public struct GadgetOptions: Sendable {
    public var selector: ContainerSelector
    /// Stop after this long; nil runs until cancelled.
    public var timeout: Duration?
    /// Size of the kernel ring buffer; a power of two.
    public var ringBufferBytes: UInt32
    /// How long a cgroup created while running may stay unresolved before it is judged not a
    /// container of interest (runtimes write their state shortly after creating the cgroup).
    public var resolutionTimeout: Duration
    /// How often the container list is refreshed even when no cgroup was created.
    public var refreshInterval: Duration
    /// How long one wait for events lasts at most (gadgets whose programs batch their wake-ups need
    /// it); nil: only the kernel's wake-up ends it, for gadgets that submit with a wake-up (an
    /// always-on session then costs nothing while idle).
    public var pollInterval: Duration? = .milliseconds(100)
    /// Only events matching every filter reach the sink (`--filter`); the others are counted.
    public var filters: EventFilters?

    public init(selector: ContainerSelector = ContainerSelector(), timeout: Duration? = nil,
                ringBufferBytes: UInt32 = 8 << 20, resolutionTimeout: Duration = .seconds(5),
                refreshInterval: Duration = .seconds(2), filters: EventFilters? = nil) {
        self.selector = selector
        self.filters = filters
        self.timeout = timeout
        self.ringBufferBytes = ringBufferBytes
        self.resolutionTimeout = resolutionTimeout
        self.refreshInterval = refreshInterval
    }
}

/// What a run delivered and what it could not.
public struct GadgetStats: Sendable, Equatable {
    public var delivered: UInt64 = 0
    /// Dropped in the kernel because the ring buffer was full.
    public var lostRingBufferFull: UInt64 = 0
    /// Dropped in the kernel because too many calls were in flight.
    public var lostInFlight: UInt64 = 0
    /// Records too short or inconsistent to decode.
    public var corrupt: UInt64 = 0
    /// Events of a new cgroup held while it was resolved, beyond the bound kept per cgroup.
    public var lostWhileResolving: UInt64 = 0
    /// Events of a cgroup that ended before sonde could tell whose it was; it may or may not have
    /// been a container the selection wanted.
    public var unidentified: UInt64 = 0
    /// Decoded but not shown: they did not match the filters. Not a loss.
    public var filteredOut: UInt64 = 0

    public var lost: UInt64 { lostRingBufferFull + lostInFlight + corrupt + lostWhileResolving }

    /// "12 events lost: 10 ring buffer full, 2 corrupt", or nil when nothing was lost.
    public var lossSummary: String? {
        let unidentifiedNote = unidentified > 0
            ? "\(unidentified) events not shown: their cgroup ended before it could be identified" : nil
        guard lost > 0 else { return unidentifiedNote }
        var parts: [String] = []
        if lostRingBufferFull > 0 { parts.append("\(lostRingBufferFull) ring buffer full") }
        if lostInFlight > 0 { parts.append("\(lostInFlight) too many calls in flight") }
        if corrupt > 0 { parts.append("\(corrupt) corrupt records") }
        if lostWhileResolving > 0 { parts.append("\(lostWhileResolving) while resolving a new container") }
        return "\(lost) events lost: " + parts.joined(separator: ", ") + (unidentifiedNote.map { "; " + $0 } ?? "")
    }
}

/// Runs one gadget: load its object, select containers in the kernel, stream its events to a sink.
public final class GadgetSession: Sendable {
    public let gadget: any Gadget
    public let collection: ContainerCollection
    public let options: GadgetOptions
    /// Called with a message when something worth telling the user happens (new losses, a
    /// container state that could not be read). Not for events.
    let notice: @Sendable (String) -> Void

    static let selected: UInt8 = 1 // SONDE_CGROUP_SELECTED
    static let maxHeldPerCgroup = 10_000

    struct Pending {
        var path: String
        var since: ContinuousClock.Instant
        var held: [Event] = []
    }

    struct State {
        var pending: [UInt64: Pending] = [:]
        var selectedIDs = Set<UInt64>()
        var stats = GadgetStats()
        var reportedLoss: UInt64 = 0
        var lastRefresh = ContinuousClock.now
        var refreshWanted = false
        /// Another refresh of the shared collection added or removed containers.
        var collectionChanged = false
    }
    private let state = Mutex(State())
    /// Wakes the housekeeping loop: a new cgroup, a change in the collection, cancellation.
    private let wakeup = try? Wakeup()

    public init(gadget: any Gadget, collection: ContainerCollection, options: GadgetOptions,
                notice: @escaping @Sendable (String) -> Void) {
        self.gadget = gadget
        self.collection = collection
        self.options = options
        self.notice = notice
    }

    /// Loads and attaches, calls `ready` once the programs are attached and the selection is in the
    /// kernel, then delivers events to `sink` (called serially) until the timeout or cancellation.
    /// `flush` is called, serially with `sink`, whenever the kernel buffer has been drained: a sink
    /// that buffers its output writes it then. Returns the counts, losses included.
    public func run(ready: @Sendable () -> Void = {}, sink: @escaping @Sendable (Event) -> Void,
                    flush: @escaping @Sendable () -> Void = {}) async throws(SondeError) -> GadgetStats {
        try Preflight.checkTracing()
        try KernelFilesystems.ensureTracefs()

        let selector = options.selector
        let first = collection.refresh()
        report(first.problems)
        // A name not there yet is followed like any new container: it is selected once it appears.
        if selector.isExplicit, let waiting = selector.waitingNotice(in: collection.all) { notice(waiting) }

        let object = try BPFObject(name: gadget.name, bytes: gadget.object.bytes)
        // Syscall gadgets are called by the node's dispatcher for what they select: join it first
        // (the slot is a constant of the object), leave it however the run ends.
        let consumer = try gadget.dispatchedPrograms.map { _ throws(SondeError) in
            try SyscallDispatcher.join(name: gadget.name, owner: .current)
        }
        defer { try? consumer?.leave() }
        try consumer?.prepare(object)
        try object.setConstant("sonde_filter_by_cgroup", to: UInt8(selector.host ? 0 : 1))
        try object.setConstant("sonde_track_new_cgroups", to: UInt8(selector.host ? 0 : 1))
        try object.setConstant("sonde_v1_pids", to: UInt8(collection.cgroups.isUnified ? 0 : 1))
        try object.setMaxEntries(map: "sonde_events", options.ringBufferBytes)
        try gadget.configure(object)
        try object.load()
        try gadget.loaded(object)
        let cgroupMap = KernelSelection(map: try object.map("sonde_cgroups"), consumer: consumer,
                                        dispatchesListed: gadget.dispatchesExistingContainers)
        let lostMap = try object.map("sonde_lost")
        try selectMatching(in: cgroupMap)
        let reader = try RingBufferReader(map: try object.map("sonde_events"))
        // Refreshes of the shared collection by others (the daemon's watchers) select new containers now.
        let observer = collection.observe { [self] in
            state.withLock { $0.collectionChanged = true }
            wakeup?.signal()
        }
        defer { collection.removeObserver(observer) }
        if let consumer, let programs = gadget.dispatchedPrograms {
            try consumer.install(object, programs)
            if selector.host { consumer.wantEverything(true) }
        }
        try object.attachAll(except: gadget.dispatchedPrograms?.names ?? [])
        // A container that appeared between the first listing and attaching: the cgroup tracker
        // did not see its cgroup being made, so look again now that it runs.
        collection.refresh()
        try selectMatching(in: cgroupMap)
        ready()

        let clock = BootClock()
        // Serializes sink and flush. The closures stay outside the Mutex: a closure stored in a
        // Mutex's generic value is re-wrapped in a reabstraction thunk at every inout access in
        // a debug build, so after some 11,000 events the call chain overflowed the stack.
        let emitting = Mutex(())
        let filters = options.filters.flatMap { $0.isEmpty ? nil : $0 }
        let pass: @Sendable (Event) -> Void = { [self] event in
            if let filters, !filters.matches(event) {
                state.withLock { $0.stats.filteredOut += 1 }
                return
            }
            emitting.withLock { _ in sink(event) }
            state.withLock { $0.stats.delivered += 1 }
        }
        // Only gadgets that enrich pay for a mutable copy of each event.
        let deliver: @Sendable (Event) -> Void
        if gadget.enrichesEvents {
            let gadget = gadget, collection = collection
            deliver = { event in
                var enriched = event
                gadget.enrich(&enriched, containers: collection)
                pass(enriched)
            }
        } else {
            deliver = pass
        }
        let flushOutput: @Sendable () -> Void = { emitting.withLock { _ in flush() } }

        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { [self] in
                    for try await batch in reader.batches(pollInterval: options.pollInterval) {
                        for record in batch {
                            handle(record, clock: clock, cgroupMap: cgroupMap, deliver: deliver)
                        }
                        flushOutput()
                    }
                }
                group.addTask { [self] in
                    while !Task.isCancelled {
                        // Every 200 ms while a new cgroup waits to be resolved; otherwise only when
                        // something happens or the next periodic refresh is due.
                        let wait = state.withLock { s -> Duration in
                            s.refreshWanted || !s.pending.isEmpty ? .milliseconds(200) : s.lastRefresh + options.refreshInterval - .now
                        }
                        if let wakeup {
                            _ = await wakeup.wait(timeout: max(wait, .zero))
                        } else {
                            try await Task.sleep(for: .milliseconds(200))
                        }
                        try Task.checkCancellation()
                        try housekeeping(cgroupMap: cgroupMap, lostMap: lostMap, deliver: deliver)
                        // Held events of a container resolved just now were delivered outside a batch.
                        flushOutput()
                    }
                }
                if let timeout = options.timeout {
                    group.addTask { try await Task.sleep(for: timeout) }
                    // The first task to end (the timer) ends the run.
                    _ = try await group.next()
                    group.cancelAll()
                } else {
                    try await group.waitForAll()
                }
            }
        } catch is CancellationError {
            // Ctrl-C or the caller's cancellation: a normal end.
        } catch let error as SondeError {
            throw error
        } catch {
            throw SondeError(.system, "gadget \(gadget.name) stopped: \(error)")
        }
        updateKernelLosses(lostMap)
        flushOutput()
        return state.withLock { $0.stats }
    }

    // MARK: records

    private func handle(_ record: BPFRecord, clock: BootClock, cgroupMap: KernelSelection, deliver: @Sendable (Event) -> Void) {
        guard let header = RecordHeader(record) else {
            state.withLock { $0.stats.corrupt += 1 }
            return
        }
        switch RecordHeader.Kind(rawValue: header.kind) {
        case .cgroupCreated:
            guard let cgroup = CgroupRecord(record, header: header) else {
                state.withLock { $0.stats.corrupt += 1 }
                return
            }
            // A cgroup nested in a container already selected belongs to it at once.
            if let owner = collection.container(cgroupPath: cgroup.path), options.selector.matches(owner) {
                collection.adopt(cgroupID: cgroup.id, path: cgroup.path)
                try? cgroupMap.select(cgroup.id)
                state.withLock { _ = $0.selectedIDs.insert(cgroup.id) }
            } else {
                state.withLock {
                    $0.pending[cgroup.id] = Pending(path: cgroup.path, since: .now)
                    $0.refreshWanted = true
                }
                wakeup?.signal()
            }
        case .cgroupRemoved:
            let gone = state.withLock { state in
                state.selectedIDs.remove(header.cgroupID)
                return state.pending.removeValue(forKey: header.cgroupID)
            }
            guard let gone, !gone.held.isEmpty else { return }
            // Gone before it was resolved: deliver its events if its path shows whose it was
            // (a cgroup nested in a known container), else count them as unidentified.
            if let owner = collection.container(cgroupPath: gone.path), options.selector.matches(owner) {
                for var event in gone.held {
                    event.container = owner
                    deliver(event)
                }
            } else {
                state.withLock { $0.stats.unidentified += UInt64(gone.held.count) }
            }
        default:
            guard let fields = gadget.decode(record, header: header) else {
                state.withLock { $0.stats.corrupt += 1 }
                return
            }
            var event = Event(
                timestamp: clock.wallNanoseconds(boot: header.bootNanoseconds), source: gadget.name,
                process: ProcessRef(pid: Int32(bitPattern: header.pid), tid: Int32(bitPattern: header.tid),
                                    ppid: Int32(bitPattern: header.ppid), uid: header.uid, gid: header.gid,
                                    comm: header.comm),
                cgroupID: header.cgroupID, mountNamespaceID: header.mountNamespaceID, fields: fields)
            // Events of a cgroup still being resolved wait until we know whose they are.
            let held = state.withLock { state -> Bool in
                guard state.pending[header.cgroupID] != nil else { return false }
                if state.pending[header.cgroupID]!.held.count < Self.maxHeldPerCgroup {
                    state.pending[header.cgroupID]!.held.append(event)
                } else {
                    state.stats.lostWhileResolving += 1
                }
                return true
            }
            if held { return }
            event.container = collection.container(cgroupID: header.cgroupID)
            deliver(event)
        }
    }

    // MARK: housekeeping

    /// Refreshes the containers when asked or due, resolves pending cgroups, reports new losses.
    private func housekeeping(cgroupMap: KernelSelection, lostMap: BPFMap, deliver: @Sendable (Event) -> Void) throws {
        let (due, changed) = state.withLock { s in
            defer { s.collectionChanged = false }
            return (s.refreshWanted || !s.pending.isEmpty || ContinuousClock.now - s.lastRefresh >= options.refreshInterval,
                    s.collectionChanged)
        }
        if !due && changed {
            // Refreshed by someone else just now: select what it found, without listing again.
            try selectMatching(in: cgroupMap)
            resolvePending(cgroupMap: cgroupMap, deliver: deliver)
        }
        if due {
            let change = collection.refresh()
            report(change.problems)
            state.withLock { s in
                s.lastRefresh = .now
                s.refreshWanted = false
            }
            try selectMatching(in: cgroupMap)
            resolvePending(cgroupMap: cgroupMap, deliver: deliver)
        }
        updateKernelLosses(lostMap)
        let (lost, summary) = state.withLock { ($0.stats.lost + $0.stats.unidentified, $0.stats.lossSummary) }
        let reported = state.withLock { s -> Bool in
            defer { s.reportedLoss = lost }
            return lost > s.reportedLoss
        }
        if reported, let summary { notice(summary) }
    }

    private func resolvePending(cgroupMap: KernelSelection, deliver: @Sendable (Event) -> Void) {
        let pending = state.withLock { $0.pending }
        for (id, entry) in pending {
            let owner = collection.container(cgroupID: id) ?? collection.adopt(cgroupID: id, path: entry.path)
            let expired = ContinuousClock.now - entry.since >= options.resolutionTimeout
            guard owner != nil || expired else { continue }
            let keep = owner.map(options.selector.matches) ?? false
            guard keep else {
                state.withLock { _ = $0.pending.removeValue(forKey: id) }
                // Not a container we trace: stop the kernel from sending its events.
                cgroupMap.unselect(id)
                continue
            }
            try? cgroupMap.select(id)
            // The held events go out before any later one of the cgroup: it stays pending (the
            // reader goes on holding what comes meanwhile) until its queue is empty.
            while true {
                let batch = state.withLock { s -> [Event] in
                    guard let held = s.pending[id]?.held, !held.isEmpty else {
                        if s.pending.removeValue(forKey: id) != nil { s.selectedIDs.insert(id) }
                        return []
                    }
                    s.pending[id]!.held = []
                    return held
                }
                if batch.isEmpty { break }
                for var event in batch {
                    event.container = owner
                    deliver(event)
                }
            }
        }
    }

    /// Puts every cgroup of every matching container into the kernel's selection map.
    private func selectMatching(in cgroupMap: KernelSelection) throws(SondeError) {
        guard !options.selector.host else { return }
        let matching = collection.all.filter(options.selector.matches)
        let ids = collection.cgroupIDs(of: matching)
        let fresh = state.withLock { s in ids.filter { !s.selectedIDs.contains($0) } }
        for id in fresh {
            try cgroupMap.select(id)
        }
        // A pending cgroup selected here keeps its held events until resolvePending delivers them.
        state.withLock { s in s.selectedIDs.formUnion(fresh) }
    }

    /// The kernel's side of the selection: the object's cgroup map and, for gadgets the syscall
    /// dispatcher calls, the dispatcher's interest in the same cgroups (new cgroups are wanted by
    /// the kernel itself, at cgroup_mkdir).
    struct KernelSelection {
        let map: BPFMap
        let consumer: DispatchConsumer?
        /// Whether cgroups user space selects are wanted too (Gadget.dispatchesExistingContainers).
        let dispatchesListed: Bool

        func select(_ id: UInt64) throws(SondeError) {
            try map.update(id, GadgetSession.selected)
            if dispatchesListed { try consumer?.want(id) }
        }

        func unselect(_ id: UInt64) {
            _ = try? map.delete(id)
            try? consumer?.unwant(id)
        }
    }

    private func updateKernelLosses(_ lostMap: BPFMap) {
        let full = (try? lostMap.lookupPerCPU(UInt32(0), as: UInt64.self))?.reduce(0, +) ?? 0
        let inflight = (try? lostMap.lookupPerCPU(UInt32(1), as: UInt64.self))?.reduce(0, +) ?? 0
        state.withLock { s in
            s.stats.lostRingBufferFull = full
            s.stats.lostInFlight = inflight
        }
    }

    private func report(_ problems: [String]) {
        for problem in problems { notice(problem) }
    }
}
