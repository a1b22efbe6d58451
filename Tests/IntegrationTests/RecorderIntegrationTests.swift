import Containers
import Foundation
import LinuxKit
import Recorder
import Syscalls
import Testing
import TestSupport

/// The flight recorder against strace, and against containers that live only a moment.
@Suite(.serialized) struct RecorderIntegrationTests {
    /// One call as both tools print it: name, result, and every quoted string argument.
    struct Call: Equatable, CustomStringConvertible {
        var name: String
        var result: String
        var strings: [String]
        var description: String { "\(name)(\(strings)) = \(result)" }

        /// Parses `[pid] [time] name(args) = result` as strace -f and `sonde record dump` print it.
        init?(_ line: Substring) {
            guard let open = line.firstIndex(of: "("), let equals = line.range(of: " = ", options: .backwards) else { return nil }
            name = String(line[..<open].split(separator: " ").last ?? "")
            result = line[equals.upperBound...].trimmingCharacters(in: .whitespaces)
            strings = Call.quoted(line[open..<equals.lowerBound])
        }

        static func quoted(_ text: Substring) -> [String] {
            var strings: [String] = []
            var current: String?
            var escaped = false
            for character in text {
                if var string = current {
                    if escaped { string.append(character); escaped = false }
                    else if character == "\\" { string.append(character); escaped = true }
                    else if character == "\"" { strings.append(string); current = nil; continue }
                    else { string.append(character) }
                    current = string
                } else if character == "\"" {
                    current = ""
                }
            }
            return strings
        }
    }

    /// The calls between the oracle program's markers.
    static func between(_ lines: [Substring]) -> [Call] {
        guard let begin = lines.firstIndex(where: { $0.contains("SONDE-ORACLE-BEGIN") }),
              let end = lines.firstIndex(where: { $0.contains("SONDE-ORACLE-END") }), begin < end else { return [] }
        return lines[begin...end].compactMap(Call.init)
    }

    func settings() -> RecorderSettings {
        .isolated("sonde-it", bytesPerCPU: 1 << 20, poolSize: 8)
    }

    @Test func dumpMatchesStraceOnTheSameProgram() async throws {
        // The program, built static so it runs in a busybox container.
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-oracle-\(getpid())-\(UInt32.random(in: 0...9999))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let binary = work.appendingPathComponent("oracle").path
        let source = packageRoot.appendingPathComponent("Tests/IntegrationTests/Oracle/oracle.c").path
        let built = try run("/usr/bin/gcc", ["-O1", "-static", "-o", binary, source])
        #expect(built.status == 0, "\(built.stderr)")

        // The same data at the same absolute path on the host and in the container's rootfs.
        let dataDir = "/tmp/sonde-oracle-data-\(getpid())"
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        try "some data for the oracle\n".write(toFile: dataDir + "/data.txt", atomically: true, encoding: .utf8)

        // 1. strace on the host.
        let straceOut = work.appendingPathComponent("strace.txt").path
        let traced = try run("/usr/bin/strace", ["-f", "-qq", "-s", "32", "-o", straceOut, binary, dataDir])
        #expect(traced.status == 0, "\(traced.stderr)")
        let expected = Self.between(try String(contentsOfFile: straceOut, encoding: .utf8).split(separator: "\n"))
        #expect(expected.count > 20)

        // 2. The flight recorder, for a container that starts after it and exits at once.
        let settings = settings()
        defer { try? FlightRecorder.stop(settings) }
        let recorder = try FlightRecorder.start(settings, captures: { SyscallTable.x86_64[$0]?.captures ?? [] })
        let collection = ContainerCollection(cgroups: try CgroupV2.find(), sources: [RuncSource()])
        let service = RecorderService(recorder: recorder, collection: collection,
                                      options: .init(selector: ContainerSelector(runtimes: [.runc])),
                                      notice: { print("sonde:", $0) }, render: { _, _ in "" })
        let container = try RuncContainer(prefix: "sonde-it-oracle", args: ["/bin/oracle", dataDir],
                                          extraBinaries: [binary], hostNetwork: true)
        defer { container.remove() }
        let inside = container.rootfs.path + dataDir
        try FileManager.default.createDirectory(atPath: inside, withIntermediateDirectories: true)
        try "some data for the oracle\n".write(toFile: inside + "/data.txt", atomically: true, encoding: .utf8)

        let ready = Locked(false)
        let task = Task { try await service.run { ready.set(true) } }
        #expect(try await eventually { ready.get() })
        let ran = try container.runToCompletion()
        #expect(ran.status == 0, "\(ran.stderr)")
        // Let the service claim the ring of the container, gone by now.
        let claimed = try await eventually(timeout: .seconds(15)) {
            ((try? recorder.recorded()) ?? []).contains { $0.container.name == container.name }
        }
        task.cancel()
        _ = try? await task.value
        #expect(claimed, "the container's recording was not kept")
        let recorded = try #require(try recorder.recorded().first { $0.container.name == container.name }?.container)
        let dump = try recorder.dump(recorded)
        let lines = DumpRenderer.strace.text(dump)

        // From its first syscall: the entrypoint's execve is in the dump.
        #expect(lines.contains { $0.contains("execve(\"/bin/oracle\", [\"/bin/oracle\", \"\(dataDir)\"]") && $0.hasSuffix("= 0") },
                "no entrypoint execve in:\n\(lines.prefix(40).joined(separator: "\n"))")

