import LinuxKit

/// Which runtime runs a container; `cgroup` stands for a plain cgroup (a systemd service, say).
public struct RuntimeName: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible, CaseIterable {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static let runc = RuntimeName(rawValue: "runc")
    public static let podman = RuntimeName(rawValue: "podman")
    public static let containerd = RuntimeName(rawValue: "containerd")
    public static let cgroup = RuntimeName(rawValue: "cgroup")

    public static let allCases: [RuntimeName] = [.runc, .podman, .containerd, .cgroup]
}

/// The Kubernetes pod a container belongs to, when a CRI runtime ran it.
public struct Pod: Hashable, Sendable, Codable {
    public var name: String
    public var namespace: String
    public var uid: String?
    public var labels: [String: String]

    public init(name: String, namespace: String, uid: String? = nil, labels: [String: String] = [:]) {
        self.name = name
        self.namespace = namespace
        self.uid = uid
        self.labels = labels
    }
}

/// A container (or a plain cgroup traced like one): everything sonde tags events with.
/// Kernel state is keyed by `cgroupID`, the cgroup v2 id its processes report.
public struct Container: Hashable, Sendable, Codable {
    public var runtime: RuntimeName
    public var id: String
    public var name: String
    public var initPID: Int32?
    /// cgroup v2 path relative to the hierarchy root, e.g. "/c1" or "/libpod_parent/libpod-ID".
    public var cgroupPath: String
    public var cgroupID: UInt64
    public var mountNamespaceID: UInt64?
    public var image: String?
    public var bundle: String?
    public var rootfs: String?
    public var labels: [String: String]
    public var annotations: [String: String]
    public var pod: Pod?

    public init(runtime: RuntimeName, id: String, name: String, initPID: Int32? = nil, cgroupPath: String,
                cgroupID: UInt64, mountNamespaceID: UInt64? = nil, image: String? = nil, bundle: String? = nil,
                rootfs: String? = nil, labels: [String: String] = [:], annotations: [String: String] = [:],
                pod: Pod? = nil) {
        self.runtime = runtime
        self.id = id
        self.name = name
        self.initPID = initPID
        self.cgroupPath = cgroupPath
        self.cgroupID = cgroupID
        self.mountNamespaceID = mountNamespaceID
        self.image = image
        self.bundle = bundle
        self.rootfs = rootfs
        self.labels = labels
        self.annotations = annotations
        self.pod = pod
    }

    /// Whether a cgroup path lies in this container's cgroup (containers may nest cgroups of their own).
    public func contains(cgroupPath path: String) -> Bool {
        path == cgroupPath || path.hasPrefix(cgroupPath == "/" ? "/" : cgroupPath + "/")
    }
}

/// Something that can list the containers of one runtime.
public protocol ContainerSource: Sendable {
    var runtime: RuntimeName { get }
    /// The containers running now. Entries that cannot be read (a container exiting meanwhile,
    /// a malformed state file) are skipped and reported through `problems`.
    func containers(cgroups: CgroupV2, problems: inout [String]) -> [Container]
}
