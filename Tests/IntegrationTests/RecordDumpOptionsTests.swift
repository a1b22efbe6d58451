import Containers
import Foundation
import LinuxKit
import Recorder
import Syscalls
import Testing
import TestSupport

/// strace's reading options on `sonde record dump`, against one recorded runc container.
@Suite(.serialized) struct RecordDumpOptionsTests {
    /// A runc container recorded from its start, run until it creates /tmp/done after /tmp/go
    /// appears; `body` gets it, `sonde record dump`'s arguments for it, and a way to run that dump
    /// with options (which must succeed).
    func withRecordedContainer(prefix: String, args: [String], extraBinaries: [String] = [],
                               prepare: (RuncContainer) throws -> Void = { _ in },
                               _ body: (RuncContainer, _ dumpArguments: [String], _ dump: ([String]) throws -> [Substring]) async throws -> Void) async throws {
        let settings = RecorderSettings.isolated("sonde-opt", bytesPerCPU: 1 << 20, poolSize: 8)
        defer { try? FlightRecorder.stop(settings) }
        let recorder = try FlightRecorder.start(settings, captures: { SyscallTable.x86_64[$0]?.captures ?? [] })
        let collection = ContainerCollection(cgroups: try CgroupV2.find(), sources: [RuncSource()])
        let service = RecorderService(recorder: recorder, collection: collection,
                                      options: .init(selector: ContainerSelector(runtimes: [.runc])),
                                      notice: { print("sonde:", $0) }, render: { _, _ in "" })
        let container = try RuncContainer(prefix: prefix, args: args, extraBinaries: extraBinaries)
        defer { container.remove() }
        try prepare(container)
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
        let arguments = ["record", "dump", "-c", container.name, "--pin-directory", settings.pinDirectory, "--state-directory", settings.stateDirectory]
        try await body(container, arguments) { options in
            let result = try run(sondeExecutable, arguments + options)
            #expect(result.status == 0, "\(options): \(result.stderr)")
            return result.stdout.split(separator: "\n")
        }
    }

    @Test func straceReadingOptionsFilterAndDecorateTheDump() async throws {
        // cat opens /etc/passwd and reads it through a descriptor; ls fails on a missing path; the
        // shell's usleep blocks long enough for its calls to have their own exit time.
        try await withRecordedContainer(prefix: "sonde-it-options", args: [
            "sh", "-c", "while [ ! -e /tmp/go ]; do usleep 20000; done; cat /etc/passwd > /dev/null; ls /nonexistent; touch /tmp/done",
        ], prepare: { container in
            try "root:x:0:0:root:/root:/bin/sh\n".write(to: container.rootfs.appendingPathComponent("etc/passwd"), atomically: true, encoding: .utf8)
        }) { _, arguments, dump in
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
            let refused = try run(sondeExecutable, arguments + ["-e", "trace=nosuchcall"])
            #expect(refused.status != 0 && refused.stderr.contains("invalid system call 'nosuchcall'"), "\(refused.stderr)")
        }
    }

    /// -y on a process that still runs: what the recording cannot name (a socket, a pipe, the
    /// stdout runc gave it) comes from /proc, as that process's own /proc links say; once the
    /// process has ended, nothing is asked.
    @Test func descriptorsOfALiveProcessAreNamedFromProc() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-live-fds-\(getpid())-\(UInt32.random(in: 0...9999))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let binary = work.appendingPathComponent("livefds").path
        try """
        #include <fcntl.h>
        #include <sys/socket.h>
        #include <unistd.h>
        int main(void) {
            while (access("/tmp/go", F_OK) != 0) usleep(20000);
            int s = socket(AF_INET, SOCK_STREAM, 0);
            int p[2];
            (void)!pipe(p);
            (void)!write(p[1], "x", 1);
            (void)!fcntl(s, F_DUPFD, 10);
            (void)!write(1, "", 0);
            close(creat("/tmp/done", 0600));
            pause();
            return 0;
        }
        """.write(toFile: binary + ".c", atomically: true, encoding: .utf8)
        let built = try run("/usr/bin/gcc", ["-O1", "-static", "-o", binary, binary + ".c"])
        #expect(built.status == 0, "\(built.stderr)")

        try await withRecordedContainer(prefix: "sonde-it-live-fds", args: ["/bin/livefds"], extraBinaries: [binary]) { container, _, dump in
            let pid = try container.pid()
            func proc(_ fd: Int) -> String { Files.link("/proc/\(pid)/fd/\(fd)") ?? "?" }
            let (socket, pipe, stdout) = (proc(3), proc(4), proc(1))
            #expect(socket.hasPrefix("socket:[") && pipe.hasPrefix("pipe:["), "\(socket) \(pipe)")
            let lines = try dump(["-y", "-e", "trace=socket,pipe,pipe2,write,fcntl"])
            for want in ["socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3<\(socket)>", "pipe2([4<\(pipe)>, 5<\(pipe)>], 0) = 0",
                         "write(5<\(pipe)>, \"x\", 1) = 1", "fcntl(3<\(socket)>, F_DUPFD, 10) = 10<\(socket)>", "write(1<\(stdout)>, \"\", 0) = 0"] {
                #expect(lines.contains { $0.hasSuffix(want) }, "no `\(want)` in:\n\(lines.joined(separator: "\n"))")
            }
            // Ended: its descriptors are no longer asked for (the pid could be another's by now).
            _ = try run(RuncContainer.runc, ["kill", container.name, "KILL"])
            #expect(try await eventually(timeout: .seconds(20)) { kill(pid, 0) != 0 })
            let after = try dump(["-y", "-e", "trace=socket"])
            #expect(after.contains { $0.hasSuffix("socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3") }, "\(after)")
        }
    }
}
