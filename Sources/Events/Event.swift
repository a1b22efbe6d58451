import Containers
import LinuxKit

/// The process an event happened to.
public struct ProcessRef: Sendable, Hashable {
    public var pid: Int32
    public var tid: Int32
    public var ppid: Int32
    public var uid: UInt32
    public var gid: UInt32
    public var comm: String

    public init(pid: Int32, tid: Int32, ppid: Int32, uid: UInt32, gid: UInt32, comm: String) {
        self.pid = pid
        self.tid = tid
        self.ppid = ppid
        self.uid = uid
        self.gid = gid
        self.comm = comm
    }
}

/// A typed field value; renderers format by type (an errno result prints as ENOENT, say).
public enum FieldValue: Sendable, Hashable {
    case int(Int64)
    case uint(UInt64)
    case string(String)
    /// A list (argv); `truncated` marks a list cut at sonde's bound.
    case strings([String], truncated: Bool)
    /// A syscall result: >= 0 is success, negative is -errno.
    case result(Int64)
    case bool(Bool)
}

/// Everything that happens, in one shape: what happened (`source` plus `fields`), to which process,
/// in which container, and when. Gadgets, the recorder and the supervisor all produce it, so the
/// same filters and renderers serve all of them.
public struct Event: Sendable {
    /// Nanoseconds since the Unix epoch.
    public var timestamp: Int64
    /// What produced it: "exec", "open", ...
    public var source: String
    public var process: ProcessRef
    public var cgroupID: UInt64
    public var mountNamespaceID: UInt64
    /// nil for host processes (with --host).
    public var container: Container?
    /// Gadget-specific fields, in display order.
    public var fields: [(name: String, value: FieldValue)]

    public init(timestamp: Int64, source: String, process: ProcessRef, cgroupID: UInt64, mountNamespaceID: UInt64,
                container: Container? = nil, fields: [(name: String, value: FieldValue)] = []) {
        self.timestamp = timestamp
        self.source = source
        self.process = process
        self.cgroupID = cgroupID
        self.mountNamespaceID = mountNamespaceID
        self.container = container
        self.fields = fields
    }

    public func field(_ name: String) -> FieldValue? {
        fields.first { $0.name == name }?.value
    }
}
