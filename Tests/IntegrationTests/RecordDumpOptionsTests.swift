import Containers
import Foundation
import LinuxKit
import Recorder
import Syscalls
import Testing
import TestSupport

/// strace's reading options on `sonde record dump`, against one recorded runc container.
@Suite(.serialized) struct RecordDumpOptionsTests {
    @Test func straceReadingOptionsFilterAndDecorateTheDump() async throws {
        let settings = RecorderSettings.isolated("sonde-opt", bytesPerCPU: 1 << 20, poolSize: 8)
        defer { try? FlightRecorder.stop(settings) }
        let recorder = try FlightRecorder.start(settings, captures: { SyscallTable.x86_64[$0]?.captures ?? [] })
        let collection = ContainerCollection(cgroups: try CgroupV2.find(), sources: [RuncSource()])
        let service = RecorderService(recorder: recorder, collection: collection,
                                      options: .init(selector: ContainerSelector(runtimes: [.runc])),
                                      notice: { print("sonde:", $0) }, render: { _, _ in "" })
        // cat opens /etc/passwd and reads it through a descriptor; ls fails on a missing path; the
        // shell's usleep blocks long enough for its calls to have their own exit time.
        let container = try RuncContainer(prefix: "sonde-it-options", args: [
            "sh", "-c", "while [ ! -e /tmp/go ]; do usleep 20000; done; cat /etc/passwd > /dev/null; ls /nonexistent; touch /tmp/done",
        ])
        defer { container.remove() }
        try "root:x:0:0:root:/root:/bin/sh\n".write(to: container.rootfs.appendingPathComponent("etc/passwd"), atomically: true, encoding: .utf8)
        let ready = Locked(false)
        let task = Task { try await service.run { ready.set(true) } }
        defer { task.cancel() }
        #expect(try await eventually { ready.get() })
        try container.start()
        #expect(try await eventually(timeout: .seconds(20)) {
            ((try? recorder.recorded()) ?? []).contains { $0.container.name == container.name }
        })
        FileManager.default.createFile(atPath: container.rootfs.appendingPathComponent("tmp/go").path, contents: nil)
        #expect(try await eventually(timeout: .seconds(30)) {
            FileManager.default.fileExists(atPath: container.rootfs.appendingPathComponent("tmp/done").path)
        })
        func dump(_ options: [String]) throws -> [Substring] {
            let result = try run(sondeExecutable, ["record", "dump", "-c", container.name, "--pin-directory", settings.pinDirectory,
                                                   "--state-directory", settings.stateDirectory] + options)
            #expect(result.status == 0, "\(options): \(result.stderr)")
            return result.stdout.split(separator: "\n")
        }
        func calls(_ lines: [Substring]) -> [Substring] { lines.filter { !$0.contains(" --- ") && !$0.contains(" +++ ") } }

        // -e trace=%file -Z: failed file calls only, among them ls's.
        let failedFiles = calls(try dump(["-e", "trace=%file", "-Z"]))
        #expect(failedFiles.contains { $0.contains("\"/nonexistent\"") }, "\(failedFiles.suffix(10))")
        #expect(failedFiles.allSatisfy { $0.contains(" = -1 E") }, "\(failedFiles.filter { !$0.contains(" = -1 E") }.prefix(5))")
        // The name after the tid and the time; a call whose entry was lost reads `<... NAME resumed>`.
        let fileCalls = Set(failedFiles.compactMap { line in
            line.firstMatch(of: /^ *\d+ [0-9:.]+ (?:<\.\.\. )?([a-z_0-9]+)/).map { String($0.1) }
        })
        #expect(fileCalls.allSatisfy { TraceClass.of(String($0))?.contains(.file) == true }, "\(fileCalls)")

        // -P /etc/passwd -y: cat's open, its reads through the descriptor, its close, named.
        let passwd = calls(try dump(["-P", "/etc/passwd", "-y"]))
        #expect(passwd.contains { $0.contains("openat(AT_FDCWD, \"/etc/passwd\"") && $0.contains("= 3</etc/passwd>") }, "\(passwd)")
        // (busybox's cat copies with sendfile; a read would show the same descriptor.)
        #expect(passwd.contains { $0.contains("sendfile(1, 3</etc/passwd>, ") || $0.contains("read(3</etc/passwd>, \"root:x:0:0") }, "\(passwd)")
        #expect(passwd.contains { $0.contains("close(3</etc/passwd>) = 0") }, "\(passwd)")
        #expect(passwd.allSatisfy { $0.contains("/etc/passwd") }, "\(passwd)")

        // -T -ttt: epoch times; the blocking sleeps have their durations.
        let sleeps = calls(try dump(["-e", "trace=/nanosleep", "-T", "-ttt"]))
        #expect(!sleeps.isEmpty && sleeps.allSatisfy { $0.contains("nanosleep(") }, "\(sleeps.prefix(5))")
        #expect(sleeps.allSatisfy { $0.range(of: #"^ *\d+ \d{10}\.\d{6} "#, options: .regularExpression) != nil }, "\(sleeps.prefix(3))")
        #expect(sleeps.contains { $0.range(of: #" <0\.0[0-9]{5}>$"#, options: .regularExpression) != nil }, "\(sleeps.prefix(3))")

        // -r: the first line is at 0, the others count from the line before.
        let relative = try dump(["-r", "--last", "5"])
        #expect(relative.first?.range(of: #"^ *\d+ +0\.000000 "#, options: .regularExpression) != nil, "\(relative.first ?? "")")

        // --summary: strace -c's table, with ls's failed calls counted.
        let table = try dump(["--summary"])
        #expect(table.first == "% time     seconds  usecs/call     calls    errors syscall", "\(table.prefix(3))")
        #expect(table.contains { $0.hasSuffix(" total") })
        #expect(table.contains { $0.hasSuffix(" execve") })

        // JSON keeps only what the set names (and the process events).
        let json = try dump(["-e", "trace=execve,exit_group", "-o", "json"])
        let objects = json.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objects.contains { $0["syscall"] as? String == "execve" })
        #expect(objects.allSatisfy { ["execve", "exit_group", nil].contains($0["syscall"] as? String) })

        // What strace refuses is refused, with strace's words.
        let refused = try run(sondeExecutable, ["record", "dump", "-c", container.name, "--pin-directory", settings.pinDirectory,
                                                "--state-directory", settings.stateDirectory, "-e", "trace=nosuchcall"])
        #expect(refused.status != 0 && refused.stderr.contains("invalid system call 'nosuchcall'"), "\(refused.stderr)")
    }
}
