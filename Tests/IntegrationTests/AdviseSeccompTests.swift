import Containers
import Events
import Foundation
import Gadgets
import LinuxKit
import Testing
import TestSupport

/// `sonde advise seccomp-profile` proved on runc: record a workload from the container's first
/// syscall, run the same workload under the profile, and see a call outside it refused with EPERM.
@Suite(.serialized) struct AdviseSeccompTests {
    static let workload = ["sh", "-c", "echo advised > /tmp/f; cat /tmp/f; ls / > /dev/null; date > /dev/null"]

    @Test func theProfileRunsTheWorkloadAndRefusesAnythingElse() async throws {
        let collection = ContainerCollection(cgroups: try CgroupV2.find(), sources: [RuncSource()])
        let advisor = SeccompAdvisor()
        let session = GadgetSession(gadget: advisor, collection: collection,
                                    options: GadgetOptions(selector: ContainerSelector(runtimes: [.runc])),
                                    notice: { print("sonde:", $0) })
        let ready = Locked(false)
        let task = Task { try await session.run(ready: { ready.set(true) }, sink: { advisor.record($0) }) }
        guard try await eventually(timeout: .seconds(30), { ready.get() }) else {
            task.cancel()
            _ = try await task.value
            throw TestFailure("the advisor did not attach")
        }

        // Started after the advisor: recorded from its first syscall, runc's own setup included.
        let recorded = try RuncContainer(prefix: "sonde-it-advise", args: Self.workload)
        defer { recorded.remove() }
        try recorded.start()
        let exited = try await eventually(timeout: .seconds(30)) {
            guard let container = collection.all.first(where: { $0.name == recorded.name }) else { return false }
            return container.hasExited(cgroups: collection.cgroups) && advisor.recording(of: container) != nil
        }
        task.cancel()
        let stats = try await task.value
        #expect(exited, "the recorded container did not run to its end")
        #expect(stats.lost == 0, "\(stats.lossSummary ?? "")")
        let skipped = advisor.skipped()
        #expect(skipped.compat == 0 && skipped.outOfRange == 0 && skipped.mapFull == 0)

        let recording = try #require(advisor.recordings().first { $0.container.name == recorded.name })
        #expect(recording.container.runtime == .runc)
        let profile = SeccompProfile(allowing: recording.numbers)
        let names = Set(profile.allowedNames)
        // The workload's calls and runc's after its filter would be installed.
        for expected in ["execve", "write", "openat", "read", "getdents64", "exit_group", "seccomp", "pivot_root"] {
            #expect(names.contains(expected), "\(expected) is missing from \(names.sorted())")
        }
        // Nothing the workload did not do.
        #expect(!names.contains("ioprio_set"))
        #expect(profile.unknownNumbers.isEmpty)

        // The document runc reads.
        let json = try #require(try JSONSerialization.jsonObject(with: Data(profile.json().utf8)) as? [String: Any])
        #expect(json["defaultAction"] as? String == "SCMP_ACT_ERRNO")
        #expect(json["defaultErrnoRet"] as? Int == 1)
        #expect(json["architectures"] as? [String] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
        let rules = try #require(json["syscalls"] as? [[String: Any]])
        #expect(rules.count == 1 && rules[0]["action"] as? String == "SCMP_ACT_ALLOW")
        #expect(Set(rules[0]["names"] as? [String] ?? []) == names)

        // The same workload under the profile succeeds.
        let confined = try RuncContainer(prefix: "sonde-it-advised", args: Self.workload)
        defer { confined.remove() }
        try Self.install(profile, in: confined)
        let result = try confined.runToCompletion()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "advised\n")

        // A call outside the profile fails with EPERM: ionice needs ioprio_set.
        let refused = try RuncContainer(prefix: "sonde-it-refused", args: ["ionice", "-c", "3", "true"])
        defer { refused.remove() }
        try Self.install(profile, in: refused)
        let denied = try refused.runToCompletion()
        #expect(denied.status != 0)
        #expect(denied.stderr.contains("ioprio_set: Operation not permitted"), "\(denied.stderr)")

        // Without the profile the same command works: the refusal is the profile's doing.
        let free = try RuncContainer(prefix: "sonde-it-free", args: ["ionice", "-c", "3", "true"])
        defer { free.remove() }
        let allowed = try free.runToCompletion()
        #expect(allowed.status == 0, "\(allowed.stderr)")
    }

    @Test func theCommandWritesAContainersProfileWhenItExits() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-advise-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let started = ContinuousClock.now
        let sonde = Task.detached {
            try run(sondeExecutable, ["advise", "seccomp-profile", "--runtime", "runc", "--output-dir", directory.path, "--timeout", "12"])
        }
        try await Task.sleep(for: .seconds(2))
        let job = try RuncContainer(prefix: "sonde-it-advise-cli", args: Self.workload)
        defer { job.remove() }
        try job.start()
        let file = directory.appendingPathComponent(job.name + ".json")
        let written = try await eventually(timeout: .seconds(8)) { FileManager.default.fileExists(atPath: file.path) }
        // Written when the container ended, long before the timeout.
        #expect(written && ContinuousClock.now - started < .seconds(11))
        let result = try await sonde.value
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("wrote \(file.path)"), "\(result.stderr)")
        let profile = try JSONDecoder().decode(SeccompProfile.self, from: Data(contentsOf: file))
        #expect(profile.defaultAction == "SCMP_ACT_ERRNO" && profile.defaultErrnoRet == 1)
        #expect(profile.allowedNames.contains("execve") && profile.allowedNames.contains("getdents64"))
        #expect(!profile.allowedNames.contains("ioprio_set"))
    }

    /// Puts the profile into the bundle's config.json as `linux.seccomp`.
    static func install(_ profile: SeccompProfile, in container: RuncContainer) throws {
        let url = container.bundle.appendingPathComponent("config.json")
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        var linux = try #require(config["linux"] as? [String: Any])
        linux["seccomp"] = try JSONSerialization.jsonObject(with: Data(profile.json().utf8))
        config["linux"] = linux
        try JSONSerialization.data(withJSONObject: config).write(to: url)
    }
}
