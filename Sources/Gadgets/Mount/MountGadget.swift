import BPFKit
import BPFObjects
import Events
import GadgetCatalog
import LinuxKit
import Syscalls

/// trace mount: mount, umount2 and move_mount in the selected containers, with source, target,
/// filesystem type, flags, options and the result (bpf/mount.bpf.c; the record is
/// `struct sonde_mount_event` of bpf/mount.h).
public struct MountGadget: StreamGadget {
    public init() {}

    public var object: EmbeddedBPFObject { EmbeddedBPF.mount }

    // Offsets in struct sonde_mount_event (checked against the object's BTF by a test).
    enum Layout {
        static let ret = RecordHeader.size
        static let flags = ret + 8
        static let syscallNumber = flags + 8
        static let eventFlags = syscallNumber + 4
        static let source = eventFlags + 4
        static let pathCapacity = 256
        static let target = source + pathCapacity
        static let fstype = target + pathCapacity
        static let fstypeCapacity = 32
        static let data = fstype + fstypeCapacity
        static let dataCapacity = 128
        static let size = data + dataCapacity
    }

    static let sourceTruncated: UInt32 = 1 << 0
    static let targetTruncated: UInt32 = 1 << 1
    static let dataTruncated: UInt32 = 1 << 2
    // x86_64 syscall numbers, as the program reports them.
    static let mount: UInt32 = 165
    static let umount2: UInt32 = 166
    static let moveMount: UInt32 = 429
    /// MOVE_MOUNT_* of include/uapi/linux/mount.h.
    static let moveMountFlags: [(UInt64, String)] = [
        (0x01, "MOVE_MOUNT_F_SYMLINKS"), (0x02, "MOVE_MOUNT_F_AUTOMOUNTS"), (0x04, "MOVE_MOUNT_F_EMPTY_PATH"),
        (0x10, "MOVE_MOUNT_T_SYMLINKS"), (0x20, "MOVE_MOUNT_T_AUTOMOUNTS"), (0x40, "MOVE_MOUNT_T_EMPTY_PATH"),
        (0x100, "MOVE_MOUNT_SET_GROUP"), (0x200, "MOVE_MOUNT_BENEATH"),
    ]

    public static var about: GadgetDescription { .mount }

    public func decode(_ record: BPFRecord, header: RecordHeader) -> [(name: String, value: FieldValue)]? {
        guard record.count >= Layout.size,
              let ret = record.load(Int64.self, at: Layout.ret),
              let flags = record.load(UInt64.self, at: Layout.flags),
              let number = record.load(UInt32.self, at: Layout.syscallNumber),
              let eventFlags = record.load(UInt32.self, at: Layout.eventFlags) else { return nil }
        func text(_ offset: Int, _ capacity: Int, _ truncatedBit: UInt32) -> String {
            let s = record.string(at: offset, capacity: capacity)
            return eventFlags & truncatedBit != 0 ? s + "..." : s
        }
        let syscall: String
        let flagText: String
        switch number {
        case Self.mount:
            syscall = "mount"
            flagText = SymbolText.mountFlags(flags)
        case Self.umount2:
            syscall = "umount2"
            flagText = SymbolText.umountFlags(flags)
        case Self.moveMount:
            syscall = "move_mount"
            flagText = Self.names(flags, Self.moveMountFlags)
        default:
            return nil
        }
        return [
            ("syscall", .string(syscall)),
            ("source", .string(text(Layout.source, Layout.pathCapacity, Self.sourceTruncated))),
            ("target", .string(text(Layout.target, Layout.pathCapacity, Self.targetTruncated))),
            ("fstype", .string(record.string(at: Layout.fstype, capacity: Layout.fstypeCapacity))),
            ("flags", .string(flagText)),
            ("data", .string(number == Self.mount ? text(Layout.data, Layout.dataCapacity, Self.dataTruncated) : "")),
            ("ret", .result(ret)),
        ]
    }

    /// "A|B", unknown bits in hex, "0" for none.
    static func names(_ flags: UInt64, _ table: [(UInt64, String)]) -> String {
        var parts: [String] = []
        var rest = flags
        for (bit, name) in table where flags & bit != 0 {
            parts.append(name)
            rest &= ~bit
        }
        if rest != 0 { parts.append("0x" + String(rest, radix: 16)) }
        return parts.isEmpty ? "0" : parts.joined(separator: "|")
    }
}
