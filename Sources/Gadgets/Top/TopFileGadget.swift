import BPFKit
import BPFObjects
import Events
import GadgetCatalog
import LinuxKit
import Synchronization

/// top file: reads, writes and bytes per file per process (bpf/topfile.bpf.c; the map's key and
/// value are `struct sonde_topfile_key` / `sonde_topfile_value` of bpf/topfile.h).
public final class TopFileGadget: TopGadget {
    /// false: regular files only (what "files" usually means); true: pipes, sockets, devices too.
    public let allFiles: Bool

    public init(allFiles: Bool = false) {
        self.allFiles = allFiles
    }

    public let name = "topfile"
    public var object: EmbeddedBPFObject { EmbeddedBPF.topfile }
    public let defaultSort = ["-rbytes", "-wbytes", "-reads", "-writes"]

    public static var catalog: FieldCatalog { GadgetDescription.topFile.catalog }
    public var catalog: FieldCatalog { Self.catalog }

    struct Key: BitwiseCopyable {
        var cgroupID: UInt64 = 0
        var dev: UInt64 = 0
        var inode: UInt64 = 0
        var pid: UInt32 = 0
        var reserved: UInt32 = 0
    }

    struct Value: BitwiseCopyable {
        var reads: UInt64
        var writes: UInt64
        var readBytes: UInt64
        var writeBytes: UInt64
        var mountNamespaceID: UInt64
        var tid: UInt32
        var ppid: UInt32
        var uid: UInt32
        var gid: UInt32
        var mode: UInt32
        var reserved: UInt32
        var comm: (UInt64, UInt64)
        var name: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
    }

    private let stats = Mutex<BPFMap?>(nil)

    public func configure(_ object: BPFObject) throws(SondeError) {
        try object.setConstant("topfile_all_files", to: UInt8(allFiles ? 1 : 0))
    }

    public func loaded(_ object: BPFObject) throws(SondeError) {
        let stats = try object.map("topfile_stats")
        guard stats.keySize == MemoryLayout<Key>.size, stats.valueSize == MemoryLayout<Value>.size else {
            throw SondeError(.bpfLoadFailed, "topfile_stats has \(stats.keySize)/\(stats.valueSize)-byte entries, sonde reads \(MemoryLayout<Key>.size)/\(MemoryLayout<Value>.size)")
        }
        self.stats.withLock { $0 = stats }
    }

    public func collect(now: Int64) throws(SondeError) -> [Event] {
        guard let stats = stats.withLock({ $0 }) else { return [] }
        return try stats.drain(keys: Key.self, values: Value.self).map { key, value in
            Event(timestamp: now, source: name,
                  process: ProcessRef(pid: Int32(bitPattern: key.pid), tid: Int32(bitPattern: value.tid),
                                      ppid: Int32(bitPattern: value.ppid), uid: value.uid, gid: value.gid,
                                      comm: Self.text(value.comm)),
                  cgroupID: key.cgroupID, mountNamespaceID: value.mountNamespaceID, fields: [
                    ("file", .string(Self.text(value.name))), ("type", .string(Self.type(mode: value.mode))),
                    ("reads", .uint(value.reads)), ("writes", .uint(value.writes)),
                    ("rbytes", .uint(value.readBytes)), ("wbytes", .uint(value.writeBytes)),
                    ("inode", .uint(key.inode)), ("dev", .uint(key.dev)),
                  ])
        }
    }

    /// The file type letter of an i_mode.
    static func type(mode: UInt32) -> String {
        switch mode & 0o170000 {
        case 0o100000: return "R"
        case 0o140000: return "S"
        case 0o010000: return "P"
        case 0o020000: return "C"
        case 0o060000: return "B"
        default: return "O"
        }
    }

    /// A NUL-terminated char array of the kernel's, as text.
    static func text<T: BitwiseCopyable>(_ chars: T) -> String {
        withUnsafeBytes(of: chars) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
