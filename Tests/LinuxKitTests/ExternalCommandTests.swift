import Foundation
import Testing
@testable import LinuxKit

@Suite struct ExternalCommandTests {
    @Test func returnsStandardOutput() throws {
        let output = try ExternalCommand(executable: "sh", timeout: 10).run(["-c", "echo out; echo err >&2"])
        #expect(String(decoding: output, as: UTF8.self) == "out\n")
    }

    @Test func largeOutputIsReadWhileTheCommandRuns() throws {
        // More than a pipe holds (64 KiB): a reader that waited for the exit first would deadlock.
        let output = try ExternalCommand(executable: "sh", timeout: 10).run(["-c", "head -c 1000000 /dev/zero"])
        #expect(output.count == 1_000_000)
    }

    @Test func aDaemonKeepingThePipesOpenDoesNotHoldUsUp() throws {
        // Like `podman run -d`, whose conmon outlives it holding its stdout; this one ends in 2 s.
        let start = ContinuousClock.now
        let output = try ExternalCommand(executable: "sh", timeout: 10).run(["-c", "sleep 2 & echo started"])
        #expect(String(decoding: output, as: UTF8.self) == "started\n")
        #expect(ContinuousClock.now - start < .seconds(1.5))
    }

    @Test func failureCarriesTheExitStatusAndStandardError() {
        #expect {
            try ExternalCommand(executable: "sh", timeout: 10).run(["-c", "echo 'Error: no such container' >&2; exit 125"])
        } throws: { error in
            guard let error = error as? SondeError else { return false }
            return error.code == .runtimeCommandFailed && error.message == "sh -c echo 'Error: no such container' >&2; exit 125 failed (exit status 125)"
                && error.details == ["Error: no such container"]
        }
    }

    @Test func aHungCommandIsKilledAtTheDeadline() throws {
        let start = ContinuousClock.now
        #expect {
            try ExternalCommand(executable: "sleep", timeout: 0.5).run(["30"])
        } throws: { error in
            (error as? SondeError)?.message == "sleep 30 did not finish within 0.5 s; killed it"
        }
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test func outputPastTheLimitIsAnError() {
        var command = ExternalCommand(executable: "sh", timeout: 10)
        command.maxOutput = 1000
        #expect {
            try command.run(["-c", "head -c 100000 /dev/zero"])
        } throws: { error in
            (error as? SondeError)?.message.contains("printed more than 1000 bytes") == true
        }
    }

    @Test func aMissingExecutableSaysSo() {
        #expect {
            try ExternalCommand(executable: "sonde-no-such-runtime", timeout: 1).run(["ps"])
        } throws: { error in
            (error as? SondeError)?.message == "cannot run sonde-no-such-runtime ps: sonde-no-such-runtime is not installed"
        }
    }

    @Test func executablesAreFoundInPath() {
        #expect(ExternalCommand.resolve("sh")?.hasSuffix("/sh") == true)
        #expect(ExternalCommand.resolve("/bin/sh") == "/bin/sh")
        #expect(ExternalCommand.resolve("/nonexistent/ctr") == nil)
    }
}
