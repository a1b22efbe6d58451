import Containers
import Foundation
import LinuxKit
import Recorder
import Syscalls
import Testing
import TestSupport

/// Signals, exits and crash stacks in the recording, against strace on the same program
/// (Tests/IntegrationTests/Oracle/signals.c) in a real runc container.
@Suite(.serialized) struct RecorderSignalTests {
    /// The program, built static with symbols and frame pointers, and a stripped copy.
    final class Program {
        let work: URL
        var binary: String { work.appendingPathComponent("signals").path }
        var stripped: String { work.appendingPathComponent("signals-stripped").path }

        init() throws {
            work = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-signals-\(getpid())-\(UInt32.random(in: 0...99999))")
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            let source = packageRoot.appendingPathComponent("Tests/IntegrationTests/Oracle/signals.c").path
            let built = try run("/usr/bin/gcc", ["-O0", "-g", "-fno-omit-frame-pointer", "-static", "-o", binary, source])
            guard built.status == 0 else { throw TestFailure("gcc: \(built.stderr)") }
            let strip = try run("/usr/bin/strip", ["-o", stripped, binary])
            guard strip.status == 0 else { throw TestFailure("strip: \(strip.stderr)") }
        }

        deinit { try? FileManager.default.removeItem(at: work) }
    }

    /// strace's signal and exit lines (`--- ... ---`, `+++ ... +++`) without the pid column, with
    /// what differs between two runs made equal: pids, clock ticks, and whether a core was dumped
    /// (the host's and the container's core limits differ).
    static func signalLines<S: StringProtocol>(_ lines: [S]) -> [String] {
        lines.compactMap { line -> String? in
            // strace itself sends its tracee a SIGCONT when it starts it.
            guard !line.contains("--- SIGCONT") else { return nil }
            guard let start = line.range(of: "--- SIG") ?? line.range(of: "+++ ") else { return nil }
            var text = String(line[start.lowerBound...])
            if let note = text.range(of: " (ignored)", options: .backwards), text.hasSuffix("--- (ignored)") {
                text.removeSubrange(note)
            }
            text = text.replacingOccurrences(of: #"si_pid=\d+"#, with: "si_pid=N", options: .regularExpression)
            text = text.replacingOccurrences(of: #"si_(u|s)time=\d+( /\* [0-9.]+ s \*/)?"#, with: "si_$1time=T", options: .regularExpression)
            return text.replacingOccurrences(of: " (core dumped)", with: "")
        }
    }

    /// Each thread's signal and exit lines, in order (the first column of both tools is the thread).
    /// Between threads the order may differ: under strace a thread stops at each signal.
    static func perThread<S: StringProtocol>(_ lines: [S]) -> [[String]] {
        var threads: [String: [String]] = [:]
        var order: [String] = []
        for line in lines {
            guard let shown = signalLines([line]).first, let tid = line.split(separator: " ", omittingEmptySubsequences: true).first.map({ String($0) }) else { continue }
            if threads[tid] == nil { order.append(tid) }
            threads[tid, default: []].append(shown)
        }
        return order.compactMap { threads[$0] }
    }

    /// Runs `signals MODE` under strace -f on the host: its lines, and each thread's.
    static func strace(_ program: Program, _ mode: String) throws -> (lines: [String], threads: [[String]]) {
        let out = program.work.appendingPathComponent("strace-\(mode).txt").path
        _ = try run("/usr/bin/strace", ["-f", "-q", "-o", out, program.binary, mode])
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        return (signalLines(lines), perThread(lines))
    }

    /// Runs the modes one after the other in one recorded container and returns its dump.
    static func recorded(_ program: Program, script: String, binaries: [String]? = nil,
                         prepare: (RuncContainer) throws -> Void = { _ in },
                         beforeDump: (RuncContainer) throws -> Void = { _ in }) async throws -> (text: [String], json: [String]) {
        let settings = RecorderSettings.isolated("sonde-sig", bytesPerCPU: 1 << 20, poolSize: 8)
        defer { try? FlightRecorder.stop(settings) }
        let recorder = try FlightRecorder.start(settings, captures: { SyscallTable.x86_64[$0]?.captures ?? [] })
        let collection = ContainerCollection(cgroups: try CgroupV2.find(), sources: [RuncSource()])
        let service = RecorderService(recorder: recorder, collection: collection,
                                      options: .init(selector: ContainerSelector(runtimes: [.runc])),
                                      notice: { print("sonde:", $0) }, render: { _, _ in "" })
        // The script waits for the go file: the recorder takes the container before anything happens.
        let container = try RuncContainer(prefix: "sonde-it-signals", args: [
            "sh", "-c", "while [ ! -e /tmp/go ]; do usleep 20000; done; " + script,
        ], extraBinaries: binaries ?? [program.binary, program.stripped])
        defer { container.remove() }
        try prepare(container)
        let ready = Locked(false)
        let task = Task { try await service.run { ready.set(true) } }
        defer { task.cancel() }
        #expect(try await eventually { ready.get() })
        try container.start()
        let taken = try await eventually(timeout: .seconds(20)) {
            ((try? recorder.recorded()) ?? []).contains { $0.container.name == container.name }
        }
        #expect(taken, "the recorder did not take the container")
        FileManager.default.createFile(atPath: container.rootfs.appendingPathComponent("tmp/go").path, contents: nil)
        let done = container.rootfs.appendingPathComponent("tmp/done").path
        #expect(try await eventually(timeout: .seconds(30)) { FileManager.default.fileExists(atPath: done) },
                "the script did not finish")
        let entry = try #require(try recorder.recorded().first { $0.container.name == container.name }?.container)
        try beforeDump(container)
        let dump = try recorder.dump(entry)
        return (DumpRenderer.strace.text(dump), DumpRenderer.strace.json(dump, container: entry))
    }

    @Test func signalsAndExitsAreInTheRecordingAsStraceShowsThem() async throws {
        let program = try Program()
        let usr1 = try Self.strace(program, "usr1"), term = try Self.strace(program, "term")
        #expect(usr1.lines.count + term.lines.count == 8, "\(usr1.lines + term.lines)")
        let dump = try await Self.recorded(program, script: "/bin/signals usr1; /bin/signals term; touch /tmp/done")
        // Every thread strace saw has its twin in the recording, line for line (the container's
        // shell and runc's threads have lines of their own besides).
        var recorded = Self.perThread(dump.text)
        for thread in usr1.threads + term.threads {
            if let index = recorded.firstIndex(of: thread) {
                recorded.remove(at: index)
            } else {
                Issue.record("no thread with \(thread) in:\n\(dump.text.filter { $0.contains("---") || $0.contains("+++") }.suffix(20).joined(separator: "\n"))")
            }
        }
        // The JSON says who sent SIGTERM and what killed the child.
        #expect(dump.json.contains { $0.contains("\"name\":\"SIGTERM\"") && $0.contains("\"sender_pid\":") })
        #expect(dump.json.contains { $0.contains("\"killed_by\":\"SIGTERM\"") })
        #expect(dump.json.contains { $0.contains("\"exit_code\":3") })
    }

    @Test func aCrashShowsTheSignalTheExitAndTheNamedStack() async throws {
        let program = try Program()
        let expected = try Self.strace(program, "segv").lines
        #expect(expected.count == 2, "\(expected)")
        let dump = try await Self.recorded(program, script: "/bin/signals segv; /bin/signals-stripped segv; touch /tmp/done")
        let text = dump.text.joined(separator: "\n")
        let shown = Self.signalLines(dump.text).filter { $0.contains("SIGSEGV") }
        // Each run: the signal line, then the exit line; the shell's SIGCHLD (CLD_DUMPED or
        // CLD_KILLED) is not counted here.
        #expect(shown.filter { !$0.contains("SIGCHLD") } == expected + expected, "\(text)")

        // The stack, under the signal line, as strace -k prints frames: the binary with symbols
        // names the faulting function and its callers.
        print(dump.text.filter { $0.contains("SIGSEGV") || $0.contains(" > ") }.joined(separator: "\n"))
        let frames = dump.text.filter { $0.hasPrefix(" > ") || $0.contains("\n > ") }
            .flatMap { $0.split(separator: "\n").filter { $0.contains(" > ") } }
        #expect(frames.contains { $0.contains("/bin/signals(crash_here+0x") }, "\(text)")
        #expect(frames.contains { $0.contains("/bin/signals(level_one+0x") }, "\(text)")
        #expect(frames.contains { $0.contains("/bin/signals(main+0x") }, "\(text)")
        // The stripped binary: the module and the address in it, no name.
        let stripped = frames.filter { $0.contains("/bin/signals-stripped") }
        #expect(!stripped.isEmpty && stripped.allSatisfy { $0.contains("/bin/signals-stripped() [0x") }, "\(text)")
        // The faulting frame's address is crash_here's, as nm says, in both binaries.
        let symbols = try run("/usr/bin/nm", [program.binary]).stdout
        let crashHere = try #require(symbols.split(separator: "\n").first { $0.hasSuffix(" T crash_here") }
            .flatMap { UInt64($0.split(separator: " ")[0], radix: 16) })
        let first = try #require(stripped.first)
        let address = try #require(first.split(separator: "[0x").last.flatMap { UInt64($0.dropLast(), radix: 16) })
        #expect(address >= crashHere && address < crashHere + 64, "\(first) vs crash_here at \(String(crashHere, radix: 16))")
        // The JSON carries the frames too.
        #expect(dump.json.contains { $0.contains("\"stack\":") && $0.contains("\"symbol\":\"crash_here\"") })
    }

