import BPFKit
import BPFObjects
import CLibbpf
import Containers
import Foundation
import LinuxKit
import Syscalls

/// How the recorder records; fixed when it starts (a later `record start` reuses what runs).
public struct RecorderSettings: Sendable {
    /// Ring bytes per CPU for each container; rounded up to a size class (64 KiB to 16 MiB).
    public var bytesPerCPU: Int = 1 << 20
    /// Bytes kept of each read/write buffer (strace shows 32 by default).
    public var bufferCapture: UInt32 = 256
    /// Rings kept ready for containers that start while recording (their first syscalls need one
    /// before user space can make it).
    public var poolSize = 8
    /// Key containers by mount namespace instead of cgroup id (v1-only hosts key by their pids
    /// cgroup without it; see CgroupV2).
    public var keyByMountNamespace = false
    public var pinDirectory = "/sys/fs/bpf/sonde/recorder"
    public var stateDirectory = "/run/sonde/recorder"
    /// The syscall dispatcher the recorder's programs are called from (shared with the node's
    /// other sonde processes).
    public var dispatcher = SyscallDispatcher.Location()

    public init() {}

    /// Settings whose pins and registry are this run's own (a unique name under /sys/fs/bpf and
    /// /run), for tests and benchmarks that must not meet the recorder a host may run.
    public static func isolated(_ prefix: String, bytesPerCPU: Int, poolSize: Int) -> RecorderSettings {
        var settings = RecorderSettings()
        let name = "\(prefix)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        settings.pinDirectory = "/sys/fs/bpf/" + name
        settings.stateDirectory = "/run/" + name
        settings.bytesPerCPU = bytesPerCPU
        settings.poolSize = poolSize
        return settings
    }
}

// The values of the recorder's maps, laid out as in bpf/recorder.h (checked by RecorderTests).
struct TargetValue: BitwiseCopyable {
    var slot: UInt32
    var sizeClass: UInt8
    var state: UInt8
    var reserved: UInt16 = 0
    var bufferCapture: UInt32
    var reserved2: UInt32 = 0

    static let recording: UInt8 = 1
    static let pending: UInt8 = 2
}

/// struct sonde_rec_filter_entry: the per-syscall fast path's copy of a target.
struct FilterEntry: BitwiseCopyable {
    var key: UInt64
    var target: TargetValue

    static let size = 65536
    static func index(_ key: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: key) & UInt32(size - 1) }
}

struct ConfigValue: BitwiseCopyable {
    var trackNewCgroups: UInt8
    var newSizeClass: UInt8
    var reserved: UInt16 = 0
    var bufferCapture: UInt32
}

typealias Six<T> = (T, T, T, T, T, T)

struct SchemaValue: BitwiseCopyable {
    var kind: Six<UInt8> = (0, 0, 0, 0, 0, 0)
    var lengthArgument: Six<UInt8> = (0, 0, 0, 0, 0, 0)
    var structSize: Six<UInt16> = (0, 0, 0, 0, 0, 0)
    var enterCaptures: UInt8 = 0
    var exitCaptures: UInt8 = 0
    var singleEnter: UInt8 = SchemaValue.many
    var singleExit: UInt8 = SchemaValue.many

    /// SONDE_CAPTURE_MANY: capture in a loop over the arguments.
    static let many: UInt8 = 0xff
    /// enum sonde_capture_kind values read at entry and at exit (an fd_set at both).
    static let enterKinds: Set<UInt8> = [1, 2, 3, 5, 7, 9, 11, 13, 14, 15, 18]
    static let exitKinds: Set<UInt8> = [4, 6, 8, 10, 12, 13, 14, 16, 17]

