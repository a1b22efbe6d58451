import Foundation
import LinuxKit

/// Containers run by containerd, including Kubernetes pods run through its CRI plugin.
///
/// containerd's runc shim keeps runc state under `RUNC_ROOT/NAMESPACE/ID/state.json`; that gives the
/// cgroup, init pid and OCI annotations, and for CRI containers the pod's name, namespace and uid
/// and the Kubernetes container name (io.kubernetes.cri.* annotations). What runc does not know comes
/// from `ctr containers info`, asked once per container: the containerd labels and image, and the
/// CRI plugin's own record of the container or pod (labels and annotations as Kubernetes gave them).
/// A pod's labels are on its sandbox container, so they come from the sandbox's record.
public struct ContainerdSource: ContainerSource {
    public let runtime = RuntimeName.containerd
    /// runc's root as containerd's shim uses it (runc option `Root`; /run/containerd/runc unless set).
    public let runcRoot: String
    /// containerd's gRPC socket, for ctr.
    public let address: String
    /// Whether pod sandboxes (the "pause" container holding a pod's namespaces) are listed too.
    public let includeSandboxes: Bool
    let run: ExternalCommand.Runner
    let records = MetadataCache<ContainerdRecord>()

    /// - Parameters:
    ///   - ctr: the ctr executable, a path or a name looked up in PATH.
    ///   - timeout: how long one `ctr containers info` may take before it is killed.
    public init(runcRoot: String = "/run/containerd/runc", address: String = "/run/containerd/containerd.sock",
                ctr: String = "ctr", timeout: Double = 5, includeSandboxes: Bool = false) {
        self.runcRoot = runcRoot
        self.address = address
        self.includeSandboxes = includeSandboxes
        self.run = ExternalCommand(executable: ctr, timeout: timeout).run
    }

    /// For tests: `run` stands in for ctr and gets its arguments.
    init(runcRoot: String, address: String, includeSandboxes: Bool = false, run: @escaping ExternalCommand.Runner) {
        self.runcRoot = runcRoot
        self.address = address
        self.includeSandboxes = includeSandboxes
        self.run = run
    }

    /// The OCI annotations containerd's CRI plugin (1.6) sets on every container it creates.
    enum CRI {
        static let containerType = "io.kubernetes.cri.container-type"   // "sandbox" or "container"
        static let containerName = "io.kubernetes.cri.container-name"
        static let imageName = "io.kubernetes.cri.image-name"
        static let sandboxID = "io.kubernetes.cri.sandbox-id"
        static let sandboxName = "io.kubernetes.cri.sandbox-name"
        static let sandboxNamespace = "io.kubernetes.cri.sandbox-namespace"
        static let sandboxUID = "io.kubernetes.cri.sandbox-uid"
    }

    public func containers(cgroups: CgroupV2, problems: inout [String]) -> [Container] {
        let entries = RuncStateReader(root: runcRoot, namespaced: true).read(problems: &problems)
        var result: [Container] = []
        var live = Set<String>()
        // One dead containerd fails every ctr call the same way: report each message once, and after
        // three failures in a row leave the remaining lookups to a later refresh (the failed ones are
        // retried after MetadataCache.retryAfter).
        var lookupProblems: [String] = []
        var failuresInARow = 0
        func lookUp(_ namespace: String, _ id: String) -> ContainerdRecord? {
            if failuresInARow >= 3 { return records.cached(Self.key(namespace, id)) }
            let before = lookupProblems.count
            let found = record(namespace: namespace, id: id, problems: &lookupProblems)
            if lookupProblems.count > before { failuresInARow += 1 } else if found != nil { failuresInARow = 0 }
            return found
        }
        for entry in entries {
            let namespace = entry.namespace ?? "default"
            let kind = entry.annotations[CRI.containerType]
            if kind == "sandbox" && !includeSandboxes { continue }
            var container: Container
            do {
                container = try RuncStateReader.container(from: entry, runtime: .containerd, cgroups: cgroups)
            } catch {
                if error.code != .notFound { problems.append(error.description) } // exited meanwhile
                continue
            }
            live.insert(Self.key(namespace, entry.state.id))
            let record = lookUp(namespace, entry.state.id)
            container.image = record?.image
            container.labels = record?.labels ?? [:]
            if kind == "sandbox" || kind == "container" {
                var sandbox = record // a sandbox is its own pod's record
                if kind == "container", let sandboxID = entry.annotations[CRI.sandboxID] {
                    live.insert(Self.key(namespace, sandboxID))
                    sandbox = lookUp(namespace, sandboxID)
                }
                Self.applyCRI(to: &container, annotations: entry.annotations, record: record, sandbox: sandbox)
            }
            result.append(container)
        }
        records.retain(live)
        for message in lookupProblems where !problems.contains(message) { problems.append(message) }
        return result
    }

