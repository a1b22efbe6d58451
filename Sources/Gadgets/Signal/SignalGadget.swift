import BPFKit
import BPFObjects
import Containers
import Events
import GadgetCatalog
import LinuxKit
import Syscalls

/// trace signal: signals sent by processes of the selected containers or to them, with sender,
/// target, signal and what became of it; failed kill/tkill/tgkill calls with their error
/// (bpf/signal.bpf.c; the record is `struct sonde_signal_event` of bpf/signal.h). The event's
/// process and container are the sender's.
public struct SignalGadget: StreamGadget {
    public init() {}

    public var object: EmbeddedBPFObject { EmbeddedBPF.signal }

    // Offsets in struct sonde_signal_event (checked against the object's BTF by a test).
    enum Layout {
        static let error = RecordHeader.size
        static let signal = error + 8
        static let code = signal + 4
        static let targetPID = code + 4
        static let targetTID = targetPID + 4
        static let targetCgroupID = targetTID + 4
        static let group = targetCgroupID + 8
        static let result = group + 4
        static let targetComm = result + 4
        static let size = targetComm + 16
    }

    static let syscallFailed: UInt32 = 100
    /// enum trace_signal_result of the kernel.
    static let results = ["delivered", "ignored", "already_pending", "overflow_fail", "lose_info"]
    /// si_code values a signal_generate event can carry (include/uapi/asm-generic/siginfo.h).
    static let codes: [Int32: String] = [
        0: "SI_USER", 0x80: "SI_KERNEL", -1: "SI_QUEUE", -2: "SI_TIMER", -3: "SI_MESGQ", -4: "SI_ASYNCIO",
        -5: "SI_SIGIO", -6: "SI_TKILL", -7: "SI_DETHREAD", -60: "SI_ASYNCNL",
    ]

    static let sigchld: Int32 = 17
    /// si_code of SIGCHLD: how the child changed.
    static let childCodes: [Int32: String] = [
        1: "CLD_EXITED", 2: "CLD_KILLED", 3: "CLD_DUMPED", 4: "CLD_TRAPPED", 5: "CLD_STOPPED", 6: "CLD_CONTINUED",
    ]

    public static var about: GadgetDescription { .signal }

    public func decode(_ record: BPFRecord, header: RecordHeader) -> [(name: String, value: FieldValue)]? {
        guard record.count >= Layout.size,
              let error = record.load(Int64.self, at: Layout.error),
              let signal = record.load(Int32.self, at: Layout.signal),
              let code = record.load(Int32.self, at: Layout.code),
              let targetPID = record.load(Int32.self, at: Layout.targetPID),
              let targetTID = record.load(Int32.self, at: Layout.targetTID),
              let targetCgroup = record.load(UInt64.self, at: Layout.targetCgroupID),
              let group = record.load(UInt32.self, at: Layout.group),
              let result = record.load(UInt32.self, at: Layout.result) else { return nil }
        let outcome: String
        if result == Self.syscallFailed {
            outcome = Errno(negativeResult: Int64(error)).name
        } else if result < Self.results.count {
            outcome = Self.results[Int(result)]
        } else {
            outcome = String(result)
        }
        return [
            ("signal", .string(SymbolText.signal(Int64(signal)))),
            ("target_pid", .int(Int64(targetPID))),
            ("target_tid", .int(Int64(targetTID))),
            ("target_comm", .string(record.string(at: Layout.targetComm, capacity: 16))),
            ("target_cgroup_id", .uint(targetCgroup)),
            ("code", .string((signal == Self.sigchld && code > 0 ? Self.childCodes[code] : Self.codes[code]) ?? String(code))),
            ("group", .bool(group != 0)),
            ("result", .string(outcome)),
        ]
    }

    public var enrichesEvents: Bool { true }

    /// The target's container, from its cgroup (a host process sending to a container shows none
    /// of its own, but the target's).
    public func enrich(_ event: inout Event, containers: ContainerCollection) {
        guard case .uint(let cgroup)? = event.field("target_cgroup_id") else { return }
        event.fields.append(("target_container", .string(cgroup == 0 ? "" : containers.container(cgroupID: cgroup)?.name ?? "")))
    }
}