    /// The kernel's encoding of what to capture (enum sonde_capture_kind).
    init(_ captures: [ArgumentCapture]) {
        var kinds = [UInt8](repeating: 0, count: 6), lengths = [UInt8](repeating: 0, count: 6)
        var sizes = [UInt16](repeating: 0, count: 6)
        for (index, capture) in captures.prefix(6).enumerated() {
            switch capture {
            case .value: break
            case .string: kinds[index] = 1
            case .stringArray: kinds[index] = 2
            case .inputBuffer(let length): kinds[index] = 3; lengths[index] = UInt8(length)
            case .outputBuffer(let length): kinds[index] = 4; lengths[index] = UInt8(length)
            case .inputSockaddr(let length): kinds[index] = 5; lengths[index] = UInt8(length)
            case .outputSockaddr(let pointer): kinds[index] = 6; lengths[index] = UInt8(pointer)
            case .inputStruct(let size): kinds[index] = 7; sizes[index] = UInt16(size)
            case .outputStruct(let size): kinds[index] = 8; sizes[index] = UInt16(size)
            case .inputIovec(let count): kinds[index] = 9; lengths[index] = UInt8(count)
            case .outputIovec(let count): kinds[index] = 10; lengths[index] = UInt8(count)
            case .inputMessage: kinds[index] = 11
            case .outputMessage: kinds[index] = 12
            case .fdSet(let count): kinds[index] = 13; lengths[index] = UInt8(count)
            case .inOutStruct(let size): kinds[index] = 14; sizes[index] = UInt16(size)
            case .inputArray(let count, let size): kinds[index] = 15; lengths[index] = UInt8(count); sizes[index] = UInt16(size)
            case .outputArray(let count, let size): kinds[index] = 16; lengths[index] = UInt8(count); sizes[index] = UInt16(size)
            case .outputPageVector(let length): kinds[index] = 17; lengths[index] = UInt8(length)
            case .signalFrameMask: kinds[index] = 18
            }
            if Self.enterKinds.contains(kinds[index]) { enterCaptures = 1 }
            if Self.exitKinds.contains(kinds[index]) { exitCaptures = 1 }
        }
        // A string array (argv) is walked after the loop that finds it: keep the loop for it.
        let atEnter = kinds.indices.filter { Self.enterKinds.contains(kinds[$0]) && kinds[$0] != 2 }
        let atExit = kinds.indices.filter { Self.exitKinds.contains(kinds[$0]) }
        if atEnter.count == 1 && !kinds.contains(2) { singleEnter = UInt8(atEnter[0]) }
        if atExit.count == 1 { singleExit = UInt8(atExit[0]) }
        kind = (kinds[0], kinds[1], kinds[2], kinds[3], kinds[4], kinds[5])
        lengthArgument = (lengths[0], lengths[1], lengths[2], lengths[3], lengths[4], lengths[5])
        structSize = (sizes[0], sizes[1], sizes[2], sizes[3], sizes[4], sizes[5])
    }
}

/// The flight recorder: always-on recording of every syscall of selected containers into their
/// own overwritable rings (bpf/recorder.bpf.c). Its maps and program links are pinned in bpffs, so
/// recording goes on while no sonde process runs, and any later process can dump or stop it.
public final class FlightRecorder: @unchecked Sendable {
    public let settings: RecorderSettings
    let store: RegistryStore
    let targets: BPFMap
    let filter: BPFMap
    let config: BPFMap
    let freeSlots: BPFMap
    let notices: BPFMap
    let rings: [BPFMap]  // outer maps by size class
    /// The loaded object when this process started the recorder (its links are pinned anyway).
    private let object: BPFObject?
    /// The recorder's slot in the syscall dispatcher; nil when the dispatcher its programs were
    /// loaded with is gone (see `warning`).
    let consumer: DispatchConsumer?

    /// Set when syscalls are no longer recorded because the dispatcher was unpinned by hand: the
    /// recorder's programs use that dispatcher's maps, and no new dispatcher can call them.
    public var warning: String? {
        consumer != nil ? nil : "the syscall dispatcher this recording was started with is gone (its pins under "
            + "\(settings.dispatcher.pinDirectory) were removed): no syscall is recorded any more; what was recorded "
            + "can still be dumped, and `sonde record stop` then `sonde record start` records again"
    }
    /// Opened on first use by takeNotices().
    var noticeReader: RingBufferReader?
    /// Notices read but not yet handed out by takeNotices().
    var heldNotices: [RecorderNotice] = []

