import CLibbpf
import LinuxKit
#if canImport(Glibc)
import Glibc
#endif

/// What the running kernel offers, read from its BTF (/sys/kernel/btf/vmlinux) before a load, so
/// that a hook or an argument the kernel lacks is said plainly instead of as a verifier rejection.
public enum KernelBTF {
    /// The oldest kernel sonde supports: the oldest the kernel-matrix lane runs on (docs/kernels.md).
    public static let oldestSupported = (major: 6, minor: 1)

    /// The running kernel's release (uname -r).
    public static var release: String {
        var name = utsname()
        guard uname(&name) == 0 else { return "unknown" }
        return withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }

    /// Major and minor of the running kernel's release, nil if it does not parse.
    public static var version: (major: Int, minor: Int)? {
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return parts.count == 2 ? (parts[0], parts[1]) : nil
    }

    /// Whether the running kernel is older than the oldest supported one.
    public static var isOlderThanSupported: Bool {
        guard let version else { return false }
        return (version.major, version.minor) < (oldestSupported.major, oldestSupported.minor)
    }

    /// The BTF tracepoints of the running kernel (what tp_btf/NAME attaches to) with the number of
    /// arguments each passes. The kernel describes each as `typedef void (*btf_trace_NAME)(void *,
    /// args...)`; the first parameter is the probe's data, not an argument. Read once.
    public static let tracepoints: [String: Int] = {
        guard let btf = btf__load_vmlinux_btf() else { return [:] }
        defer { btf__free(btf) }
        let prefix = "btf_trace_"
        var result: [String: Int] = [:]
        let count = btf__type_cnt(btf)
        for id in 1..<count {
            guard let type = btf__type_by_id(btf, id), kind(type) == kindTypedef,
                  let cname = btf__name_by_offset(btf, type.pointee.name_off) else { continue }
            let name = String(cString: cname)
            guard name.hasPrefix(prefix),
                  let pointer = btf__type_by_id(btf, type.pointee.type), kind(pointer) == kindPointer,
                  let proto = btf__type_by_id(btf, pointer.pointee.type), kind(proto) == kindFunctionPrototype
            else { continue }
            result[String(name.dropFirst(prefix.count))] = max(Int(proto.pointee.info & 0xffff) - 1, 0)
        }
        return result
    }()

    // BTF_KIND_* of linux/btf.h (imported twice, so ambiguous in Swift).
    private static let kindPointer: UInt32 = 2, kindTypedef: UInt32 = 8, kindFunctionPrototype: UInt32 = 13

    private static func kind(_ type: UnsafePointer<btf_type>) -> UInt32 { (type.pointee.info >> 24) & 0x1f }

    /// Whether tracefs lists the tracepoint CATEGORY/NAME (what tracepoint/CATEGORY/NAME attaches
    /// to); nil when tracefs is not mounted, so nothing can be told.
    public static func hasTracefsEvent(_ path: String) -> Bool? {
        let events = KernelFilesystems.tracefsPath + "/events"
        guard Files.exists(events) else { return nil }
        return Files.exists(events + "/" + path)
    }
}
