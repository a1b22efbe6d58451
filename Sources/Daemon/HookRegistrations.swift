import Containers
import DaemonAPI
import Foundation
import LinuxKit
import Synchronization

/// The containers OCI hooks registered (`sonde-hook prestart`), as a container source beside the
/// runtimes' own. A prestart hook runs before the runtime has written its state (runc saves
/// state.json only after the hooks), so for a moment the hook is the only one who knows the
/// container; once the runtime's source lists it under the same runtime and id, that entry wins
/// (the collection keeps the later source's).
///
/// Registrations are kept in a file so that a daemon restarted after `kill -9` still knows them;
/// an entry is dropped when its cgroup is gone or now belongs to another cgroup (same path, new id).
public final class HookRegistrations: ContainerSource, Sendable {
    public let runtime = RuntimeName(rawValue: "hook")
    let file: String
    private let entries: Mutex<[String: Container]>
    /// Keys of registrations dropped because their cgroup went (runc removes the cgroup before it
    /// runs the poststop hooks), so that poststop still finds what it registered. Bounded.
    private let gone = Mutex<[String]>([])

    public init(stateDirectory: String) {
        file = stateDirectory + "/hook-containers.json"
        let saved = (try? Files.readData(file)).flatMap { try? JSONDecoder().decode([Container].self, from: $0) } ?? []
        entries = Mutex(Dictionary(saved.map { (Self.key($0.runtime, $0.id), $0) }, uniquingKeysWith: { $1 }))
    }

    static func key(_ runtime: RuntimeName, _ id: String) -> String { runtime.rawValue + "/" + id }

    public func containers(cgroups: CgroupV2, problems: inout [String]) -> [Container] {
        let (alive, dropped) = entries.withLock { entries -> ([Container], [String]) in
            let dropped = entries.filter { _, c in (try? cgroups.id(of: c.cgroupPath)) != c.cgroupID }.map(\.key)
            for key in dropped { entries[key] = nil }
            return (Array(entries.values), dropped)
        }
        if !dropped.isEmpty {
            gone.withLock { $0 = Array(($0 + dropped).suffix(256)) }
            save()
        }
        return alive
    }

    /// The container an OCI state describes, registered. Its cgroup is read from its init process.
    public func add(_ state: Sonde_V1_OCIState, runtimeHint: String, cgroups: CgroupV2) throws(SondeError) -> Container {
        let container = try Self.container(state, runtimeHint: runtimeHint, cgroups: cgroups)
        entries.withLock { $0[Self.key(container.runtime, container.id)] = container }
        save()
        return container
    }

    /// Forgets a registration; true if it was known (or dropped already because its cgroup went).
    /// Without a runtime, any runtime's entry of that id.
    public func remove(id: String, runtime: String) -> Bool {
        let removed = entries.withLock { entries -> Bool in
            let keys = entries.filter { $0.value.id == id && (runtime.isEmpty || $0.value.runtime.rawValue == runtime) }.map(\.key)
            for key in keys { entries[key] = nil }
            return !keys.isEmpty
        }
        if removed { save() }
        let endedBefore = gone.withLock { gone -> Bool in
            let matching = gone.filter { $0.hasSuffix("/" + id) && (runtime.isEmpty || $0 == runtime + "/" + id) }
            gone.removeAll { matching.contains($0) }
            return !matching.isEmpty
        }
        return removed || endedBefore
    }

    public func contains(_ container: Container) -> Bool {
        entries.withLock { $0[Self.key(container.runtime, container.id)] != nil }
    }

