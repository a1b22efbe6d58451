import Foundation
import TestSupport

/// A real runc container on a busybox rootfs, made for one test and deleted after it.
final class RuncContainer: @unchecked Sendable {
    let name: String
    let bundle: URL
    var rootfs: URL { bundle.appendingPathComponent("rootfs") }
    static let runc = "/usr/sbin/runc"

    /// Creates the bundle (rootfs + config.json running `args`); does not start it.
    init(prefix: String, args: [String], extraBinaries: [String] = [], hostNetwork: Bool = false) throws {
        name = "\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
        bundle = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-test-\(name)")
        try FileManager.default.createDirectory(at: bundle, withIntermediateDirectories: true)
        let script = packageRoot.appendingPathComponent("scripts/make-rootfs.sh").path
        let made = try run("/bin/sh", [script, rootfs.path] + extraBinaries)
        guard made.status == 0 else { throw TestFailure("make-rootfs failed: \(made.stderr)") }
        let spec = try run(Self.runc, ["spec", "--bundle", bundle.path])
        guard spec.status == 0 else { throw TestFailure("runc spec failed: \(spec.stderr)") }
        // Edit the generated spec: no terminal, our command, a writable rootfs.
        let configURL = bundle.appendingPathComponent("config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as! [String: Any]
        var process = config["process"] as! [String: Any]
        process["terminal"] = false
        process["args"] = args
        config["process"] = process
        var root = config["root"] as! [String: Any]
        root["readonly"] = false
        config["root"] = root
        if hostNetwork {
            // A new network namespace has its loopback down; some tests need the host's behaviour.
            var linux = config["linux"] as! [String: Any]
            linux["namespaces"] = (linux["namespaces"] as! [[String: Any]]).filter { $0["type"] as? String != "network" }
            config["linux"] = linux
        }
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
    }

    /// Starts it detached (`runc run -d`); the container runs until its command ends.
    func start() throws {
        let started = try run(Self.runc, ["run", "-d", "--bundle", bundle.path, name], timeout: 60)
        guard started.status == 0 else { throw TestFailure("runc run \(name) failed: \(started.stderr)") }
    }

    /// The host pid of its first process (`runc state`).
    func pid() throws -> Int32 {
        let state = try run(Self.runc, ["state", name])
        guard let object = try JSONSerialization.jsonObject(with: Data(state.stdout.utf8)) as? [String: Any],
              let pid = object["pid"] as? Int else { throw TestFailure("runc state \(name): \(state.stdout) \(state.stderr)") }
        return Int32(pid)
    }

    /// Runs it in the foreground to its end; returns the exit status and output.
    func runToCompletion(timeout: TimeInterval = 60) throws -> (status: Int32, stdout: String, stderr: String) {
        try run(Self.runc, ["run", "--bundle", bundle.path, name], timeout: timeout)
    }

    /// Kills and deletes the container and removes its bundle. Safe to call twice.
    func remove() {
        _ = try? run(Self.runc, ["delete", "--force", name], timeout: 30)
        try? FileManager.default.removeItem(at: bundle)
    }

    deinit { remove() }
}