    static let mapNames = ["rec_targets", "rec_filter", "rec_schema", "rec_config", "rec_free_slots", "rec_notices"]
        + (0..<RingLayout.sizeClasses).map { "rec_rings_c\($0)" }
    /// Pinned while the recorder exists: the link of a program that is always attached.
    static let presenceLink = "link_sonde_rec_cgroup_mkdir"
    /// The syscall programs, tail-called by the dispatcher (its program arrays hold them).
    static let syscallPrograms = DispatchedPrograms(enter: "sonde_rec_sys_enter", exit: "sonde_rec_sys_exit")
    static let consumerName = "recorder"

    public static func isRunning(_ settings: RecorderSettings = RecorderSettings()) -> Bool {
        Files.exists(settings.pinDirectory + "/" + presenceLink)
    }

    /// What holds the recorder's dispatcher slot: its pin directory, which outlives any process.
    static func dispatchOwner(_ settings: RecorderSettings) -> SyscallDispatcher.Owner {
        .pin(settings.pinDirectory)
    }

    private init(settings: RecorderSettings, object: BPFObject?, consumer: DispatchConsumer?) throws(SondeError) {
        self.settings = settings
        self.object = object
        self.consumer = consumer
        store = RegistryStore(directory: settings.stateDirectory)
        let dir = settings.pinDirectory
        targets = try BPFMap.pinned(at: dir + "/rec_targets")
        filter = try BPFMap.pinned(at: dir + "/rec_filter")
        config = try BPFMap.pinned(at: dir + "/rec_config")
        freeSlots = try BPFMap.pinned(at: dir + "/rec_free_slots")
        notices = try BPFMap.pinned(at: dir + "/rec_notices")
        var rings: [BPFMap] = []
        for sizeClass in 0..<RingLayout.sizeClasses {
            rings.append(try BPFMap.pinned(at: dir + "/rec_rings_c\(sizeClass)"))
        }
        self.rings = rings
    }

    /// The recorder that runs (pinned by an earlier process), for dumping or stopping it.
    public static func attach(_ settings: RecorderSettings = RecorderSettings()) throws(SondeError) -> FlightRecorder {
        try Preflight.checkTracing()
        try KernelFilesystems.ensureBPFFS()
        guard isRunning(settings) else {
            throw SondeError(.notFound, "the flight recorder is not running", hint: "start it with: sonde record start")
        }
        let registry = try RegistryStore(directory: settings.stateDirectory).load()
        var effective = settings
        effective.keyByMountNamespace = registry.keyByMountNamespace
        effective.bufferCapture = registry.bufferCapture
        effective.poolSize = registry.poolSize
        effective.bytesPerCPU = RingLayout.ringSize(sizeClass: registry.defaultSizeClass)
        // The slot the recorder holds. A new slot means the dispatcher the recorder's programs were
        // loaded with was unpinned: they read that dispatcher's maps, so no new one can call them.
        var consumer: DispatchConsumer? = try SyscallDispatcher.join(name: consumerName, owner: dispatchOwner(settings),
                                                                     location: settings.dispatcher)
        if consumer?.isNew == true {
            try? consumer?.leave()
            consumer = nil
        }
        return try FlightRecorder(settings: effective, object: nil, consumer: consumer)
    }

