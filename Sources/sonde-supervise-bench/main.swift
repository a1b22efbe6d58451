// sonde-supervise-bench: what a supervised call costs a container, and how many the agent answers.
//   swift build -c release && .build/release/sonde-supervise-bench [--calls N] [--rounds N] [--write bench/RESULTS-supervisor.md]
// Runs real runc busybox containers with bench/supervise-probe.c inside, against the release `sonde
// supervise` beside this executable. Each probe times every one of its own mknod calls
// (CLOCK_MONOTONIC around the call), so the latencies are the round trip as the container sees it.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var calls = 20_000
    var rounds = 3
    var parallel = 8
    var write: String?

    static func parse() -> Options {
        var options = Options()
        var rest = CommandLine.arguments.dropFirst()
        func number(_ flag: String) -> Int {
            guard let text = rest.popFirst(), let n = Int(text), n > 0 else { fail("\(flag) needs a positive integer") }
            return n
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--calls": options.calls = number(argument)
            case "--rounds": options.rounds = number(argument)
            case "--parallel": options.parallel = number(argument)
            case "--write": guard let path = rest.popFirst() else { fail("--write needs a file") }; options.write = path
            default: fail("unknown argument \(argument)\nusage: sonde-supervise-bench [--calls N] [--rounds N] [--parallel N] [--write FILE]")
            }
        }
        return options
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("sonde-supervise-bench: \(message)\n".utf8))
    exit(2)
}

/// Runs a command to its end; output in files (a detached child may keep pipes open).
@discardableResult
func shell(_ executable: String, _ arguments: [String]) -> (status: Int32, out: String, err: String) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ssb-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("out"), err = dir.appendingPathComponent("err")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = try? FileHandle(forWritingTo: out)
    process.standardError = try? FileHandle(forWritingTo: err)
    process.standardInput = FileHandle.nullDevice
    do { try process.run() } catch { fail("cannot run \(executable): \(error)") }
    process.waitUntilExit()
    return (process.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "",
            (try? String(contentsOf: err, encoding: .utf8)) ?? "")
}

let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let executables = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
let work = URL(fileURLWithPath: "/tmp/sonde-supervise-bench-\(getpid())")

/// A runc bundle with the probe; `seccomp` sends mknod to the agent, `mknodCapability` lets an
/// unsupervised container make devices itself (the baseline).
final class Bundle {
    let name: String
    let dir: URL
    var rootfs: URL { dir.appendingPathComponent("rootfs") }

    init(_ name: String, script: String, seccomp: [String: Any]?, mknodCapability: Bool) {
        self.name = "ssb-\(getpid())-\(name)"
        dir = work.appendingPathComponent(name)
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let made = shell("/bin/sh", [root.appendingPathComponent("scripts/make-rootfs.sh").path, rootfs.path, work.appendingPathComponent("probe").path])
        if made.status != 0 { fail("make-rootfs: \(made.err)") }
        if shell("/usr/sbin/runc", ["spec", "--bundle", dir.path]).status != 0 { fail("runc spec failed") }
        let url = dir.appendingPathComponent("config.json")
        var config = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var process = config["process"] as! [String: Any]
        process["terminal"] = false
        process["args"] = ["sh", "-c", script]
        if mknodCapability {
            var caps = process["capabilities"] as! [String: [String]]
            for key in caps.keys { caps[key]!.append("CAP_MKNOD") }
            process["capabilities"] = caps
        }
        config["process"] = process
        var rootConfig = config["root"] as! [String: Any]
        rootConfig["readonly"] = false
        config["root"] = rootConfig
        if let seccomp {
            var linux = config["linux"] as! [String: Any]
            linux["seccomp"] = seccomp
            config["linux"] = linux
        }
        try! JSONSerialization.data(withJSONObject: config).write(to: url)
    }

    func start() {
        let started = shell("/usr/sbin/runc", ["run", "-d", "--bundle", dir.path, name])
        if started.status != 0 { fail("runc run \(name): \(started.err)") }
    }

    /// Waits for the probe's result line in /tmp/result.
    func result() -> [String: Int64] {
        let path = rootfs.appendingPathComponent("tmp/result").path
        for _ in 0..<12000 {
            if let text = try? String(contentsOfFile: path, encoding: .utf8), text.hasSuffix("\n") {
                var values: [String: Int64] = [:]
                for pair in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
                    let kv = pair.split(separator: "=")
                    if kv.count == 2, let v = Int64(kv[1]) { values[String(kv[0])] = v }
                }
                return values
            }
            usleep(10_000)
        }
        fail("container \(name) gave no result")
    }

    func go() { _ = FileManager.default.createFile(atPath: rootfs.appendingPathComponent("tmp/go").path, contents: nil) }

    func remove() { shell("/usr/sbin/runc", ["delete", "--force", name]) }
}

