import Containers
import Foundation
import LinuxKit

/// A cgroup v2 of the test's own under the root, removed by `remove()` or when it goes away (a
/// caller that only uses its path keeps it with `defer { cgroup.remove() }`).
final class TestCgroup {
    let cgroups: CgroupV2
    let path: String
    init(prefix: String = "sonde-rec-test") throws {
        cgroups = try CgroupV2.find()
        path = "/\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: cgroups.directory(of: path), withIntermediateDirectories: false)
    }
    /// Its directory in the cgroup2 mount.
    var directory: String { cgroups.directory(of: path) }
    var id: UInt64 { get throws { try cgroups.id(of: path) } }
    var container: Container {
        get throws { Container(runtime: .cgroup, id: path, name: String(path.dropFirst()), cgroupPath: path, cgroupID: try id) }
    }
    /// Runs a shell command inside the cgroup, to its end.
    func run(_ script: String) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "echo $$ > \(cgroups.directory(of: path))/cgroup.procs && \(script)"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
    func remove() { rmdir(directory) }
    deinit { remove() }
}