    /// Starts recording (loads, pins, attaches), or joins the recorder that already runs.
    /// `captures` says what to copy from memory for each syscall number.
    public static func start(_ settings: RecorderSettings, captures: (Int) -> [ArgumentCapture]) throws(SondeError) -> FlightRecorder {
        if isRunning(settings) { return try attach(settings) }
        try Preflight.checkTracing()
        try KernelFilesystems.ensureTracefs()
        try KernelFilesystems.ensureBPFFS()
        let dir = settings.pinDirectory
        try FileManager.default.createDirectory(atPathOrThrow: dir)
        // Leftovers of a recorder that died before pinning its links are not reused.
        BPFObject.removePins(in: dir)

        let object = try BPFObject(name: "recorder", bytes: EmbeddedBPF.recorder.bytes)
        for name in mapNames { try object.setPinPath(map: name, dir + "/" + name) }
        let consumer = try SyscallDispatcher.join(name: consumerName, owner: dispatchOwner(settings), location: settings.dispatcher)
        do throws(SondeError) {
            return try start(settings, object: object, consumer: consumer, captures: captures)
        } catch {
            try? consumer.leave()
            BPFObject.removePins(in: dir)
            throw error
        }
    }

    private static func start(_ settings: RecorderSettings, object: BPFObject, consumer: DispatchConsumer,
                              captures: (Int) -> [ArgumentCapture]) throws(SondeError) -> FlightRecorder {
        let dir = settings.pinDirectory
        try consumer.prepare(object)
        try object.setConstant("key_by_mntns", to: UInt8(settings.keyByMountNamespace ? 1 : 0))
        // No unified hierarchy (cgroup v1 only): the pids controller's hierarchy stands in for it.
        let v1Pids = !settings.keyByMountNamespace && (try? CgroupV2.find())?.isUnified == false
        try object.setConstant("key_by_v1_pids", to: UInt8(v1Pids ? 1 : 0))
        // Linux 6.1's sched_process_exit passes the task only; newer ones add group_dead.
        try object.setConstant("exit_has_group_dead", to: UInt8((KernelBTF.tracepoints["sched_process_exit"] ?? 2) >= 2 ? 1 : 0))
        // Templates for the verifier only: the rings themselves are made per slot (makeRing).
        let templates = try (0..<RingLayout.sizeClasses).map { sizeClass throws(SondeError) in
            let template = try Self.createRing(sizeClass: sizeClass, name: "sonde_ring_tmpl")
            try object.setInnerMap(map: "rec_rings_c\(sizeClass)", template: template)
            return template
        }
        try object.load()
        withExtendedLifetime(templates) {}

        let sizeClass = RingLayout.sizeClass(forBytesPerCPU: settings.bytesPerCPU)
        try RegistryStore(directory: settings.stateDirectory).update(creating: true) { (registry: inout RecorderRegistry) throws(SondeError) in
            registry = RecorderRegistry()
            registry.keyByMountNamespace = settings.keyByMountNamespace
            registry.defaultSizeClass = sizeClass
            registry.bufferCapture = min(settings.bufferCapture, 1024)
            registry.poolSize = settings.poolSize
        }
        let schema = try object.map("rec_schema")
        for number in 0..<schema.maxEntries {
            let value = SchemaValue(captures(number))
            if value.enterCaptures != 0 || value.exitCaptures != 0 { try schema.update(UInt32(number), value) }
        }
        try object.map("rec_config").update(UInt32(0), ConfigValue(
            trackNewCgroups: settings.keyByMountNamespace ? 0 : 1, newSizeClass: UInt8(sizeClass),
            bufferCapture: min(settings.bufferCapture, 1024)))

        let recorder = try FlightRecorder(settings: settings, object: object, consumer: consumer)
        try recorder.refillPool()
        try consumer.install(object, syscallPrograms)
        if settings.keyByMountNamespace { consumer.wantEverything(true) }
        try object.attachAll(except: syscallPrograms.names)
        try object.pinLinks(in: dir)
        return recorder
    }

    /// Detaches the programs and frees every ring and map: what was recorded is gone.
    public static func stop(_ settings: RecorderSettings = RecorderSettings()) throws(SondeError) {
        guard Files.exists(settings.pinDirectory) else {
            throw SondeError(.notFound, "the flight recorder is not running")
        }
        try SyscallDispatcher.leave(name: consumerName, owner: dispatchOwner(settings), location: settings.dispatcher)
        BPFObject.removePins(in: settings.pinDirectory)
        rmdir(settings.pinDirectory)
        try? FileManager.default.removeItem(atPath: settings.stateDirectory)
    }


