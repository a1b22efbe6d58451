import BPFKit
import BPFObjects
import Containers
import Events
import GadgetCatalog
import Foundation
import LinuxKit
import Synchronization
import Syscalls

/// advise seccomp-profile: records which syscalls each selected container makes and turns them into
/// an OCI seccomp profile (bpf/advise.bpf.c; records are `struct sonde_advise_event` of bpf/advise.h).
///
/// The kernel keeps one syscall set per cgroup (`advise_syscalls`); a record goes out only the first
/// time a cgroup makes a syscall, so user space learns whose cgroup it is (through GadgetSession's
/// resolution of new cgroups). The profile is the union of the records and the kernel's sets of the
/// container's cgroups, so a record lost to a full ring buffer loses no syscall.
public final class SeccompAdvisor: Gadget {
    public init() {}

    public let name = "seccomp-profile"
    public var dispatchedPrograms: DispatchedPrograms? { DispatchedPrograms(enter: "sonde_advise_enter", exit: nil) }
    public var object: EmbeddedBPFObject { EmbeddedBPF.advise }

    enum Layout {
        static let syscallNumber = RecordHeader.size
        static let size = syscallNumber + 8
        /// SONDE_ADVISE_MAX_SYSCALLS / 64
        static let words = 16
    }
    static let kind: UInt32 = 48 // SONDE_KIND_ADVISE_SYSCALL

    /// `struct sonde_syscall_set`: one bit per syscall number.
    struct SyscallSet: BitwiseCopyable {
        var bits: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                   UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
            = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

        var numbers: Set<Int> {
            var result = Set<Int>()
            withUnsafeBytes(of: bits) { raw in
                for word in 0..<Layout.words {
                    let value = raw.load(fromByteOffset: word * 8, as: UInt64.self)
                    for bit in 0..<64 where value & (1 << UInt64(bit)) != 0 { result.insert(word * 64 + bit) }
                }
            }
            return result
        }
    }

    /// What was recorded for one container.
    public struct Recording: Sendable {
        public var container: Container
        public var cgroupIDs: Set<UInt64> = []
        public var numbers: Set<Int> = []
    }

    /// Calls that could not go into an x86_64 profile.
    public struct Skipped: Sendable, Equatable {
        public var compat: UInt64 = 0
        public var outOfRange: UInt64 = 0
        public var mapFull: UInt64 = 0
    }

    struct Maps {
        var syscalls: BPFMap?
        var skipped: BPFMap?
        var selection: BPFMap?
    }
    private let maps = Mutex(Maps())
    private let recorded = Mutex([String: Recording]())

    public static var catalog: FieldCatalog { GadgetDescription.seccompProfile.catalog }
    public var catalog: FieldCatalog { Self.catalog }

    public func loaded(_ object: BPFObject) throws(SondeError) {
        let syscalls = try object.map("advise_syscalls")
        let skipped = try object.map("advise_skipped")
        guard syscalls.valueSize == MemoryLayout<SyscallSet>.size else {
            throw SondeError(.bpfLoadFailed, "advise_syscalls holds \(syscalls.valueSize)-byte sets, sonde reads \(MemoryLayout<SyscallSet>.size)")
        }
        let selection = try object.map("sonde_cgroups")
        maps.withLock { $0 = Maps(syscalls: syscalls, skipped: skipped, selection: selection) }
    }

    public func decode(_ record: BPFRecord, header: RecordHeader) -> [(name: String, value: FieldValue)]? {
        guard header.kind == Self.kind, record.count >= Layout.size,
              let number = record.load(UInt32.self, at: Layout.syscallNumber) else { return nil }
        return [
            ("syscall", .string(SyscallTable.x86_64[Int(number)]?.name ?? "syscall_\(number)")),
            ("nr", .uint(UInt64(number))),
        ]
    }

    /// Takes one event of this gadget (first use of a syscall by a cgroup); events of host
    /// processes (no container) are not part of any profile.
    public func record(_ event: Event) {
        guard let container = event.container, case .uint(let number)? = event.field("nr") else { return }
        recorded.withLock { all in
            let key = Self.key(container)
            all[key, default: Recording(container: container)].cgroupIDs.insert(event.cgroupID)
            all[key]!.numbers.insert(Int(number))
        }
    }

