import Foundation

/// Runs a command to completion with a deadline; returns its exit status and output.
/// Output goes to files, not pipes: a detached child (`runc run -d` leaves the container holding
/// runc's stdio) would keep a pipe open long after the command itself ended.
@discardableResult
func run(_ executable: String, _ arguments: [String], timeout: TimeInterval = 60,
         environment: [String: String]? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let outURL = directory.appendingPathComponent("stdout"), errURL = directory.appendingPathComponent("stderr")
    FileManager.default.createFile(atPath: outURL.path, contents: nil)
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
    defer { try? out.close(); try? err.close() }

    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
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

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

final class Locked<T>: @unchecked Sendable {
    private var value: T
    private let lock = NSLock()
    init(_ value: T) { self.value = value }
    func get() -> T { lock.withLock { value } }
    func set(_ new: T) { lock.withLock { value = new } }
    func update<R>(_ body: (inout T) -> R) -> R { lock.withLock { body(&value) } }
}

/// Polls until `condition` holds or the deadline passes.
func eventually(timeout: Duration = .seconds(20), _ condition: () -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return condition()
}

/// The package's root directory, found from this file's path.
let packageRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The `sonde` executable built beside the test bundle.
var sondeExecutable: String {
    let bundleDir = Bundle.main.bundleURL.deletingLastPathComponent()
    for candidate in [bundleDir.appendingPathComponent("sonde"), packageRoot.appendingPathComponent(".build/debug/sonde")]
        where FileManager.default.isExecutableFile(atPath: candidate.path) {
        return candidate.path
    }
    return packageRoot.appendingPathComponent(".build/debug/sonde").path
}

/// Thrown by a test's setUp when not run as root: integration tests fail rather than skip, so that
/// a run that could not exercise them never looks green.
struct RootRequired: Error, CustomStringConvertible {
    var description: String { "integration tests need root: run scripts/test.sh as root" }
}

/// The names of the programs attached through a BPF link, one per link.
func attachedPrograms() throws -> [String] {
    func json(_ arguments: [String]) throws -> [[String: Any]] {
        let output = try run("/usr/sbin/bpftool", ["-j"] + arguments).stdout
        guard let list = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]] else {
            throw TestFailure("bpftool -j \(arguments.joined(separator: " ")): not a JSON list")
        }
        return list
    }
    var names: [Int: String] = [:]
    for program in try json(["prog", "show"]) {
        if let id = program["id"] as? Int, let name = program["name"] as? String { names[id] = name }
    }
    return try json(["link", "show"]).compactMap { ($0["prog_id"] as? Int).flatMap { names[$0] } }
}