    // MARK: rings

    private func key(of container: Container) throws(SondeError) -> [UInt64] {
        if settings.keyByMountNamespace {
            guard let mntns = container.mountNamespaceID else {
                throw SondeError(.notFound, "the mount namespace of \(container.name) is unknown (it has no running process)")
            }
            return [mntns]
        }
        return [container.cgroupID]
    }

    /// A new ring (one element per possible CPU) in a new slot of the size class's outer map.
    private func makeRing(sizeClass: Int, registry: inout RecorderRegistry) throws(SondeError) -> UInt32 {
        // The lowest free slot: the outer maps are arrays of RingLayout.maxSlots.
        let used = Set(registry.rings.keys).union(registry.pool)
        guard let slot = (1..<UInt32(RingLayout.maxSlots)).first(where: { !used.contains($0) }) else {
            throw SondeError(.invalidArgument, "the recorder has \(RingLayout.maxSlots - 1) rings already",
                             hint: "stop recording some containers (sonde record stop ends all)")
        }
        let ring = try Self.createRing(sizeClass: sizeClass, name: "sonde_ring_\(slot)")
        try rings[sizeClass].update(slot, UInt32(ring.fileDescriptor))
        return slot
    }

    /// One ring per possible CPU, as the elements of an mmapable array.
    private static func createRing(sizeClass: Int, name: String) throws(SondeError) -> BPFMap {
        try BPFMap.create(type: BPF_MAP_TYPE_ARRAY, name: name, keySize: 4,
                          valueSize: RingLayout.elementSize(sizeClass: sizeClass),
                          maxEntries: Int(libbpf_num_possible_cpus()), flags: UInt32(BPF_F_MMAPABLE))
    }

    /// Keeps `poolSize` rings ready in the kernel's free queue for new cgroups.
    func refillPool() throws(SondeError) {
        try store.update { (registry: inout RecorderRegistry) throws(SondeError) in
            while registry.pool.count < registry.poolSize {
                let slot = try makeRing(sizeClass: registry.defaultSizeClass, registry: &registry)
                try freeSlots.push(slot)
                registry.pool.append(slot)
            }
        }
    }

    /// Records a container (every cgroup id in `cgroupIDs` writes into its ring). A container whose
    /// cgroup the kernel already gave a ring (it started while recording) keeps that ring.
    public func record(_ container: Container, cgroupIDs: [UInt64] = [], bytesPerCPU: Int? = nil) throws(SondeError) {
        let keys = settings.keyByMountNamespace ? try key(of: container) : Array(Set([container.cgroupID] + cgroupIDs))
        try readNotices() // rings the kernel already gave to this container's cgroups
        try store.update { (registry: inout RecorderRegistry) throws(SondeError) in
            let containerKey = RecorderRegistry.key(container)
            registry.containers[containerKey] = container
            let sizeClass = bytesPerCPU.map(RingLayout.sizeClass(forBytesPerCPU:)) ?? registry.defaultSizeClass
            // A ring of this container of the wanted size already?
            var slot = registry.rings.values.first {
                $0.container == containerKey && $0.ended == nil && $0.sizeClass == sizeClass
            }?.slot
            for key in keys {
                if let existing = try targets.lookup(key, as: TargetValue.self) {
                    // Recording already (a pending ring the kernel gave its new cgroup): the ring,
                    // and the first calls in it, become the container's.
                    if var ring = registry.rings[existing.slot] {
                        ring.container = containerKey
                        ring.pending = false
                        registry.rings[existing.slot] = ring
                    }
                    // Keep writing there, unless another size was asked for: then the next calls go
                    // to a new ring and a dump merges both.
                    if bytesPerCPU == nil || Int(existing.sizeClass) == sizeClass {
                        var value = existing
                        value.state = TargetValue.recording
                        try setTarget(key, value)
                        continue
                    }
                }
                if slot == nil {
                    let made = try makeRing(sizeClass: sizeClass, registry: &registry)
                    registry.rings[made] = .init(slot: made, sizeClass: sizeClass, keys: [], path: container.cgroupPath,
                                                 container: containerKey, pending: false, started: Self.now())
                    slot = made
                }
                let ring = registry.rings[slot!]!
                try setTarget(key, TargetValue(slot: ring.slot, sizeClass: UInt8(ring.sizeClass),
                                               state: TargetValue.recording, bufferCapture: registry.bufferCapture))
                registry.rings[slot!]!.keys.append(key)
            }
        }
    }