    /// Names a CRI container as Kubernetes does and attaches its pod; Kubernetes labels and
    /// annotations replace containerd's own bookkeeping labels (io.cri-containerd.kind).
    static func applyCRI(to container: inout Container, annotations: [String: String],
                         record: ContainerdRecord?, sandbox: ContainerdRecord?) {
        let isSandbox = annotations[CRI.containerType] == "sandbox"
        let podMetadata = sandbox?.cri?.metadata
        let podName = annotations[CRI.sandboxName] ?? podMetadata?.name
        if isSandbox {
            if let podName { container.name = podName }
        } else if let name = annotations[CRI.containerName] ?? record?.cri?.metadata?.name {
            container.name = name
        }
        if let image = annotations[CRI.imageName] ?? record?.cri?.image?.image, !image.isEmpty {
            container.image = image
        }
        if let record {
            container.labels = record.kubernetesLabels
            // The runtime's annotations win: they are what the container really runs with.
            container.annotations.merge(record.cri?.annotations ?? [:]) { runtime, _ in runtime }
        }
        guard let podName else { return }
        container.pod = Pod(name: podName,
                            namespace: annotations[CRI.sandboxNamespace] ?? podMetadata?.namespace ?? "",
                            uid: annotations[CRI.sandboxUID] ?? podMetadata?.uid,
                            labels: sandbox?.kubernetesLabels ?? [:])
    }

    static func key(_ namespace: String, _ id: String) -> String { namespace + "/" + id }

    /// containerd's record of one container, from the cache or from ctr.
    func record(namespace: String, id: String, problems: inout [String]) -> ContainerdRecord? {
        records.value(for: Self.key(namespace, id), problems: &problems) { () throws(SondeError) in
            // Names come from directory names: never let one pass for a ctr flag.
            guard Self.isIdentifier(namespace), Self.isIdentifier(id) else {
                throw SondeError(.malformedInput, "containerd container \(namespace)/\(id): not a valid name")
            }
            guard Files.exists(address) else {
                throw SondeError(.notFound, "containerd socket \(address) not found: images, labels and pod labels of containerd containers are unknown",
                                 hint: "point sonde at containerd's socket (its config's grpc.address)")
            }
            let output = try run(["--address", address, "--namespace", namespace, "containers", "info", id])
            return try ContainerdRecord.parse(output, what: "\(namespace)/\(id)")
        }
    }

    /// containerd's rule for namespaces and ids: at most 76 letters, digits, "_", "-", ".", starting
    /// with a letter or digit.
    static func isIdentifier(_ name: String) -> Bool {
        func isAlphanumeric(_ c: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c)
        }
        guard let first = name.unicodeScalars.first, isAlphanumeric(first), name.unicodeScalars.count <= 76 else {
            return false
        }
        return name.unicodeScalars.allSatisfy { isAlphanumeric($0) || "_-.".unicodeScalars.contains($0) }
    }
}

/// What `ctr containers info` tells about one container (containerd 1.6), as far as sonde uses it.
struct ContainerdRecord: Sendable, Equatable {
    var id: String
    /// containerd's labels: for CRI containers and sandboxes, Kubernetes' labels plus io.cri-containerd.kind.
    var labels: [String: String]
    var image: String?
    /// The CRI plugin's record (the container's or pod's config as the kubelet sent it), when present.
    var cri: CRIConfig?

    /// The Kubernetes labels: from the CRI record, else containerd's labels less the CRI plugin's own.
    var kubernetesLabels: [String: String] {
        cri?.labels ?? labels.filter { !$0.key.hasPrefix("io.cri-containerd.") }
    }

    /// The part of a CRI ContainerConfig or PodSandboxConfig that sonde uses (protobuf JSON names).
    struct CRIConfig: Decodable, Sendable, Equatable {
        struct Metadata: Decodable, Sendable, Equatable {
            var name: String?
            var uid: String?
            var namespace: String?
        }
        struct Image: Decodable, Sendable, Equatable {
            var image: String?
        }
        var metadata: Metadata?
        var labels: [String: String]?
        var annotations: [String: String]?
        var image: Image?
    }

    /// The CRI plugin stores its record as a container extension: JSON
    /// {"Version":"v1","Metadata":{...,"Config":{...}}}, which ctr prints base64-encoded.
    static let criExtensions = ["io.cri-containerd.sandbox.metadata", "io.cri-containerd.container.metadata"]

    private struct Info: Decodable {
        struct Extension: Decodable {
            var value: Data? // base64 in ctr's JSON, which JSONDecoder decodes by default
        }
        var ID: String
        var Labels: [String: String]?
        var Image: String?
        var Extensions: [String: Extension]?
    }

    private struct CRIRecord: Decodable {
        struct Inner: Decodable { var Config: CRIConfig? }
        var Version: String?
        var Metadata: Inner?
    }

    /// Parses ctr's JSON; a malformed one is an error naming the container.
    static func parse(_ data: Data, what: String) throws(SondeError) -> ContainerdRecord {
        let info: Info
        do {
            info = try JSONDecoder().decode(Info.self, from: data)
        } catch {
            throw SondeError(.malformedInput, "malformed output of ctr containers info \(what): \(error)",
                             details: [String(decoding: data.prefix(200), as: UTF8.self)])
        }
        var cri: CRIConfig?
        for name in criExtensions {
            // Another containerd version may store it differently: then containerd's labels serve.
            if let payload = info.Extensions?[name]?.value,
               let record = try? JSONDecoder().decode(CRIRecord.self, from: payload) {
                cri = record.Metadata?.Config
            }
        }
        let image = info.Image.flatMap { $0.isEmpty ? nil : $0 }
        return ContainerdRecord(id: info.ID, labels: info.Labels ?? [:], image: image, cri: cri)
    }
}
