import BPFObjects
import CLibbpf
import Foundation
import LinuxKit

/// The node's syscall dispatcher (bpf/dispatch.bpf.c, ABI in bpf/include/sonde/dispatch.h): one
/// sys_enter/sys_exit program pair shared by every sonde process, which tail-calls the consumers
/// (the recorder, syscall metrics, advise, start-up timelines) that want the calling task's
/// cgroup. A process that no consumer wants pays the dispatcher's cached "no" once, however many
/// consumers run.
///
/// Its maps and links are pinned under `pinDirectory`; `stateDirectory` holds the slot table (who
/// owns which consumer slot) and the lock every change takes. The first consumer to join loads
/// it; the last to leave unpins it, so nothing stays attached when no consumer runs. A consumer
/// whose process died is evicted by the next join or leave.
public enum SyscallDispatcher {
    public struct Location: Sendable, Equatable {
        public var pinDirectory: String
        public var stateDirectory: String

        public init(pinDirectory: String = "/sys/fs/bpf/sonde/dispatch", stateDirectory: String = "/run/sonde/dispatch") {
            self.pinDirectory = pinDirectory
            self.stateDirectory = stateDirectory
        }
    }

    /// What keeps a consumer slot alive.
    public enum Owner: Codable, Sendable, Equatable {
        /// A process (identified by pid and start time, so a reused pid does not count).
        case process(pid: Int32, startTime: UInt64)
        /// Something pinned that outlives processes (the recorder): alive while the path exists.
        case pin(String)

        /// The calling process.
        public static var current: Owner { .process(pid: getpid(), startTime: ProcessStartTime.of(getpid()) ?? 0) }

        var isAlive: Bool {
            switch self {
            case .process(let pid, let startTime): return ProcessStartTime.of(pid) == startTime
            case .pin(let path): return Files.exists(path)
            }
        }
    }

    static let slots = 16
    /// Entries of the interest array (SONDE_DISPATCH_FILTER_SIZE).
    static let filterSize = 65536
    /// Maps every consumer object shares with the dispatcher (declared in sonde/dispatch.h).
    static let sharedMaps = ["sonde_dispatch_interest", "sonde_dispatch_overflow", "sonde_dispatch_config",
                             "sonde_dispatch_context", "sonde_dispatch_enter_progs", "sonde_dispatch_exit_progs"]
    static let enterLink = "link_sonde_sys_enter"

    struct SlotTable: Codable {
        struct Entry: Codable {
            var name: String
            var owner: Owner
        }
        var slots: [Int: Entry] = [:]
    }

    /// Joins the dispatcher as consumer `name` (loading and attaching the dispatcher if none runs),
    /// or finds the slot `owner` already holds (a pinned recorder joined by a later process).
    public static func join(name: String, owner: Owner, location: Location = Location()) throws(SondeError) -> DispatchConsumer {
        try withLock(location) { table throws(SondeError) in
            try evictDead(&table, location: location)
            if let (slot, _) = table.slots.first(where: { $0.value.owner == owner && $0.value.name == name }) {
                return try DispatchConsumer(slot: slot, name: name, location: location, isNew: false)
            }
            guard let slot = (0..<slots).first(where: { table.slots[$0] == nil }) else {
                let names = table.slots.values.map(\.name).sorted().joined(separator: ", ")
                throw SondeError(.invalidArgument, "the syscall dispatcher has no free consumer slot (\(slots) in use: \(names))",
                                 hint: "end some of the sonde gadgets or sessions that trace syscalls")
            }
            try startIfNeeded(location)
            table.slots[slot] = .init(name: name, owner: owner)
            return try DispatchConsumer(slot: slot, name: name, location: location, isNew: true)
        }
    }

    /// Frees the slot `owner` holds as `name`, if any (a recorder being stopped by any process).
    public static func leave(name: String, owner: Owner, location: Location = Location()) throws(SondeError) {
        try withLock(location) { table throws(SondeError) in
            guard let (slot, _) = table.slots.first(where: { $0.value.owner == owner && $0.value.name == name }) else { return }
            if isRunning(location) { try DispatchConsumer(slot: slot, name: name, location: location).clear() }
            table.slots[slot] = nil
        }
    }

    /// Whether the dispatcher's programs are attached.
    public static func isRunning(_ location: Location = Location()) -> Bool {
        Files.exists(location.pinDirectory + "/" + enterLink)
    }

    /// The consumers that hold a slot: (slot, name).
    public static func consumers(_ location: Location = Location()) -> [(slot: Int, name: String)] {
        guard let table = try? loadTable(location) else { return [] }
        return table.slots.map { ($0.key, $0.value.name) }.sorted { $0.slot < $1.slot }
    }

    // MARK: the table and its lock

