import BPFKit
import BPFObjects
import Events
import GadgetCatalog
import LinuxKit
import Syscalls
import Synchronization

/// trace open: open, openat and openat2 in the selected containers, with the path, the flags
/// (O_RDONLY|O_CLOEXEC), the mode when a file may be created, and the fd or the error
/// (bpf/open.bpf.c; the record is `struct sonde_open_event` of bpf/open.h).
public struct OpenGadget: StreamGadget {
    public init() {}

    public var object: EmbeddedBPFObject { EmbeddedBPF.open }

    // Offsets in struct sonde_open_event (checked against the object's BTF by a test).
    enum Layout {
        static let ret = RecordHeader.size
        static let flags = ret + 8
        static let mode = flags + 8
        static let syscallNumber = mode + 4
        static let dirfd = syscallNumber + 4
        static let eventFlags = dirfd + 4
        static let path = eventFlags + 4
        static let pathCapacity = 256
        static let size = path + pathCapacity
    }

    static let pathTruncated: UInt32 = 1 << 0
    static let pathFault: UInt32 = 1 << 1
    // x86_64 syscall numbers, as the program reports them.
    static let syscallNames: [UInt32: String] = [2: "open", 257: "openat", 437: "openat2"]
    // O_CREAT and O_TMPFILE: the only flags with which the kernel reads the mode.
    static let creatingFlags: UInt64 = 0o100 | 0o20000000

    public static var about: GadgetDescription { .open }

    public func decode(_ record: BPFRecord, header: RecordHeader) -> [(name: String, value: FieldValue)]? {
        guard record.count >= Layout.size,
              let ret = record.load(Int64.self, at: Layout.ret),
              let flags = record.load(UInt64.self, at: Layout.flags),
              let mode = record.load(UInt32.self, at: Layout.mode),
              let number = record.load(UInt32.self, at: Layout.syscallNumber),
              let dirfd = record.load(Int32.self, at: Layout.dirfd),
              let eventFlags = record.load(UInt32.self, at: Layout.eventFlags),
              let syscall = Self.syscallNames[number] else { return nil }
        var path = record.string(at: Layout.path, capacity: Layout.pathCapacity)
        if eventFlags & Self.pathTruncated != 0 { path += "..." }
        if eventFlags & Self.pathFault != 0 { path = "(unreadable)" }
        return [
            ("syscall", .string(syscall)),
            ("fd", .result(ret)),
            ("flags", .string(Self.flagText(flags))),
            ("mode", .string(flags & Self.creatingFlags != 0 ? SymbolText.mode(UInt64(mode)) : "")),
            ("dirfd", .int(Int64(dirfd))),
            ("path", .string(path)),
        ]
    }

    /// The same few flag combinations come back millions of times: remember their text.
    private static let flagCache = FlagTextCache()

    static func flagText(_ flags: UInt64) -> String { flagCache.text(flags) }
}

/// Flag values to their text, bounded; shared by the gadget's (serial) decoder.
final class FlagTextCache: Sendable {
    private let cache = Mutex([UInt64: String]())

    func text(_ flags: UInt64) -> String {
        if let text = cache.withLock({ $0[flags] }) { return text }
        let text = SymbolText.openFlags(flags)
        cache.withLock { cache in
            if cache.count > 1024 { cache.removeAll() } // flags are few; this bounds hostile variety
            cache[flags] = text
        }
        return text
    }
}