    /// Builds the container from the OCI state: id, init pid, bundle and annotations from the
    /// runtime; the cgroup (and its id, the recorder's key) from the init process, which exists and
    /// sits in the container's cgroup from `creating` on.
    static func container(_ state: Sonde_V1_OCIState, runtimeHint: String, cgroups: CgroupV2) throws(SondeError) -> Container {
        guard !state.id.isEmpty else { throw SondeError(.invalidArgument, "the OCI state has no container id") }
        guard state.id.count <= 1024, !state.id.contains("/"), !state.id.contains("\0") else {
            throw SondeError(.invalidArgument, "the OCI state's container id is not a valid id")
        }
        guard state.pid > 0 else {
            throw SondeError(.invalidArgument, "the OCI state of \(state.id) has no pid (status \(state.status.isEmpty ? "unknown" : state.status))",
                             hint: "register containers from the prestart, createRuntime or poststart hook, which get the init pid")
        }
        let path: String
        do {
            path = try cgroups.cgroup(ofProcess: state.pid)
        } catch {
            throw SondeError(.notFound, "process \(state.pid) of container \(state.id) is gone or has no cgroup in \(cgroups.mountPoint)", hint: error.message)
        }
        // The root cgroup holds every process of the host: recording it as "a container" would
        // record the whole machine. A runtime always gives a container a cgroup of its own.
        guard path != "/" else {
            throw SondeError(.invalidArgument, "process \(state.pid) of container \(state.id) is in the root cgroup, not in a container's",
                             hint: "register containers from an OCI hook, which runs once the container's cgroup exists")
        }
        let cgroupID = try cgroups.id(of: path)
        let annotations = state.annotations
        let runtime: RuntimeName
        if !runtimeHint.isEmpty {
            guard RuntimeName.allCases.map(\.rawValue).contains(runtimeHint) else {
                throw SondeError(.invalidArgument, "unknown runtime '\(runtimeHint)'",
                                 hint: "known: " + RuntimeName.allCases.map(\.rawValue).joined(separator: ", "))
            }
            runtime = RuntimeName(rawValue: runtimeHint)
        } else if annotations["io.container.manager"] == "libpod" {
            runtime = .podman // podman's mark, as the runtime sources read it
        } else if annotations["io.kubernetes.cri.container-type"] != nil {
            runtime = .containerd
        } else {
            runtime = .runc
        }
        var pod: Pod?
        if let name = annotations["io.kubernetes.cri.sandbox-name"], let namespace = annotations["io.kubernetes.cri.sandbox-namespace"] {
            pod = Pod(name: name, namespace: namespace, uid: annotations["io.kubernetes.cri.sandbox-uid"])
        }
        let name = annotations["io.kubernetes.cri.container-name"]
            ?? (runtime == .podman ? podmanName(id: state.id, bundle: state.bundle) : nil)
            ?? state.id
        return Container(runtime: runtime, id: state.id, name: name,
                         initPID: state.pid, cgroupPath: path, cgroupID: cgroupID,
                         mountNamespaceID: try? Namespaces.mountNamespaceID(pid: state.pid),
                         bundle: state.bundle.isEmpty ? nil : state.bundle, annotations: annotations, pod: pod)
    }

    /// podman's name for a container, at a moment when asking podman would wait for the lock podman
    /// holds while it starts the container: containers-storage's own record of its containers
    /// (`containers.json`, rewritten by rename, so never seen half-written) lies two levels above
    /// the bundle (`.../overlay-containers/ID/userdata`).
    static func podmanName(id: String, bundle: String) -> String? {
        guard bundle.hasSuffix("/" + id + "/userdata") else { return nil }
        let file = URL(fileURLWithPath: bundle).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("containers.json").path
        struct Entry: Decodable {
            var id: String
            var names: [String]?
        }
        guard let size = (try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int, size < 64 << 20,
              let data = try? Files.readData(file),
              let entries = try? JSONDecoder().decode([Entry].self, from: data) else { return nil }
        return entries.first { $0.id == id }?.names?.first
    }

    private func save() {
        let all = entries.withLock { Array($0.values) }
        do {
            try Files.makePrivateDirectory((file as NSString).deletingLastPathComponent)
            try Files.writePrivate(file, Array(try JSONEncoder().encode(all)))
        } catch {
            // Registrations still work in memory; a restart then finds the containers through the runtimes.
            // Never a trap on EPIPE (FileHandle's write would).
            try? writeAll(STDERR_FILENO, "sonde daemon: cannot save hook registrations to \(file): \(error)\n")
        }
    }
}
