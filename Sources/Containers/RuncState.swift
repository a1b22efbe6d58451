import Foundation
import LinuxKit

/// The state files that runc writes under its root (`/run/runc/ID/state.json` by default). podman
/// and containerd run containers through runc too, each under a root of its own.
struct RuncStateFile: Decodable {
    struct Config: Decodable {
        var rootfs: String?
        /// OCI annotations, stored by runc as "key=value" strings, plus runc's own "bundle=DIR".
        var labels: [String]?
    }
    var id: String
    var init_process_pid: Int32?
    var created: String?
    var config: Config?
    /// Per controller; the unified hierarchy is under the empty key.
    var cgroup_paths: [String: String]?

    /// Decodes one state file; a malformed one becomes a SondeError naming the file.
    static func decode(_ data: Data, path: String) throws(SondeError) -> RuncStateFile {
        do {
            return try JSONDecoder().decode(RuncStateFile.self, from: data)
        } catch {
            throw SondeError(.malformedInput, "malformed runc state \(path): \(error)")
        }
    }

    /// The OCI annotations; "bundle" comes back separately.
    var annotationsAndBundle: (annotations: [String: String], bundle: String?) {
        var annotations: [String: String] = [:]
        var bundle: String?
        for label in config?.labels ?? [] {
            guard let eq = label.firstIndex(of: "=") else { continue }
            let key = String(label[..<eq])
            let value = String(label[label.index(after: eq)...])
            if key == "bundle" { bundle = value } else { annotations[key] = value }
        }
        return (annotations, bundle)
    }
}

/// Reads every `ROOT/ID/state.json` (or `ROOT/NAMESPACE/ID/state.json` with `namespaced`).
struct RuncStateReader: Sendable {
    let root: String
    let namespaced: Bool

    struct Entry {
        var state: RuncStateFile
        var namespace: String?
        var annotations: [String: String]
        var bundle: String?
    }

    func read(problems: inout [String]) -> [Entry] {
        let fm = FileManager.default
        var directories: [(dir: String, namespace: String?)] = []
        if namespaced {
            for ns in (try? fm.contentsOfDirectory(atPath: root)) ?? [] {
                directories.append((root + "/" + ns, ns))
            }
        } else {
            directories.append((root, nil))
        }
        var entries: [Entry] = []
        for (dir, namespace) in directories {
            for id in ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).sorted() {
                let path = dir + "/" + id + "/state.json"
                guard Files.exists(path) else { continue }
                do {
                    let state = try RuncStateFile.decode(try Files.readData(path), path: path)
                    let (annotations, bundle) = state.annotationsAndBundle
                    entries.append(Entry(state: state, namespace: namespace, annotations: annotations, bundle: bundle))
                } catch {
                    // A container being deleted removes its directory under us: not a problem.
                    if Files.exists(path) { problems.append(error.description) }
                }
            }
        }
        return entries
    }

    /// The container as far as runc's state tells; callers add runtime-specific names and pods.
    static func container(from entry: Entry, runtime: RuntimeName, cgroups: CgroupV2) throws(SondeError) -> Container {
        let state = entry.state
        guard let unified = state.cgroup_paths?[cgroups.runtimeStateKey] else {
            throw SondeError(.malformedInput, "runc state of \(state.id) has no \(cgroups.v1Controller.map { "\($0) (cgroup v1)" } ?? "cgroup v2") path")
        }
        let cgroupPath = try cgroups.normalize(unified)
        let cgroupID = try cgroups.id(of: cgroupPath)
        var mountNamespace: UInt64?
        if let pid = state.init_process_pid, pid > 0 {
            mountNamespace = try? Namespaces.mountNamespaceID(pid: pid)
        }
        return Container(runtime: runtime, id: state.id, name: state.id, initPID: state.init_process_pid,
                         cgroupPath: cgroupPath, cgroupID: cgroupID, mountNamespaceID: mountNamespace,
                         bundle: entry.bundle, rootfs: state.config?.rootfs, annotations: entry.annotations)
    }
}

/// Containers run by runc directly, named by their runc id.
public struct RuncSource: ContainerSource {
    public let runtime = RuntimeName.runc
    public let root: String

    public init(root: String = "/run/runc") { self.root = root }

    public func containers(cgroups: CgroupV2, problems: inout [String]) -> [Container] {
        var result: [Container] = []
        for entry in RuncStateReader(root: root, namespaced: false).read(problems: &problems) {
            // podman shares runc's default root; its containers are reported by PodmanSource.
            if entry.annotations["io.container.manager"] == "libpod" { continue }
            do {
                result.append(try RuncStateReader.container(from: entry, runtime: .runc, cgroups: cgroups))
            } catch {
                if error.code != .notFound { problems.append(error.description) } // exited meanwhile
            }
        }
        return result
    }
}

/// Plain cgroups named on the command line (`--cgroup /system.slice/foo.service`), traced like containers.
public struct CgroupSource: ContainerSource {
    public let runtime = RuntimeName.cgroup
    public let paths: [String]

    public init(paths: [String]) { self.paths = paths }

    public func containers(cgroups: CgroupV2, problems: inout [String]) -> [Container] {
        var result: [Container] = []
        for path in paths {
            do {
                let normalized = try cgroups.normalize(path)
                let id = try cgroups.id(of: normalized)
                let name = normalized.split(separator: "/").last.map(String.init) ?? "/"
                result.append(Container(runtime: .cgroup, id: normalized, name: name,
                                        cgroupPath: normalized, cgroupID: id))
            } catch {
                problems.append(error.description)
            }
        }
        return result
    }
}