    static func withLock<T>(_ location: Location, _ body: (inout SlotTable) throws(SondeError) -> T) throws(SondeError) -> T {
        try FileManager.default.createDirectory(atPathOrThrow: location.stateDirectory)
        let path = location.stateDirectory + "/lock"
        let lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw SondeError.system("cannot open \(path)", Errno.current) }
        defer { close(lock) }
        try systemCall("lock \(path)") { flock(lock, LOCK_EX) }
        var table = try loadTable(location)
        let result = try body(&table)
        if table.slots.isEmpty {
            // The last consumer left: nothing may stay attached.
            stop(location)
            unlink(tablePath(location))
        } else {
            try saveTable(table, location)
        }
        return result
    }

    static func tablePath(_ location: Location) -> String { location.stateDirectory + "/slots.json" }

    static func loadTable(_ location: Location) throws(SondeError) -> SlotTable {
        let path = tablePath(location)
        guard Files.exists(path) else { return SlotTable() }
        do {
            return try JSONDecoder().decode(SlotTable.self, from: try Files.readData(path))
        } catch let error as SondeError {
            throw error
        } catch {
            throw SondeError(.malformedInput, "the syscall dispatcher's slot table \(path) is damaged: \(error)",
                             hint: "remove \(location.stateDirectory) and \(location.pinDirectory) while no sonde runs")
        }
    }

    static func saveTable(_ table: SlotTable, _ location: Location) throws(SondeError) {
        do {
            try Files.writePrivate(tablePath(location), Array(try JSONEncoder().encode(table)))
        } catch let error as SondeError {
            throw error
        } catch {
            throw SondeError(.system, "cannot encode the dispatcher's slot table: \(error)")
        }
    }

    /// Frees the slots of consumers that are gone (a gadget killed with SIGKILL, a recorder whose
    /// pins were removed by hand): their programs leave the arrays and their interest is cleared.
    static func evictDead(_ table: inout SlotTable, location: Location) throws(SondeError) {
        guard isRunning(location) else {
            table.slots = [:] // unpinned by hand: nobody holds a slot
            return
        }
        for (slot, entry) in table.slots where !entry.owner.isAlive {
            try DispatchConsumer(slot: slot, name: entry.name, location: location).clear()
            table.slots[slot] = nil
        }
    }

    // MARK: the programs

    private static func startIfNeeded(_ location: Location) throws(SondeError) {
        if isRunning(location) { return }
        try KernelFilesystems.ensureBPFFS()
        let dir = location.pinDirectory
        try FileManager.default.createDirectory(atPathOrThrow: dir)
        BPFObject.removePins(in: dir) // left by a dispatcher that died before pinning its links
        let object = try BPFObject(name: "dispatch", bytes: EmbeddedBPF.dispatch.bytes)
        let v1Pids = (try? CgroupV2.find())?.isUnified == false
        try object.setConstant("key_by_v1_pids", to: UInt8(v1Pids ? 1 : 0))
        for name in sharedMaps { try object.setPinPath(map: name, dir + "/" + name) }
        try object.load()
        try object.map("sonde_dispatch_config").update(UInt32(0), ConfigValue(generation: 1, moved: 0, allMask: 0, enterMask: 0))
        try object.attachAll()
        try object.pinLinks(in: dir)
    }

    static func stop(_ location: Location) {
        BPFObject.removePins(in: location.pinDirectory)
        rmdir(location.pinDirectory)
    }


    /// struct sonde_dispatch_config.
    struct ConfigValue: BitwiseCopyable {
        var generation: UInt32
        var moved: UInt32
        var allMask: UInt64
        var enterMask: UInt64
    }
}

/// The programs of an object that the dispatcher calls on sys_enter and sys_exit (by name).
public struct DispatchedPrograms: Sendable, Equatable {
    public var enter: String?
    public var exit: String?

    public init(enter: String?, exit: String?) {
        self.enter = enter
        self.exit = exit
    }

    /// Not to be attached: the dispatcher tail-calls them.
    public var names: Set<String> { Set([enter, exit].compactMap { $0 }) }
}

/// One consumer's slot in the syscall dispatcher: prepares its object (slot constant, shared maps),
/// puts its programs in the dispatcher's arrays, and says which cgroups it wants.
public final class DispatchConsumer: @unchecked Sendable {
    public let slot: Int
    public let name: String
    public let location: SyscallDispatcher.Location
    /// The slot was free before this join (a new dispatcher, or the owner's first join): the
    /// arrays hold no program of this consumer and no cgroup wants it yet.
    public let isNew: Bool
    private let interest: MappedArray
    private let config: MappedArray
    private let overflow: BPFMap
    private let enterPrograms: BPFMap
    private let exitPrograms: BPFMap

    var bit: UInt64 { 1 << UInt64(slot) }

    init(slot: Int, name: String, location: SyscallDispatcher.Location, isNew: Bool = false) throws(SondeError) {
        self.slot = slot
        self.name = name
        self.location = location
        self.isNew = isNew
        let dir = location.pinDirectory
        interest = try MappedArray(try BPFMap.pinned(at: dir + "/sonde_dispatch_interest"), writable: true)
        let configMap = try BPFMap.pinned(at: dir + "/sonde_dispatch_config")
        // A dispatcher pinned by another version of sonde (a recorder left running across an
        // upgrade) has other maps: its consumers could not share them.
        guard configMap.valueSize == MemoryLayout<SyscallDispatcher.ConfigValue>.size else {
            throw SondeError(.bpfLoadFailed, "the syscall dispatcher pinned at \(dir) is another sonde version's (its config has "
                             + "\(configMap.valueSize) bytes, this one \(MemoryLayout<SyscallDispatcher.ConfigValue>.size)): "
                             + "stop what uses it (sonde record stop, the daemon, gadgets) and start again")
        }
        config = try MappedArray(configMap, writable: true)
        overflow = try BPFMap.pinned(at: dir + "/sonde_dispatch_overflow")
        enterPrograms = try BPFMap.pinned(at: dir + "/sonde_dispatch_enter_progs")
        exitPrograms = try BPFMap.pinned(at: dir + "/sonde_dispatch_exit_progs")
    }

