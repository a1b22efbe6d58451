import ArgumentParser
import Containers
import Events
import Foundation
import GadgetCatalog
import Gadgets
import LinuxKit
import Synchronization

struct Advise: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Suggest configuration from what containers do.",
        subcommands: [AdviseSeccompProfile.self])
}

struct AdviseSeccompProfile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: GadgetDescription.seccompProfile.name,
        abstract: GadgetDescription.seccompProfile.abstract,
        discussion: """
            Start it, then start the containers: a container that starts while it runs is recorded \
            from its first syscall (the runtime's own setup included), so the profile lets the same \
            workload start and run under it. A profile is written when the container exits, and for \
            every other container on Ctrl-C or --timeout.
            """)

    @OptionGroup var selection: SelectionOptions

    // Not -o: -o is the output format in every command.
    @Option(name: .customLong("output-dir"),
            help: "Write each profile to DIR/<container name>.json instead of stdout.")
    var outputDirectory: String?

    @Option(help: "Stop after this many seconds.")
    var timeout: Double?

    func validate() throws {
        try Seconds.check(timeout, "--timeout")
        if selection.host { throw ValidationError("--host records no container: select containers to profile") }
    }

    func run() async throws {
        if let outputDirectory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: outputDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw SondeError(.notFound, "output directory \(outputDirectory) does not exist")
            }
        }
        let collection = try selection.collection()
        let selector = try selection.selector(cgroups: collection.cgroups)
        var options = GadgetOptions(selector: selector)
        options.timeout = timeout.map { .milliseconds(Int64($0 * 1000)) }
        let advisor = SeccompAdvisor()
        let session = GadgetSession(gadget: advisor, collection: collection, options: options,
                                    notice: { Output.notice($0) })
        let writer = ProfileWriter(directory: outputDirectory, cgroups: collection.cgroups)
        // Containers already running: their start happened before recording.
        let runningAtStart = Set(collection.refresh().added.filter(selector.matches).map(\.cgroupID))

        let task = Task {
            try await session.run(ready: { Output.notice("recording syscalls; start the containers, then Ctrl-C (or let them exit)") },
                                  sink: { advisor.record($0) })
        }
        // Profiles of containers that have exited, as they exit.
        let watcher = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(500))
                for recording in advisor.recordings() where recording.container.hasExited(cgroups: collection.cgroups) {
                    writer.write(recording, partial: runningAtStart.contains(recording.container.cgroupID))
                }
                advisor.forgetUnselected()
            }
        }
        let stats: GadgetStats
        do {
            stats = try await task.valueUntilStopped()
        } catch {
            watcher.cancel()
            throw error
        }
        watcher.cancel()
        _ = await watcher.value
        for recording in advisor.recordings() {
            writer.write(recording, partial: runningAtStart.contains(recording.container.cgroupID))
        }
        if writer.count == 0 { Output.notice("no container of the selection made a syscall while recording") }
        let skipped = advisor.skipped()
        if skipped.compat > 0 { Output.notice("warning: \(skipped.compat) calls of 32-bit (ia32) processes are not in the profiles") }
        if skipped.outOfRange > 0 { Output.notice("warning: \(skipped.outOfRange) calls with numbers outside the x86_64 table (x32) are not in the profiles") }
        if skipped.mapFull > 0 { Output.notice("warning: \(skipped.mapFull) calls not recorded: the kernel's table of cgroups was full") }
        // Records lost in the ring buffer lose no syscall (the kernel's sets hold them); they are
        // still reported, like every loss.
        if let summary = stats.lossSummary { Output.notice("warning: " + summary) }
    }
}

/// Writes each container's profile once: to DIR/<name>.json, or to stdout.
final class ProfileWriter: Sendable {
    let directory: String?
    let cgroups: CgroupV2
    private let written = Mutex(Set<String>())

    init(directory: String?, cgroups: CgroupV2) {
        self.directory = directory
        self.cgroups = cgroups
    }

    var count: Int { written.withLock { $0.count } }

    func write(_ recording: SeccompAdvisor.Recording, partial: Bool) {
        let container = recording.container
        let key = container.runtime.rawValue + "/" + container.id
        guard written.withLock({ $0.insert(key).inserted }) else { return }
        let profile = SeccompProfile(allowing: recording.numbers)
        let what = "\(container.name): \(profile.allowedNames.count) syscalls"
        if partial {
            Output.notice("warning: \(container.name) was running before recording started: its profile lacks its start")
        }
        if !profile.unknownNumbers.isEmpty {
            Output.notice("warning: \(container.name) made syscalls sonde has no name for: \(profile.unknownNumbers)")
        }
        guard let directory else {
            Output.notice("profile of " + what)
            Output.line(profile.json())
            return
        }
        // A container name is whatever its creator chose: keep it to one safe path component.
        let file = directory + "/" + Self.fileName(container.name) + ".json"
        do {
            try Data((profile.json() + "\n").utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
            Output.notice("wrote \(file) (\(what))")
        } catch {
            Output.notice("error: could not write \(file): \(error)")
        }
    }

    static func fileName(_ name: String) -> String {
        let safe = String(name.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
        return safe.isEmpty || safe.hasPrefix(".") ? "_" + safe : safe
    }
}