let options = Options.parse()
/// The machine's load when the run started: other work on the CPUs shows up in every latency here.
let loadAtStart = ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "").split(separator: " ").prefix(3).joined(separator: " ")
try? FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: work) }
let built = shell("/usr/bin/gcc", ["-O2", "-static", "-o", work.appendingPathComponent("probe").path, root.appendingPathComponent("bench/supervise-probe.c").path])
if built.status != 0 { fail("gcc: \(built.err)") }
let floorBinary = work.appendingPathComponent("floor").path
let floorBuilt = shell("/usr/bin/gcc", ["-O2", "-o", floorBinary, root.appendingPathComponent("bench/supervise-floor.c").path, "-lseccomp"])
if floorBuilt.status != 0 { fail("gcc: \(floorBuilt.err)") }
let floorDir = "/dev/shm/sonde-supervise-floor-\(getpid())"

// The agent, release build, without --events (events are for people; the hot path skips them).
let socket = work.appendingPathComponent("agent.sock").path
let policyPath = work.appendingPathComponent("policy.json").path
try! #"{"default": "EPERM", "containers": [{"name": "bench", "mknod": [{"type": "char", "major": 1, "minor": 3}]}]}"#
    .write(toFile: policyPath, atomically: true, encoding: .utf8)
let agent = Process()
agent.executableURL = executables.appendingPathComponent("sonde")
agent.arguments = ["supervise", "--socket", socket, "--policy", policyPath]
agent.standardError = FileHandle.nullDevice
do { try agent.run() } catch { fail("cannot start \(agent.executableURL!.path): \(error)") }
defer { kill(agent.processIdentifier, SIGTERM); agent.waitUntilExit() }
while !FileManager.default.fileExists(atPath: socket) { usleep(20_000) }
let seccomp: [String: Any] = ["defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "listenerPath": socket,
                              "syscalls": [["names": ["mknod", "mknodat"], "action": "SCMP_ACT_NOTIFY"]]]

func loop(_ calls: Int, _ device: String) -> String {
    "while [ ! -e /tmp/go ]; do usleep 2000; done; /bin/probe mknod-loop \(calls) /dev \(device) > /tmp/result"
}

struct Row { var name: String; var medians: [Int64] = []; var p99s: [Int64] = []; var errno: Int64 = 0; var ok: Int64 = 0 }
var rows = [Row(name: "mknod c 1:3, unsupervised (CAP_MKNOD, no filter)"),
            Row(name: "mknod c 1:3, supervised: emulated"),
            Row(name: "mknod b 8:0, unsupervised (no CAP_MKNOD: kernel EPERM)"),
            Row(name: "mknod b 8:0, supervised: denied EPERM"),
            Row(name: "floor: the same emulation in plain C (bench/supervise-floor.c, host)"),
            Row(name: "floor: RECV + read path + SEND EPERM in plain C (host)")]
/// The C floor, on the host (a tmpfs directory like the containers' /dev).
@MainActor func floor(_ row: Int, _ mode: String) {
    try? FileManager.default.createDirectory(atPath: floorDir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: floorDir) }
    let out = shell(floorBinary, [mode, floorDir]).out
    var values: [String: Int64] = [:]
    for pair in out.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
        let kv = pair.split(separator: "=")
        if kv.count == 2, let v = Int64(kv[1]) { values[String(kv[0])] = v }
    }
    rows[row].medians.append(values["median_ns"] ?? 0)
    rows[row].p99s.append(values["p99_ns"] ?? 0)
    rows[row].ok = mode == "emulate" ? 20000 : 0
    rows[row].errno = mode == "emulate" ? 0 : 1
}
var throughput: [Double] = []
var counter = 0
@MainActor func single(_ row: Int, device: String, supervised: Bool, capability: Bool) {
    counter += 1
    let bundle = Bundle("c\(counter)", script: loop(options.calls, device), seccomp: supervised ? seccomp : nil, mknodCapability: capability)
    bundle.start()
    bundle.go()
    let r = bundle.result()
    bundle.remove()
    rows[row].medians.append(r["median_ns"] ?? 0)
    rows[row].p99s.append(r["p99_ns"] ?? 0)
    rows[row].errno = r["errno"] ?? 0
    rows[row].ok = r["ok"] ?? 0
}

