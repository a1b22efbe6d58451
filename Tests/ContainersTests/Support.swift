import Foundation
import Glibc
import Synchronization
import Testing
@testable import Containers
@testable import LinuxKit

/// The fixture files: real output captured from podman 4.3, containerd 1.6 (CRI included) and runc
/// 1.1.5 on a Debian 12 test machine, trimmed (see Fixtures/README.md).
enum Fixtures {
    static var root: String {
        guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            fatalError("the Fixtures resource is missing from the test bundle")
        }
        return url.path
    }

    static func path(_ relative: String) -> String { root + "/" + relative }

    static func data(_ relative: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: path(relative)))
    }

    /// A fixture as a fake CLI's answer; a missing one fails like the CLI would.
    static func answer(_ relative: String) throws(SondeError) -> Data {
        do {
            return try data(relative)
        } catch {
            throw SondeError(.runtimeCommandFailed, "no fixture \(relative)")
        }
    }
}

/// A throwaway host for sources to discover: a directory standing in for the cgroup2 mount and runc
/// roots copied from fixtures, rewritten to point at it. Removed again in deinit.
final class FakeHost {
    let dir: String
    let cgroups: CgroupV2

    init() throws {
        var template = Array((FileManager.default.temporaryDirectory.path + "/sonde-containers-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw SondeError.system("mkdtemp", .current) }
        dir = String(cString: made)
        cgroups = CgroupV2(mountPoint: dir + "/cgroup")
        try FileManager.default.createDirectory(atPath: cgroups.mountPoint, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    /// The machine the fixtures come from mounted cgroup2 here.
    static let capturedMountPoint = "/sys/fs/cgroup/unified"

    /// Copies the runc root `fixture` (a Fixtures subdirectory) to `name` below the host, with each
    /// state's cgroup v2 path moved under the fake mount (its directory made unless the id is in
    /// `exited`) and its init pid made this process, so the mount namespace is one the test knows.
    @discardableResult
    func installRuncRoot(fixture: String, as name: String, exited: Set<String> = []) throws -> String {
        let root = dir + "/" + name
        let fm = FileManager.default
        try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
        let source = Fixtures.path(fixture)
        for file in fm.enumerator(atPath: source)?.compactMap({ $0 as? String }) ?? [] where file.hasSuffix("state.json") {
            var state = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: source + "/" + file))) as? [String: Any])
            let id = try #require(state["id"] as? String)
            if var paths = state["cgroup_paths"] as? [String: String], let unified = paths[""] {
                let relative = String(unified.dropFirst(Self.capturedMountPoint.count))
                paths[""] = cgroups.mountPoint + relative
                state["cgroup_paths"] = paths
                if !exited.contains(id) { try makeCgroup(relative) }
            }
            state["init_process_pid"] = Int(getpid())
            let target = root + "/" + file
            try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try JSONSerialization.data(withJSONObject: state).write(to: URL(fileURLWithPath: target))
        }
        return root
    }

    func makeCgroup(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: cgroups.directory(of: path), withIntermediateDirectories: true)
    }

    func write(_ text: String, to relative: String) throws {
        let path = dir + "/" + relative
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }
}

/// Stands in for a runtime CLI: answers from a closure and records every call.
final class FakeCLI: Sendable {
    let calls = Mutex<[[String]]>([])
    let answer: @Sendable ([String]) throws(SondeError) -> Data

    init(answer: @escaping @Sendable ([String]) throws(SondeError) -> Data) { self.answer = answer }

    var runner: ExternalCommand.Runner {
        { (arguments: [String]) throws(SondeError) -> Data in
            self.calls.withLock { $0.append(arguments) }
            return try self.answer(arguments)
        }
    }

    var callCount: Int { calls.withLock { $0.count } }
}

/// This process's mount namespace id, which the fake hosts' containers report.
func ownMountNamespace() throws -> UInt64 {
    try Namespaces.mountNamespaceID(pid: getpid())
}
