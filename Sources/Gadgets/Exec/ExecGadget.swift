import BPFKit
import BPFObjects
import Events
import GadgetCatalog
import LinuxKit

/// trace exec: execve and execveat in the selected containers, with argv and the result
/// (bpf/exec.bpf.c; the record is `struct sonde_exec_event` of bpf/exec.h).
public struct ExecGadget: StreamGadget {
    public init() {}

    public var object: EmbeddedBPFObject { EmbeddedBPF.exec }

    // Offsets in struct sonde_exec_event (checked against the object's BTF by a test).
    enum Layout {
        static let retval = RecordHeader.size
        static let argsCount = retval + 8
        static let argsSize = argsCount + 4
        static let flags = argsSize + 4
        static let syscallNumber = flags + 4
        static let path = syscallNumber + 4
        static let pathCapacity = 256
        static let args = path + pathCapacity
        static let argsCapacity = 4096
    }

    static let argsTruncated: UInt32 = 1 << 0
    static let pathTruncated: UInt32 = 1 << 1
    // x86_64 syscall numbers.
    static let execveat: UInt32 = 322

    public static var about: GadgetDescription { .exec }

    public func decode(_ record: BPFRecord, header: RecordHeader) -> [(name: String, value: FieldValue)]? {
        guard let retval = record.load(Int64.self, at: Layout.retval),
              let count = record.load(UInt32.self, at: Layout.argsCount),
              let size = record.load(UInt32.self, at: Layout.argsSize),
              let flags = record.load(UInt32.self, at: Layout.flags),
              let number = record.load(UInt32.self, at: Layout.syscallNumber),
              size <= Layout.argsCapacity, record.count >= Layout.args + Int(size) else { return nil }
        let args = Self.splitArguments(record.slice(at: Layout.args, count: Int(size)), count: Int(count))
        var path = record.string(at: Layout.path, capacity: Layout.pathCapacity)
        if flags & Self.pathTruncated != 0 { path += "..." }
        return [
            ("syscall", .string(number == Self.execveat ? "execveat" : "execve")),
            ("ret", .result(retval)),
            ("path", .string(path)),
            ("args", .strings(args, truncated: flags & Self.argsTruncated != 0)),
        ]
    }

    /// argv as the kernel copied it: NUL-separated, the last one possibly cut without its NUL.
    static func splitArguments(_ bytes: ArraySlice<UInt8>, count: Int) -> [String] {
        var args: [String] = []
        var start = bytes.startIndex
        while start < bytes.endIndex && args.count < count {
            let end = bytes[start...].firstIndex(of: 0) ?? bytes.endIndex
            args.append(String(decoding: bytes[start..<end], as: UTF8.self))
            start = end + 1
        }
        return args
    }
}
