import Foundation
import LinuxKit
#if canImport(Glibc)
import Glibc
#endif

/// The temporary directory of one harness run: the static workload, a busybox bundle for runc,
/// scratch files. Removed at the end (and on Ctrl-C).
enum Workspace {
    nonisolated(unsafe) private(set) static var directory = ""
    nonisolated(unsafe) private static var scratchCounter = 0

    static var workload: String { directory + "/workload" }
    static var bundle: String { directory + "/bundle" }
    /// Where the workload sits inside the container.
    static let workloadInContainer = "/bin/workload"

    /// Creates the directory, compiles bench/workload.c and makes the bundle.
    static func prepare(packageRoot: String) throws {
        var template = Array("/tmp/sonde-bench.XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw BenchError("mkdtemp: \(Errno.current)")
        }
        directory = String(cString: made)

        let source = packageRoot + "/bench/workload.c"
        try runChecked(["gcc", "-O2", "-static", "-o", workload, source], what: "compiling \(source)")
        try runChecked(["sh", packageRoot + "/scripts/make-rootfs.sh", bundle + "/rootfs", workload],
                       what: "making the busybox rootfs")
        try runChecked(["runc", "spec", "--bundle", bundle], what: "runc spec")
    }

    static func remove() {
        guard !directory.isEmpty else { return }
        try? FileManager.default.removeItem(atPath: directory)
        directory = ""
    }

    /// A fresh file name in the workspace (for a child's stderr).
    static func scratchFile(_ suffix: String) -> String {
        scratchCounter += 1
        return "\(directory)/\(scratchCounter).\(suffix)"
    }

    /// Points the bundle's process at the workload with these arguments (terminal off, so runc
    /// passes our pipes straight to it).
    static func setContainerArguments(_ arguments: [String], executable: String = workloadInContainer) throws {
        let path = bundle + "/config.json"
        guard var spec = (try? JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: path))))?.object,
              var process = spec["process"]?.object else {
            throw BenchError("\(path) is not an OCI runtime spec")
        }
        process["terminal"] = false
        process["args"] = JSONValue([executable] + arguments)
        spec["process"] = .object(process)
        try JSONValue.object(spec).data(pretty: true).write(to: URL(fileURLWithPath: path))
    }

    private static func runChecked(_ command: [String], what: String) throws {
        let child = try Child(command, stderrPath: scratchFile("prepare.err"))
        child.closeStdin()
        while (try? child.stdout.nextLine(timeout: 120)) != nil {}
        child.finish(timeout: 120)
        guard child.exitStatus == 0 else {
            throw BenchError("\(what) failed: \(child.stderrTail())")
        }
    }
}

/// One loop's result as the workload printed it: ns per call, median and minimum over its chunks.
struct Timing {
    let median: Double
    let minimum: Double
    /// The CPUs the loop was seen on: "1", "0+1".
    let cpus: String
}

/// Timings by loop name ("getppid", "read").
typealias Timings = [String: Timing]

/// Parses "getppid 1000000 195.20 194.10 1" lines.
func parseTiming(_ line: String) -> (name: String, timing: Timing)? {
    let parts = line.split(separator: " ")
    guard parts.count == 5, Int(parts[1]) != nil, let median = Double(parts[2]),
          let minimum = Double(parts[3]) else { return nil }
    return (String(parts[0]), Timing(median: median, minimum: minimum, cpus: String(parts[4])))
}

/// One workload process waiting for commands (bench/workload.c --wait): in a runc container
/// (`runc run` in the foreground, maybe under a wrapper such as strace), or on the host.
final class WorkloadProcess {
    let child: Child
    /// The runc container name, nil on the host.
    let containerName: String?
    /// How many timed loops to expect.
    let loops: Int

    /// Starts `runc run` for a container running the workload, under `wrapper` (strace -f ...).
    init(containerName: String, calls: [Int], wrapper: [String]) throws {
        try Workspace.setContainerArguments(["--wait"] + calls.map(String.init))
        Cleanup.shared.add(container: containerName)
        self.containerName = containerName
        self.loops = calls.filter { $0 > 0 }.count
        let command = wrapper + ["runc", "run", "--bundle", Workspace.bundle, containerName]
        child = try Child(command, stderrPath: Workspace.scratchFile("\(containerName).err"))
    }

    /// Starts the workload on the host, outside any container.
    init(hostCalls calls: [Int]) throws {
        containerName = nil
        loops = calls.filter { $0 > 0 }.count
        child = try Child([Workspace.workload, "--wait"] + calls.map(String.init),
                          stderrPath: Workspace.scratchFile("host.err"))
    }

    deinit { stop() }

    /// Waits for "ready": the process runs (in its cgroup) and waits for a command.
    func waitReady(timeout: Double = 60) throws {
        do {
            _ = try child.stdout.waitFor(timeout: timeout, what: "the workload to be ready") { line in
                if line.hasPrefix("error") { return true }
                return line == "ready"
            }
        } catch {
            throw BenchError("\(child.command.joined(separator: " ")): \(error) \(child.stderrTail())")
        }
    }

    /// Makes the workload execve itself once (an event for an exec tracer), and waits until it is
    /// ready again.
    func execProbe() throws {
        try child.send("x")
        try waitReady(timeout: 30)
    }

    /// Runs the timed loops and returns what the workload printed.
    func run(timeout: Double) throws -> Timings {
        try child.send("g")
        var timings: Timings = [:]
        while timings.count < loops {
            let line = try child.stdout.waitFor(timeout: timeout, what: "the workload's timings") { line in
                line.hasPrefix("error") || parseTiming(line) != nil
            }
            guard let timing = parseTiming(line) else {
                throw BenchError("workload: \(line)")
            }
            timings[timing.name] = timing.timing
        }
        return timings
    }

    /// Ends the workload (if it still waits), waits for runc to exit and deletes the container.
    func stop() {
        if child.exitStatus == nil {
            try? child.send("q")
            child.closeStdin()
            child.finish(timeout: 30, signal: SIGTERM)
        }
        if let containerName { deleteContainer(containerName) }
    }
}
