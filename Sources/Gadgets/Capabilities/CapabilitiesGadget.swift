import BPFKit
import BPFObjects
import Events
import GadgetCatalog
import LinuxKit
import Syscalls

/// trace capabilities: the capability checks made for processes of the selected containers, with
/// the capability, the verdict, the user namespace and the syscall that needed it
/// (bpf/capabilities.bpf.c; the record is `struct sonde_capability_event` of bpf/capabilities.h).
/// The kernel's tracepoint does not say whether a check is audited (see the BPF file): there is
/// no audit field.
public struct CapabilitiesGadget: StreamGadget {
    public init() {}

    public var object: EmbeddedBPFObject { EmbeddedBPF.capabilities }

    // Offsets in struct sonde_capability_event (checked against the object's BTF by a test).
    enum Layout {
        static let capability = RecordHeader.size
        static let ret = capability + 4
        static let syscallNumber = ret + 4
        static let targetUserNamespace = syscallNumber + 8
        static let capableUserNamespace = targetUserNamespace + 8
        static let inInitUserNamespace = capableUserNamespace + 8
        static let size = inInitUserNamespace + 8
    }

    public static var about: GadgetDescription { .capabilities }

    public func decode(_ record: BPFRecord, header: RecordHeader) -> [(name: String, value: FieldValue)]? {
        guard record.count >= Layout.size,
              let capability = record.load(Int32.self, at: Layout.capability),
              let ret = record.load(Int32.self, at: Layout.ret),
              let number = record.load(Int64.self, at: Layout.syscallNumber),
              let userNamespace = record.load(UInt64.self, at: Layout.targetUserNamespace),
              let initial = record.load(UInt32.self, at: Layout.inInitUserNamespace) else { return nil }
        let syscall = number < 0 ? "" : (SyscallTable.x86_64[Int(number)]?.name ?? "syscall_\(number)")
        return [
            ("cap", .string(SymbolText.capability(Int64(capability)))),
            ("verdict", .string(ret == 0 ? "allow" : "deny")),
            ("ret", .result(Int64(ret))),
            ("syscall", .string(syscall)),
            ("userns", .uint(userNamespace)),
            ("init_userns", .bool(initial != 0)),
        ]
    }
}
