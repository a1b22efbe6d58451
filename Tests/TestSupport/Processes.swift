import Foundation
import Synchronization

/// What every test target shares: running a command, a lock around a value, polling, the package's
/// paths. (Test targets depend on this target; it links nothing of sonde.)

/// Runs a command to completion with a deadline; returns its exit status and output.
/// Output goes to files, not pipes: a detached child (`runc run -d` leaves the container holding
/// runc's stdio) would keep a pipe open long after the command itself ended.
@discardableResult
public func run(_ executable: String, _ arguments: [String], timeout: TimeInterval = 60,
                environment: [String: String]? = nil, stdin: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let outURL = directory.appendingPathComponent("stdout"), errURL = directory.appendingPathComponent("stderr")
    let inURL = directory.appendingPathComponent("stdin")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: inURL.path, contents: Data((stdin ?? "").utf8))
    let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
    let input = try FileHandle(forReadingFrom: inURL)
    defer { try? out.close(); try? err.close(); try? input.close() }

    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    let done = DispatchSemaphore(value: 0)
    process.terminationHandler = { _ in done.signal() }
    try process.run()
    if done.wait(timeout: .now() + timeout) == .timedOut {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        throw TestFailure("\(executable) \(arguments.joined(separator: " ")) did not finish in \(Int(timeout)) s")
    }
    process.waitUntilExit()
    return (process.terminationStatus,
            String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self),
            String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self))
}

/// `run` for commands that must succeed: their stdout, or a failure with their stderr.
@discardableResult
public func must(_ executable: String, _ arguments: [String], timeout: TimeInterval = 60) throws -> String {
    let result = try run(executable, arguments, timeout: timeout)
    guard result.status == 0 else {
        throw TestFailure("\(executable) \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.stderr)")
    }
    return result.stdout
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A value shared between a test and the closures it hands out (values of tests are Sendable).
public final class Locked<T: Sendable>: Sendable {
    private let value: Mutex<T>
    public init(_ value: T) { self.value = Mutex(value) }
    public func get() -> T { value.withLock { $0 } }
    public func set(_ new: T) { value.withLock { $0 = new } }
    public func update<R: Sendable>(_ body: (inout T) -> R) -> R { value.withLock { body(&$0) } }
}

/// Polls until `condition` holds or the deadline passes: for what a test waits on that has no
/// event to wait for (a file the kernel writes, a daemon's state). Returns whether it held.
public func eventually(timeout: Duration = .seconds(20), _ condition: () -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return condition()
}

/// The package's root directory, found from this file's path.
public let packageRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// An executable of the package, built beside the test bundle (or in .build/debug).
public func executable(_ name: String) -> String {
    let bundleDir = Bundle.main.bundleURL
    for candidate in [bundleDir.appendingPathComponent(name), bundleDir.deletingLastPathComponent().appendingPathComponent(name),
                      packageRoot.appendingPathComponent(".build/debug/" + name)]
        where FileManager.default.isExecutableFile(atPath: candidate.path) {
        return candidate.path
    }
    return packageRoot.appendingPathComponent(".build/debug/" + name).path
}

/// The `sonde` executable.
public var sondeExecutable: String { executable("sonde") }

/// Integration tests fail rather than skip without root, so that a run that could not exercise
/// them never looks green. The one check they all make first.
public func requireRoot() throws {
    guard geteuid() == 0 else { throw RootRequired() }
}

public struct RootRequired: Error, CustomStringConvertible {
    public var description: String { "integration tests need root: run scripts/test.sh as root" }
}

/// A command running in the background with its output in files, read while it runs.
public final class BackgroundCommand: @unchecked Sendable { // Process is thread-safe; the URLs are constants
    public let process = Process()
    let directory: URL
    var stdoutURL: URL { directory.appendingPathComponent("stdout") }
    var stderrURL: URL { directory.appendingPathComponent("stderr") }

    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-bg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    public var stdout: String { String(decoding: (try? Data(contentsOf: stdoutURL)) ?? Data(), as: UTF8.self) }
    public var stderr: String { String(decoding: (try? Data(contentsOf: stderrURL)) ?? Data(), as: UTF8.self) }
    public var isRunning: Bool { process.isRunning }

    /// Waits for it to end (killing it after `timeout`); returns its exit status.
    @discardableResult
    public func wait(timeout: TimeInterval = 60) -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { stop(signal: SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// SIGINT, as Ctrl-C (a clean stop), then SIGKILL if it has not ended within `seconds`;
    /// returns its exit status.
    @discardableResult
    public func interrupt(within seconds: TimeInterval = 20) -> Int32 {
        stop(signal: SIGINT)
        return wait(timeout: seconds)
    }

    /// Sends `signal` to it (by its pid) if it still runs.
    public func stop(signal: Int32 = SIGTERM) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    deinit {
        stop(signal: SIGKILL)
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Runs a command that streams (a trace, a top, a plugin) without a time window: until its output
/// holds what the test needs, then stops it as Ctrl-C does. The workloads of the tests repeat, so
/// what they wait for comes however slowly the machine attaches; the deadline only turns a broken
/// run into a failure instead of a hang. Returns as `run` does.
public func run(until done: @escaping (_ stdout: String, _ stderr: String) -> Bool, _ executable: String, _ arguments: [String],
                deadline: Duration = .seconds(60)) async throws -> (status: Int32, stdout: String, stderr: String) {
    let running = try BackgroundCommand(executable, arguments)
    _ = try await eventually(timeout: deadline) { done(running.stdout, running.stderr) || !running.isRunning }
    let status = running.interrupt()
    return (status, running.stdout, running.stderr)
}
