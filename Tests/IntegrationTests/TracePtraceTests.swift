import Containers
import Events
import Foundation
import Gadgets
import LinuxKit
import Testing
import TestSupport

/// `sonde trace ptrace` against a real runc container whose program traces its own child.
@Suite(.serialized) struct TracePtraceTests {
    @Test func attachPeekAndDetachShowRequestTargetAndResult() async throws {
        try requireRoot()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-it-ptrace-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("peek.c").path, binary = directory.appendingPathComponent("peek").path
        // Waits for /tmp/go, then attaches to its child, reads an unmapped word (EIO) and lets go.
        try """
            #include <signal.h>
            #include <stdio.h>
            #include <sys/ptrace.h>
            #include <sys/wait.h>
            #include <unistd.h>
            int main(void) {
                while (access("/tmp/go", F_OK) != 0) usleep(20000);
                pid_t child = fork();
                if (child == 0) { pause(); return 0; }
                int status;
                if (ptrace(PTRACE_ATTACH, child, 0, 0) != 0) return 1;
                waitpid(child, &status, 0);
                ptrace(PTRACE_PEEKDATA, child, (void *)8, 0);
                ptrace(PTRACE_DETACH, child, 0, 0);
                printf("child %d\\n", child);
                kill(child, SIGKILL);
                waitpid(child, &status, 0);
                return 0;
            }
            """.write(toFile: source, atomically: true, encoding: .utf8)
        let built = try run("/usr/bin/gcc", ["-O1", "-static", "-o", binary, source])
        try #require(built.status == 0, "\(built.stderr)")

        let c = try RuncContainer(prefix: "sonde-it-ptrace", args: ["/bin/peek"], extraBinaries: [binary])
        defer { c.remove() }
        try c.start()
        let gadget = try await RunningGadget.start(PtraceGadget(), selector: ContainerSelector(names: [c.name]))
        FileManager.default.createFile(atPath: c.rootfs.appendingPathComponent("tmp/go").path, contents: nil)

        let attach = try await gadget.wait { $0.string("request") == "PTRACE_ATTACH" }
        let peek = try await gadget.wait { $0.string("request") == "PTRACE_PEEKDATA" }
        let detach = try await gadget.wait { $0.string("request") == "PTRACE_DETACH" }
        let stats = try await gadget.stop()

        let a = try #require(attach)
        #expect(a.container?.name == c.name)
        #expect(a.process.comm == "peek")
        #expect(a.field("ret") == .result(0))
        // The target as passed: the child's pid in the container's pid namespace.
        guard case .int(let target)? = a.field("target_pid") else { Issue.record("no target_pid"); return }
        #expect(target > 1)
        let p = try #require(peek)
        #expect(p.field("target_pid") == .int(target))
        #expect(p.field("addr") == .uint(8))
        #expect(p.field("ret") == .result(-Int64(EIO)))
        #expect(detach?.field("ret") == .result(0))
        #expect(stats.lost == 0, "\(stats.lossSummary ?? "")")
    }
}
