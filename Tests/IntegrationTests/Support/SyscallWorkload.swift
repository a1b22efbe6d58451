import Foundation
import TestSupport

/// A static program for the syscall-metrics tests: in its container it waits until the file /go
/// exists in its root (the test creates it in the bundle's rootfs once the tracer counts), then
/// handles `signals` signals (each handler returns with rt_sigreturn), forks `children` children
/// that end with exit_group, and makes `getpgid(0)` calls that succeed and `rmdir` calls that fail
/// with ENOENT, a known number of each, and sleeps. None of these syscalls is one runc's own setup
/// makes in the container's cgroup.
enum SyscallWorkload {
    static let signals = 4
    static let children = 3

    static let source = """
    #include <signal.h>
    #include <sys/syscall.h>
    #include <sys/wait.h>
    #include <unistd.h>
    #include <stdlib.h>
    static void handler(int sig) { (void)sig; }
    int main(int argc, char **argv) {
        int ok = atoi(argv[1]), failing = atoi(argv[2]);
        while (access("/go", F_OK) != 0) usleep(20000);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL); /* runc passes on the test process's blocked signals */
        signal(SIGUSR1, handler);
        for (int i = 0; i < \(signals); i++) raise(SIGUSR1);
        for (int i = 0; i < \(children); i++) {
            if (fork() == 0) syscall(SYS_exit_group, 0);
            wait(NULL);
        }
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