        // 3. Call by call: names, order, results and strings.
        let actual = Self.between(lines.map { Substring($0) })
        var matched = 0
        for (index, want) in expected.enumerated() where index < actual.count && actual[index] == want { matched += 1 }
        let rate = Double(matched) / Double(max(expected.count, 1))
        print("sonde oracle: \(matched) of \(expected.count) calls match strace (\(Int(rate * 100))%)")
        for (index, want) in expected.enumerated() where index >= actual.count || actual[index] != want {
            print("  strace: \(want)\n  sonde:  \(index < actual.count ? actual[index].description : "(missing)")")
        }
        #expect(actual.map(\.name) == expected.map(\.name))
        #expect(actual.map(\.result) == expected.map(\.result))
        #expect(matched == expected.count)

        // Whole lines where the kernel writes back into an argument whose direction another one
        // decides (ioctl's request, prctl's option): the call from its name on, with the columns
        // strace pads before ` = ` and the descriptor numbers made equal.
        func whole(_ line: Substring, _ name: String) -> String? {
            guard let start = line.range(of: name + "(") else { return nil }
            return String(line[start.lowerBound...])
                .replacingOccurrences(of: #" +="#, with: " =", options: .regularExpression)
                .replacingOccurrences(of: #"^(\w+)\(\d+,"#, with: "$1(N,", options: .regularExpression)
        }
        let straceLines = try String(contentsOfFile: straceOut, encoding: .utf8).split(separator: "\n")
        for (marker, name) in [("FIONREAD", "ioctl"), ("PR_SET_NAME", "prctl"), ("PR_GET_NAME", "prctl"), ("sendfile(", "sendfile"),
                               ("splice(", "splice"), ("copy_file_range(", "copy_file_range"), ("F_GETLK", "fcntl"),
                               ("SO_LINGER", "getsockopt")] {
            let want = straceLines.drop { !$0.contains("SONDE-ORACLE-BEGIN") }.first { $0.contains(marker) }.flatMap { whole($0, name) }
            let got = lines.drop { !$0.contains("SONDE-ORACLE-BEGIN") }.first { $0.contains(marker) }.flatMap { whole(Substring($0), name) }
            #expect(want != nil && got == want, "\(marker): strace \(want ?? "-"), sonde \(got ?? "-")")
        }
    }

    @Test func aCrashWritesTheContainersDump() async throws {
        let settings = settings()
        defer { try? FlightRecorder.stop(settings) }
        let crashes = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-crash-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: crashes) }
        let recorder = try FlightRecorder.start(settings, captures: { SyscallTable.x86_64[$0]?.captures ?? [] })
        // The crash is a child's: the kernel keeps signals without a handler from killing pid 1 of
        // a pid namespace, which the container's shell is.
        let container = try RuncContainer(prefix: "sonde-it-crash", args: [
            "sh", "-c", "while [ ! -e /tmp/go ]; do usleep 20000; done; /bin/true before-the-crash; sh -c 'kill -SEGV $$'; exit 0",
        ])
        defer { container.remove() }
        try container.start()
        let collection = ContainerCollection(cgroups: try CgroupV2.find(), sources: [RuncSource()])
        let service = RecorderService(recorder: recorder, collection: collection,
                                      options: .init(selector: ContainerSelector(runtimes: [.runc]), crashDirectory: crashes),
                                      notice: { print("sonde:", $0) },
                                      render: { dump, _ in DumpRenderer.strace.text(dump).joined(separator: "\n") })
        let ready = Locked(false)
        let task = Task { try await service.run { ready.set(true) } }
        #expect(try await eventually { ready.get() })
        FileManager.default.createFile(atPath: container.rootfs.appendingPathComponent("tmp/go").path, contents: nil)
        let written = try await eventually(timeout: .seconds(20)) {
            ((try? FileManager.default.contentsOfDirectory(atPath: crashes)) ?? []).contains { $0.hasPrefix(container.name) }
        }
        task.cancel()
        _ = try? await task.value
        #expect(written, "no crash dump in \(crashes)")
        guard written else { return }
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: crashes).first { $0.hasPrefix(container.name) })
        let text = try String(contentsOfFile: crashes + "/" + file, encoding: .utf8)
        #expect(text.hasPrefix("# sonde crash dump of \(container.name)"))
        #expect(text.contains("was killed by signal 11"))
        #expect(text.contains("before-the-crash"))
        #expect(text.contains("kill("))
    }

    @Test func dumpingWhatWasNeverRecordedSaysWhatIs() throws {
        let settings = settings()
        defer { try? FlightRecorder.stop(settings) }
        _ = try FlightRecorder.start(settings, captures: { SyscallTable.x86_64[$0]?.captures ?? [] })
        let result = try run(sondeExecutable, ["record", "dump", "-c", "never-recorded",
                                               "--pin-directory", settings.pinDirectory, "--state-directory", settings.stateDirectory])
        #expect(result.status != 0)
        #expect(result.stderr.contains("never-recorded was not recorded"), "\(result.stderr)")
        let stopped = try run(sondeExecutable, ["record", "dump", "-c", "x", "--pin-directory", "/sys/fs/bpf/sonde-none-\(getpid())"])
        #expect(stopped.stderr.contains("the flight recorder is not running"), "\(stopped.stderr)")
    }

    @Test func recordingOutlivesSondeAndALaterProcessReadsAndJoinsIt() throws {
        let settings = settings()
        let location = ["--pin-directory", settings.pinDirectory, "--state-directory", settings.stateDirectory]
        defer { _ = try? run(sondeExecutable, ["record", "stop"] + location) }
        let cgroup = try TestCgroup(prefix: "sonde-it-restart")
        defer { cgroup.remove() }
        let cgroups = cgroup.cgroups, path = cgroup.path
        func runInCgroup(_ marker: String) throws {
            let result = try run("/bin/sh", ["-c", "echo $$ > \(cgroups.directory(of: path))/cgroup.procs && exec /bin/true \(marker)"])
            #expect(result.status == 0, "\(result.stderr)")
        }
        func dump() throws -> String {
            let result = try run(sondeExecutable, ["record", "dump", "--cgroup", path] + location)
            #expect(result.status == 0, "\(result.stderr)")
            return result.stdout
        }

        // A first sonde process starts recording and goes away.
        let first = try run(sondeExecutable, ["record", "start", "--cgroup", path, "--timeout", "1"] + location)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("recording goes on"))
        // Recorded with no sonde process running.
        try runInCgroup("while-no-sonde-runs")
        #expect(try dump().contains("while-no-sonde-runs"))

        // A later one joins what runs, and recording goes on into the same rings.
        let second = try run(sondeExecutable, ["record", "start", "--cgroup", path, "--timeout", "1"] + location)
        #expect(second.stderr.contains("joined the running flight recorder"), "\(second.stderr)")
        try runInCgroup("after-the-restart")
        let text = try dump()
        #expect(text.contains("while-no-sonde-runs") && text.contains("after-the-restart"))
        let list = try run(sondeExecutable, ["record", "list"] + location)
        #expect(list.stdout.contains(String(path.dropFirst())))

        let stopped = try run(sondeExecutable, ["record", "stop"] + location)
        #expect(stopped.status == 0)
        #expect(!Files.exists(settings.pinDirectory))
    }

    /// `record stop` while a `record start` still runs: every program of the recorder is detached
    /// (its syscall programs at once, the links the start process holds when it notices and exits),
    /// and nothing it removed comes back.
    @Test func recordStopEndsARunningRecordStart() async throws {
        let settings = settings()
        let location = ["--pin-directory", settings.pinDirectory, "--state-directory", settings.stateDirectory]
        defer { _ = try? run(sondeExecutable, ["record", "stop"] + location) }
        let cgroup = try TestCgroup(prefix: "sonde-it-stop")
        defer { cgroup.remove() }
        let cgroups = cgroup.cgroups, path = cgroup.path
        // Recorders of others (a daemon's) may be attached too: this one's links are counted.
        func recorderLinks() -> Int { ((try? attachedPrograms()) ?? []).filter { $0.hasPrefix("sonde_rec_") }.count }
        let others = recorderLinks()
        let start = try BackgroundCommand(sondeExecutable, ["record", "start", "--cgroup", path, "--timeout", "300"] + location)
        defer { start.stop(signal: SIGKILL) }
        let recording = try await eventually(timeout: .seconds(30)) {
            start.stderr.contains("flight recorder started") && recorderLinks() > others
        }
        #expect(recording, "\(start.stderr)")

        let stopped = try run(sondeExecutable, ["record", "stop"] + location)
        #expect(stopped.status == 0, "\(stopped.stderr)")
        // The start process notices at its next look (every 2 s) and exits, letting its links go.
        #expect(start.wait(timeout: 30) == 0, "\(start.stderr)")
        #expect(start.stderr.contains("the flight recorder was stopped"), "\(start.stderr)")
        #expect(!start.stderr.contains("recording goes on in the kernel"), "\(start.stderr)")
        let detached = try await eventually(timeout: .seconds(20)) { recorderLinks() == others }
        #expect(detached, "\((try? attachedPrograms()) ?? [])")
        #expect(!FileManager.default.fileExists(atPath: settings.stateDirectory))
        #expect(!FileManager.default.fileExists(atPath: settings.pinDirectory))
        let list = try run(sondeExecutable, ["record", "list"] + location)
        #expect(list.status != 0 && list.stderr.contains("not running"), "\(list.stdout) \(list.stderr)")
    }

    @Test func aThreadWhoseProcessMovesIntoARecordedCgroupIsRecorded() throws {
        let settings = settings()
        let location = ["--pin-directory", settings.pinDirectory, "--state-directory", settings.stateDirectory]
        defer { _ = try? run(sondeExecutable, ["record", "stop"] + location) }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-mover-\(getpid())-\(UInt32.random(in: 0...9999))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let binary = work.appendingPathComponent("mover").path
        let source = packageRoot.appendingPathComponent("Tests/IntegrationTests/Oracle/mover.c").path
        let built = try run("/usr/bin/gcc", ["-O1", "-pthread", "-o", binary, source])
        #expect(built.status == 0, "\(built.stderr)")

        let cgroup = try TestCgroup(prefix: "sonde-it-mover")
        defer { cgroup.remove() }
        let cgroups = cgroup.cgroups, path = cgroup.path
        let started = try run(sondeExecutable, ["record", "start", "--cgroup", path, "--timeout", "1"] + location)
        #expect(started.status == 0, "\(started.stderr)")

        let marker = "/sonde-mover-after-the-move-\(getpid())"
        let moved = try run(binary, [cgroups.directory(of: path) + "/cgroup.procs", marker])
        #expect(moved.status == 0, "mover exited with \(moved.status): \(moved.stderr)")
        let dump = try run(sondeExecutable, ["record", "dump", "--cgroup", path] + location)
        #expect(dump.status == 0, "\(dump.stderr)")
        #expect(dump.stdout.contains(marker), "the second thread's syscall after the move is missing:\n\(dump.stdout.suffix(2000))")
        #expect(!dump.stdout.contains("/sonde-mover-before-the-move"))
    }
}
