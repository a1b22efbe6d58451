import BPFKit
import BPFObjects
import Containers
import Events
import GadgetCatalog
import LinuxKit

/// trace oomkill: the OOM killer choosing a victim in or for the selected containers: the victim's
/// pid, command and memory in pages, and the process whose allocation triggered it (the event's
/// own process) (bpf/oomkill.bpf.c; the record is `struct sonde_oomkill_event` of bpf/oomkill.h).
public struct OOMKillGadget: StreamGadget {
    public init() {}

    public var object: EmbeddedBPFObject { EmbeddedBPF.oomkill }

    // Offsets in struct sonde_oomkill_event (checked against the object's BTF by a test).
    enum Layout {
        static let victimPID = RecordHeader.size
        static let victimTID = victimPID + 4
        static let victimUID = victimTID + 4
        static let victimOOMScoreAdjust = victimUID + 4
        static let victimCgroupID = victimOOMScoreAdjust + 4
        static let totalVM = victimCgroupID + 8
        static let anonRSS = totalVM + 8
        static let fileRSS = anonRSS + 8
        static let shmemRSS = fileRSS + 8
        static let victimComm = shmemRSS + 8
        static let size = victimComm + 16
    }

    public static var about: GadgetDescription { .oomkill }

    public func decode(_ record: BPFRecord, header: RecordHeader) -> [(name: String, value: FieldValue)]? {
        guard record.count >= Layout.size,
              let pid = record.load(Int32.self, at: Layout.victimPID),
              let uid = record.load(UInt32.self, at: Layout.victimUID),
              let adjust = record.load(Int32.self, at: Layout.victimOOMScoreAdjust),
              let cgroup = record.load(UInt64.self, at: Layout.victimCgroupID),
              let total = record.load(UInt64.self, at: Layout.totalVM),
              let anon = record.load(UInt64.self, at: Layout.anonRSS),
              let file = record.load(UInt64.self, at: Layout.fileRSS),
              let shmem = record.load(UInt64.self, at: Layout.shmemRSS) else { return nil }
        return [
            ("victim_pid", .int(Int64(pid))),
            ("victim_comm", .string(record.string(at: Layout.victimComm, capacity: 16))),
            ("victim_uid", .uint(UInt64(uid))),
            ("victim_cgroup_id", .uint(cgroup)),
            ("oom_score_adj", .int(Int64(adjust))),
            ("pages", .uint(anon &+ file &+ shmem)),
            ("total_vm_pages", .uint(total)),
            ("anon_pages", .uint(anon)),
            ("file_pages", .uint(file)),
            ("shmem_pages", .uint(shmem)),
        ]
    }

    public var enrichesEvents: Bool { true }

    /// The victim's container, from its cgroup (the trigger's may differ, or be none).
    public func enrich(_ event: inout Event, containers: ContainerCollection) {
        guard case .uint(let cgroup)? = event.field("victim_cgroup_id") else { return }
        event.fields.append(("victim_container", .string(containers.container(cgroupID: cgroup)?.name ?? "")))
    }
}
