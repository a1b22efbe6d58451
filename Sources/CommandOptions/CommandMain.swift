import ArgumentParser
import Glibc
import LinuxKit

extension AsyncParsableCommand {
    /// Parses the command line and runs the command. The one place where a command's SondeError
    /// becomes its message, `TOOL: error: ...` on stderr, and exit status 1; argument errors and
    /// `--help` go through ArgumentParser as usual. On the main actor, as ArgumentParser's own
    /// entry point: synchronous commands then run on the main thread, which matters to the
    /// supervisor, whose signal mask (blocked, then sigwait) must cover the thread the kernel would
    /// otherwise pick to deliver SIGHUP and SIGTERM to.
    @MainActor
    public static func parseAndRun(tool: String) async -> Never {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
            exit(withError: nil)
        } catch let error as SondeError {
            // A reader that went away (EPIPE) cannot be told more.
            try? writeAll(STDERR_FILENO, "\(tool): error: \(error)\n")
            exit(withError: ExitCode.failure)
        } catch {
            exit(withError: error)
        }
    }
}