    /// Before load: the consumer's slot, and the dispatcher's maps reused from their pins.
    public func prepare(_ object: BPFObject) throws(SondeError) {
        try object.setConstant("sonde_dispatch_slot", to: UInt32(slot))
        let present = Set(object.mapNames)
        for map in SyscallDispatcher.sharedMaps where present.contains(map) {
            try object.setPinPath(map: map, location.pinDirectory + "/" + map)
        }
    }

    /// After load: the dispatcher starts calling `enter` and `exit` (program names) for the
    /// cgroups this consumer wants. The programs stay in the arrays until `leave()`.
    public func install(_ object: BPFObject, _ programs: DispatchedPrograms) throws(SondeError) {
        if let enter = programs.enter {
            try enterPrograms.update(UInt32(slot), UInt32(bitPattern: try object.programFileDescriptor(enter)))
            // Tasks whose entries were cached as wanted by nobody may be wanted now.
            if sonde_atomic_or64(config.word(0, offset: 16), bit) & bit == 0 { bumpGeneration() }
        }
        if let exit = programs.exit {
            try exitPrograms.update(UInt32(slot), UInt32(bitPattern: try object.programFileDescriptor(exit)))
        }
    }

    /// Calls of the cgroup `key` go to this consumer from now on.
    public func want(_ key: UInt64) throws(SondeError) {
        let index = Int(key & UInt64(SyscallDispatcher.filterSize - 1))
        let owner = sonde_atomic_cas64(interest.word(index), 0, key)
        let before: UInt64
        if owner == 0 || owner == key {
            before = sonde_atomic_or64(interest.word(index, offset: 8), bit)
        } else {
            // Another live cgroup holds the entry: the dispatcher looks in the overflow hash.
            before = (try overflow.lookup(key, as: UInt64.self)) ?? 0
            try overflow.update(key, before | bit)
        }
        // Only new interest makes cached answers wrong: a bump for nothing would send every task
        // of the node through a full lookup again.
        if before & bit == 0 { bumpGeneration() }
    }

    /// Calls of the cgroup `key` no longer come to this consumer.
    public func unwant(_ key: UInt64) throws(SondeError) {
        let index = Int(key & UInt64(SyscallDispatcher.filterSize - 1))
        if sonde_atomic_load64(interest.word(index)) == key {
            _ = sonde_atomic_and64(interest.word(index, offset: 8), ~bit)
        } else if let mask = try overflow.lookup(key, as: UInt64.self) {
            try overflow.update(key, mask & ~bit)
        }
    }

    /// Every task of the node comes to this consumer (host-wide gadgets, a recorder keyed by
    /// mount namespace), or no longer does.
    public func wantEverything(_ on: Bool) {
        let word = config.word(0, offset: 8)
        if on { _ = sonde_atomic_or64(word, bit) } else { _ = sonde_atomic_and64(word, ~bit) }
        bumpGeneration()
    }

    /// Makes the dispatcher's cached "nobody wants this task" answers stale: called after interest
    /// is added for a cgroup that may already have tasks. The interest is stored first, and the
    /// dispatcher reads the generation before the interest, so no answer outlives the change.
    func bumpGeneration() {
        let raw = UnsafeMutableRawPointer(config.word(0))
        _ = sonde_atomic_add32(raw.assumingMemoryBound(to: UInt32.self), 1)
    }

    /// Stops being called and frees the slot; the last consumer to leave detaches the dispatcher.
    public func leave() throws(SondeError) {
        try SyscallDispatcher.withLock(location) { table throws(SondeError) in
            try clear()
            table.slots[slot] = nil
        }
    }

    /// Takes the programs out of the arrays and this slot's bit out of every cgroup's interest.
    func clear() throws(SondeError) {
        _ = try? enterPrograms.delete(UInt32(slot))
        _ = try? exitPrograms.delete(UInt32(slot))
        _ = sonde_atomic_and64(config.word(0, offset: 8), ~bit)
        _ = sonde_atomic_and64(config.word(0, offset: 16), ~bit)
        for index in 0..<SyscallDispatcher.filterSize where sonde_atomic_load64(interest.word(index, offset: 8)) & bit != 0 {
            _ = sonde_atomic_and64(interest.word(index, offset: 8), ~bit)
        }
        for key in try overflow.keys(as: UInt64.self) {
            guard let mask = try overflow.lookup(key, as: UInt64.self), mask & bit != 0 else { continue }
            try overflow.update(key, mask & ~bit)
        }
    }
}