for round in 1...options.rounds {
    FileHandle.standardError.write(Data("round \(round)/\(options.rounds)\n".utf8))
    single(0, device: "c 1 3", supervised: false, capability: true)
    single(1, device: "c 1 3", supervised: true, capability: false)
    single(2, device: "b 8 0", supervised: false, capability: false)
    single(3, device: "b 8 0", supervised: true, capability: false)
    floor(4, "emulate")
    floor(5, "deny")
    // N containers at once, started, then released together.
    let many = (0..<options.parallel).map { i -> Bundle in
        counter += 1
        return Bundle("p\(counter)", script: loop(options.calls, "c 1 3"), seccomp: seccomp, mknodCapability: false)
    }
    for bundle in many { bundle.start() }
    for bundle in many { bundle.go() }
    let results = many.map { $0.result() }
    for bundle in many { bundle.remove() }
    let start = results.compactMap { $0["start_ns"] }.min() ?? 0, end = results.compactMap { $0["end_ns"] }.max() ?? 1
    let total = results.compactMap { $0["calls"] }.reduce(0, +)
    throughput.append(Double(total) / (Double(end - start) / 1e9))
}

func median<T: Comparable>(_ values: [T]) -> T { values.sorted()[values.count / 2] }
func us(_ ns: Int64) -> String { String(format: "%.1f", Double(ns) / 1000) }
var report = """
| call, as the container sees it | median (us) | p99 (us) | result |
|---|---:|---:|---|

"""
for row in rows {
    let result = row.name.hasPrefix("floor") ? (row.ok > 0 ? "created (20000 calls)" : "EPERM (20000 calls)")
        : row.ok > 0 ? "created (\(row.ok)/\(options.calls))" : "errno \(row.errno) (\(row.errno == 1 ? "EPERM" : "?"))"
    report += "| \(row.name) | \(us(median(row.medians))) | \(us(median(row.p99s))) | \(result) |\n"
}
report += "\n\(options.parallel) supervised containers in parallel, each \(options.calls) emulated mknod: "
    + String(format: "%.0f", median(throughput)) + " notifications/s (median of \(options.rounds) rounds; rounds: "
    + throughput.map { String(format: "%.0f", $0) }.joined(separator: ", ") + ")\n"
report += "\nEach figure is the median over \(options.rounds) rounds of that round's median / p99 over \(options.calls) calls.\n"
print(report)
/// A supervised row's median over a floor row's, as text with two decimals.
func ratio(_ row: Row, _ floor: Row) -> String {
    String(format: "%.2f", Double(median(row.medians)) / Double(max(1, median(floor.medians))))
}
if let path = options.write {
    var machine = shell("/bin/uname", ["-sr"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
    machine += ", " + (shell("/bin/sh", ["-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).out.trimmingCharacters(in: .whitespacesAndNewlines))
    machine += ", \(ProcessInfo.processInfo.activeProcessorCount) CPUs, " + shell("/usr/sbin/runc", ["--version"]).out.split(separator: "\n").first.map(String.init)!
    let text = """
    # Supervisor benchmark

    Produced by `swift build -c release && .build/release/sonde-supervise-bench --calls \(options.calls) --rounds \(options.rounds) --parallel \(options.parallel) --write \(path)`
    on \(machine), \(Date()); load average at the start: \(loadAtStart).

    Real runc busybox containers run bench/supervise-probe.c, which times each of its own mknod calls;
    `sonde supervise` (release build, no --events) answers them under a policy allowing char 1:3.
    The loop makes and unlinks /dev/n (runc's tmpfs /dev) so that the file system's own cost stays small
    and equal on both sides (on an ext4 rootfs, a mknod right after an unlink in the same directory spends
    several microseconds looking for recently deleted inodes, for both sides alike).
    Emulated means: notification received, path read from the caller's memory, the caller's status and
    user namespace read, the caller held against the policy (container root in the container's own user
    namespace, docs/supervisor.md), its root opened, the parent directory opened with
    openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) as the caller (its fsuid/fsgid, groups, umask and
    its own capabilities only, plus CAP_MKNOD), NOTIF_ID_VALID checked, mknodat, answer sent.

    \(report)
    Ratios to the floors of this run: emulated mknod \(ratio(rows[1], rows[4]))x the plain-C emulation,
    denied call \(ratio(rows[3], rows[5]))x the plain-C RECV + read + SEND. The floor rows run the same
    system calls from plain C on the host (bench/supervise-floor.c): what the kernel alone costs on this
    machine for a notification answered with EPERM, and for the emulation (status read, root open,
    openat2, NOTIF_ID_VALID, mknodat). The difference between a floor row and its supervised row is
    sonde's own work: policy decision, the caller checks of the security issue (its user namespace, one
    fstatat; its groups and capabilities set on the thread and back, two capset calls), and Swift.
    LXD forks and execs a helper per call (about 5 ms here, issue 18).

    """
    try! text.write(toFile: path, atomically: true, encoding: .utf8)
}