    /// The files that name a crash's frames are the container's. The stripped binary runs in the
    /// container at the very path where the host keeps the binary with symbols (same build id):
    /// a reader that resolved the path outside the container's root would name the frames. After
    /// the crash the container replaces its binary with a symlink to that absolute path, and plants
    /// FIFOs where libraries are looked for. The dump reads none of it: it does not hang, and the
    /// frames keep their build id unnamed.
    @Test func symbolisingStaysInsideTheContainersRoot() async throws {
        let program = try Program()
        let path = program.binary // the host's copy with symbols lives here
        let dump = try await Self.recorded(program, script: "\(path) segv; touch /tmp/done; sleep 600", binaries: [],
                                           prepare: { container in
            let inside = container.rootfs.path + path
            try FileManager.default.createDirectory(atPath: (inside as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: program.stripped, toPath: inside)
        }, beforeDump: { container in
            let inside = container.rootfs.path + path
            try FileManager.default.removeItem(atPath: inside)
            try FileManager.default.createSymbolicLink(atPath: inside, withDestinationPath: path)
            for directory in ["lib", "usr/lib"] {
                let dir = container.rootfs.appendingPathComponent(directory).path
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                #expect(mkfifo(dir + "/libfifo.so.1", 0o644) == 0)
            }
        })
        let frames = dump.text.filter { $0.hasPrefix(" > ") || $0.contains("\n > ") }.flatMap { $0.split(separator: "\n") }
        #expect(!frames.isEmpty, "\(dump.text.suffix(20))")
        #expect(!frames.contains { $0.contains("crash_here") }, "a host file named the frames: \(frames)")
        #expect(frames.contains { $0.contains(" > build-id ") }, "\(frames)")
    }
}
