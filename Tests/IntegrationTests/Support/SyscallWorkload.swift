import Foundation
import TestSupport

/// A static program for the syscall-metrics tests: in its container it waits until the file /go
/// exists in its root (the test creates it in the bundle's rootfs once the tracer counts), then
/// makes `getpgid(0)` calls that succeed and `rmdir` calls that fail with ENOENT, a known number
/// of each, and sleeps. Neither syscall is one runc's own setup makes in the container's cgroup.
enum SyscallWorkload {
    static let source = """
    #include <sys/syscall.h>
    #include <unistd.h>
    #include <stdlib.h>
    int main(int argc, char **argv) {
        int ok = atoi(argv[1]), failing = atoi(argv[2]);
        while (access("/go", F_OK) != 0) usleep(20000);
        for (int i = 0; i < ok; i++) syscall(SYS_getpgid, 0);
        for (int i = 0; i < failing; i++) syscall(SYS_rmdir, "/no-such-directory");
        for (;;) pause();
    }
    """

    /// A container running it; call `go` to make it start its calls. The program is built with
    /// gcc -static into a temporary directory, copied into the container's rootfs, and the
    /// directory removed.
    static func container(prefix: String, ok: Int, failing: Int) throws -> RuncContainer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-sysmet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let binary = directory.appendingPathComponent("sysmet-workload").path
        let file = directory.appendingPathComponent("sysmet-workload.c").path
        try source.write(toFile: file, atomically: true, encoding: .utf8)
        let built = try run("/usr/bin/gcc", ["-O1", "-static", "-o", binary, file])
        guard built.status == 0 else { throw TestFailure("gcc failed: \(built.stderr)") }
        return try RuncContainer(prefix: prefix, args: ["/bin/sysmet-workload", String(ok), String(failing)], extraBinaries: [binary])
    }

    static func go(_ container: RuncContainer) {
        FileManager.default.createFile(atPath: container.rootfs.appendingPathComponent("go").path, contents: Data())
    }
}

/// A command running in the background with its output in files, read while it runs.
final class BackgroundCommand: @unchecked Sendable {
    let process = Process()
    let directory: URL
    var stdoutURL: URL { directory.appendingPathComponent("stdout") }
    var stderrURL: URL { directory.appendingPathComponent("stderr") }

    init(_ executable: String, _ arguments: [String]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-bg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var stdout: String { String(decoding: (try? Data(contentsOf: stdoutURL)) ?? Data(), as: UTF8.self) }
    var stderr: String { String(decoding: (try? Data(contentsOf: stderrURL)) ?? Data(), as: UTF8.self) }

    /// Waits for it to end (killing it after `timeout`); returns its exit status.
    @discardableResult
    func wait(timeout: TimeInterval = 60) -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { stop(signal: SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Sends `signal` to it (by its pid) if it still runs.
    func stop(signal: Int32 = SIGTERM) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    deinit {
        stop(signal: SIGKILL)
        try? FileManager.default.removeItem(at: directory)
    }
}