    /// Records `key` into a ring: in the authoritative hash, and in the filter array unless another
    /// key owns that entry (then the programs fall back to the hash).
    func setTarget(_ key: UInt64, _ value: TargetValue) throws(SondeError) {
        try targets.update(key, value)
        let index = FilterEntry.index(key)
        let entry = try filter.lookup(index, as: FilterEntry.self)
        if entry == nil || entry!.key == 0 || entry!.key == key {
            try filter.update(index, FilterEntry(key: key, target: value))
        }
        // After the target is in the maps: the dispatcher calls the recorder for it from now on.
        if !settings.keyByMountNamespace { try consumer?.want(key) }
    }

    /// Stops recording `key`; a key that collided on the same filter entry moves into it.
    func removeTarget(_ key: UInt64) throws(SondeError) {
        if !settings.keyByMountNamespace { try consumer?.unwant(key) }
        try targets.delete(key)
        let index = FilterEntry.index(key)
        guard let entry = try filter.lookup(index, as: FilterEntry.self), entry.key == key else { return }
        let empty = FilterEntry(key: 0, target: TargetValue(slot: 0, sizeClass: 0, state: 0, bufferCapture: 0))
        if let other = try targets.keys(as: UInt64.self).first(where: { FilterEntry.index($0) == index }),
           let value = try targets.lookup(other, as: TargetValue.self) {
            try filter.update(index, FilterEntry(key: other, target: value))
        } else {
            try filter.update(index, empty)
        }
    }

    /// Stops recording a ring's keys and frees the ring (what it held is gone).
    func release(slot: UInt32, registry: inout RecorderRegistry) {
        guard let ring = registry.rings.removeValue(forKey: slot) else { return }
        for key in ring.keys { try? removeTarget(key) }
        _ = try? rings[ring.sizeClass].delete(slot)
        if let container = ring.container, registry.rings.values.allSatisfy({ $0.container != container }) {
            registry.containers[container] = nil
        }
    }

    /// The containers with a recording, running or ended.
    public func recorded() throws(SondeError) -> [(container: Container, ended: Bool)] {
        let registry = try store.load()
        return registry.containers.map { key, container in
            (container, registry.rings(of: key).allSatisfy { $0.ended != nil })
        }.sorted { $0.container.name < $1.container.name }
    }

    /// Reads a container's rings as they are now, without stopping the recording.
    public func dump(_ container: Container) throws(SondeError) -> RecorderDump {
        let registry = try store.load()
        var records: [RawRecord] = []
        var losses: [RingLoss] = []
        for ring in registry.rings(of: RecorderRegistry.key(container)) {
            guard let id = try rings[ring.sizeClass].lookup(ring.slot, as: UInt32.self) else { continue }
            let mapped = try MappedArray(try BPFMap.byID(id, name: "ring \(ring.slot)"))
            let (ringRecords, ringLosses) = RingReader(sizeClass: ring.sizeClass).read(mapped)
            records += ringRecords
            losses += ringLosses
        }
        return RecorderDump(records: records, losses: losses,
                            neverReturns: { SyscallTable.x86_64[$0]?.returnBehavior == .never }).symbolized(for: container)
    }

    static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