    static func key(_ c: Container) -> String { c.runtime.rawValue + "/" + c.id }

    /// Every container seen so far with everything it called: the records joined with the
    /// kernel's sets of its cgroups (which also hold calls whose record was lost).
    public func recordings() -> [Recording] {
        let syscallMap = maps.withLock { $0.syscalls }
        return recorded.withLock { Array($0.values) }.map { recording in
            var recording = recording
            for id in recording.cgroupIDs {
                if let set = try? syscallMap?.lookup(id, as: SyscallSet.self) {
                    recording.numbers.formUnion(set.numbers)
                }
            }
            return recording
        }.sorted { ($0.container.name, $0.container.id) < ($1.container.name, $1.container.id) }
    }

    public func recording(of container: Container) -> Recording? {
        recordings().first { Self.key($0.container) == Self.key(container) }
    }

    public func skipped() -> Skipped {
        guard let map = maps.withLock({ $0.skipped }) else { return Skipped() }
        func count(_ index: UInt32) -> UInt64 { ((try? map.lookupPerCPU(index, as: UInt64.self)) ?? []).reduce(0, +) }
        return Skipped(compat: count(0), outOfRange: count(1), mapFull: count(2))
    }

    /// Drops the kernel's sets of cgroups that no container recorded here owns and that the kernel
    /// no longer selects (other cgroups made while recording, judged not of interest), so the map
    /// does not fill up on a busy host.
    public func forgetUnselected() {
        let (syscalls, selection) = maps.withLock { ($0.syscalls, $0.selection) }
        guard let map = syscalls, let selection, let selectedIDs = try? selection.keys(as: UInt64.self) else { return }
        let selected = Set(selectedIDs)
        let owned = recorded.withLock { Set($0.values.flatMap(\.cgroupIDs)) }
        for id in (try? map.keys(as: UInt64.self)) ?? [] where !owned.contains(id) && !selected.contains(id) {
            _ = try? map.delete(id)
        }
    }
}

/// An OCI seccomp profile (runtime-spec `linux.seccomp`) that allows a list of syscalls and makes
/// every other one fail with EPERM.
public struct SeccompProfile: Codable, Equatable, Sendable {
    public struct Rule: Codable, Equatable, Sendable {
        public var names: [String]
        public var action: String
    }

    public var defaultAction = "SCMP_ACT_ERRNO"
    /// EPERM: what a forbidden call returns, and what programs report as "Operation not permitted".
    public var defaultErrnoRet: UInt32 = 1
    /// The 32-bit and x32 ABIs are listed so libseccomp builds their branches of the filter: their
    /// calls are checked against the same names, and anything else they try is refused.
    public var architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    public var syscalls: [Rule]

    /// Syscall numbers not in the x86_64 table (none expected; reported rather than dropped silently).
    public private(set) var unknownNumbers: [Int] = []

    enum CodingKeys: String, CodingKey { case defaultAction, defaultErrnoRet, architectures, syscalls }

    /// The profile allowing exactly these x86_64 syscall numbers.
    public init(allowing numbers: Set<Int>, table: SyscallTable = .x86_64) {
        var names: [String] = []
        for number in numbers.sorted() {
            if let name = table[number]?.name { names.append(name) } else { unknownNumbers.append(number) }
        }
        syscalls = names.isEmpty ? [] : [Rule(names: names.sorted(), action: "SCMP_ACT_ALLOW")]
    }

    public var allowedNames: [String] { syscalls.flatMap(\.names) }

    /// Pretty-printed JSON, keys sorted.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

extension Container {
    /// True once no process is left in the container's cgroup (or the cgroup is gone): the cgroup
    /// v2 `cgroup.events` file says `populated 0`.
    public func hasExited(cgroups: CgroupV2) -> Bool {
        guard let text = try? Files.readText(cgroups.directory(of: cgroupPath) + "/cgroup.events") else { return true }
        return text.split(separator: "\n").contains("populated 0")
    }
}
