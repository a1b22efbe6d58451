import Foundation
import Testing
import TestSupport

/// The `sonde` executable as users run it: output formats and the errors they see.
@Suite(.serialized) struct CLITests {
    @Test func jsonLinesFromARealContainer() async throws {
        let marker = "json-marker-\(UInt32.random(in: 0...9999))"
        // The container execs the marker until the test has seen it traced (so sonde is attached,
        // however long that took), then execs a missing file and waits.
        let c = try RuncContainer(prefix: "sonde-it-cli", args: [
            "sh", "-c", "while [ ! -e /tmp/go ]; do /bin/true \(marker); usleep 50000; done; /missing; sleep 60",
        ])
        defer { c.remove() }
        try c.start()
        let sonde = try BackgroundCommand(sondeExecutable, ["trace", "exec", "-c", c.name, "-o", "json"])
        #expect(try await eventually(timeout: .seconds(60)) { sonde.stdout.contains(marker) }, "\(sonde.stderr)")
        FileManager.default.createFile(atPath: c.rootfs.appendingPathComponent("tmp/go").path, contents: nil)
        #expect(try await eventually(timeout: .seconds(60)) { sonde.stdout.contains("\"/missing\"") }, "\(sonde.stderr)")
        let status = sonde.interrupt()
        let result = (status: status, stdout: sonde.stdout, stderr: sonde.stderr)
        #expect(result.status == 0, "\(result.stderr)")
        let objects = result.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(objects.count == result.stdout.split(separator: "\n").count, "every line is one JSON object")
        let event = try #require(objects.first { ($0["args"] as? [String])?.contains(marker) == true })
        #expect((event["container"] as? [String: Any])?["name"] as? String == c.name)
        #expect(event["ret"] as? Int == 0)
        let missing = try #require(objects.first { ($0["args"] as? [String])?.first == "/missing" })
        #expect(missing["error"] as? String == "ENOENT")
    }

    /// "Trace what I am about to start": a name no container has yet is waited for, said once with
    /// the known containers (so a typo shows), and traced from its first exec once it appears.
    @Test func aContainerNamedBeforeItExistsIsTracedWhenItAppears() async throws {
        let known = try RuncContainer(prefix: "sonde-it-known", args: ["sleep", "60"])
        defer { known.remove() }
        try known.start()
        let marker = "later-marker-\(UInt32.random(in: 0...9999))"
        let later = try RuncContainer(prefix: "sonde-it-later", args: ["sh", "-c", "while true; do /bin/true \(marker); usleep 100000; done"])
        defer { later.remove() }
        let sonde = try BackgroundCommand(sondeExecutable, ["trace", "exec", "-c", later.name, "-o", "json"])
        let waiting = try await eventually(timeout: .seconds(60)) { sonde.stderr.contains("waiting for container \(later.name) to appear") }
        #expect(waiting, "\(sonde.stderr)")
        #expect(sonde.stderr.contains(known.name), "the known containers are listed: \(sonde.stderr)")
        try later.start()
        #expect(try await eventually(timeout: .seconds(60)) { sonde.stdout.contains(marker) }, "\(sonde.stderr)")
        #expect(sonde.interrupt() == 0, "\(sonde.stderr)")
        // Only the named container, and the notice said once.
        for line in sonde.stdout.split(separator: "\n") { #expect(line.contains("\"name\":\"\(later.name)\""), "\(line)") }
        #expect(sonde.stderr.components(separatedBy: "waiting for container").count == 2, "\(sonde.stderr)")
        #expect(!sonde.stderr.contains("Fatal error"))
    }

    @Test func withoutPrivilegesTheErrorSaysWhatIsMissing() throws {
        // setpriv (util-linux) drops to nobody with no capabilities.
        let result = try run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                                                  "--inh-caps=-all", sondeExecutable, "trace", "exec", "--timeout", "1"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("sonde needs root"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count <= 3)
    }

    @Test func badArgumentsAreRefusedClearly() throws {
        let runtime = try run(sondeExecutable, ["trace", "exec", "--runtime", "docker"])
        #expect(runtime.status != 0)
        #expect(runtime.stderr.contains("unknown runtime 'docker'"))
        let mixed = try run(sondeExecutable, ["trace", "exec", "--host", "-c", "x"])
        #expect(mixed.status != 0)
        #expect(mixed.stderr.contains("--host"))
        let hostile = try run(sondeExecutable, ["trace", "exec", "--cgroup", "/../../etc", "--timeout", "1"])
        #expect(hostile.status != 0)
        #expect(hostile.stderr.contains("must not contain '..'"))
    }

    @Test func containersAreListed() throws {
        let c = try RuncContainer(prefix: "sonde-it-list", args: ["sleep", "30"])
        defer { c.remove() }
        try c.start()
        let result = try run(sondeExecutable, ["containers", "-o", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let objects = result.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let mine = try #require(objects.first { $0["name"] as? String == c.name })
        #expect(mine["runtime"] as? String == "runc")
        #expect(mine["cgroup_path"] as? String == "/" + c.name)
        #expect((mine["pid"] as? Int ?? 0) > 0)
    }
}
