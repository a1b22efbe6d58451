import CommandOptions
import ArgumentParser
import Containers
import DaemonAPI
import Events
import Foundation
import LinuxKit
import Recorder
import Syscalls

struct Record: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The flight recorder: every syscall of selected containers, kept in memory, read on demand.",
        discussion: """
        `record start` records the selected containers (and those that start later) into per-container \
        overwritable rings in the kernel. Recording goes on after the command ends and across restarts of \
        sonde; `record dump` reads what was recorded, `record stop` ends it and frees the memory.
        """,
        subcommands: [RecordStart.self, RecordDump.self, RecordList.self, RecordStop.self, RecordSyscalls.self])
}

/// Where the recorder keeps its pins and registry (tests use their own).
struct RecorderLocation: ParsableArguments {
    @Option(help: ArgumentHelp("bpffs directory of the recorder's pinned maps and links.", visibility: .hidden))
    var pinDirectory = "/sys/fs/bpf/sonde/recorder"

    @Option(help: ArgumentHelp("Directory of the recorder's registry.", visibility: .hidden))
    var stateDirectory = "/run/sonde/recorder"

    var isDefault: Bool {
        pinDirectory == RecorderSettings().pinDirectory && stateDirectory == RecorderSettings().stateDirectory
    }

    var settings: RecorderSettings {
        var settings = RecorderSettings()
        settings.pinDirectory = pinDirectory
        settings.stateDirectory = stateDirectory
        return settings
    }
}

/// Sizes as people write them: 4096, 64K, 1M, 16MiB.
struct ByteSize: ExpressibleByArgument {
    let bytes: Int

    init?(argument: String) {
        let text = argument.uppercased().replacingOccurrences(of: "IB", with: "").replacingOccurrences(of: "B", with: "")
        let units: [(String, Int)] = [("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30)]
        let (digits, scale) = units.first { text.hasSuffix($0.0) }.map { (String(text.dropLast()), $0.1) } ?? (text, 1)
        guard let value = Int(digits), value > 0 else { return nil }
        bytes = value * scale
    }
}

struct RecordStart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Start recording the selected containers and follow new ones (in the foreground).")

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var location: RecorderLocation

    @Option(help: "Ring size per CPU for each selected container (64K to 16M, rounded up to 64K times a power of 4; default 1M). Run `record start` again with another selection to give other containers another size.")
    var bufferSize: ByteSize?

    @Option(help: "Bytes kept of each read/write buffer (at most 1024).")
    var bufferCapture: UInt32 = 256

    @Option(help: "Rings kept ready for containers that start while recording (one each until identified).")
    var pool = 8

    @Option(help: "Write a crash dump here when a recorded process dies of a fatal signal or a container's init exits non-zero.")
    var crashDir = "/var/lib/sonde/crash"

    @Option(help: "How long the recording of an exited container is kept for dumping, in seconds.")
    var retention = 3600

    @Flag(help: "Key containers by mount namespace instead of cgroup (cgroup v1 hosts use their pids hierarchy without it).")
    var keyByMountNamespace = false

    @Option(help: "Stop following containers after this many seconds (recording goes on).")
    var timeout: Double?

    func validate() throws {
        if selection.host { throw ValidationError("the recorder records containers and cgroups; --host is for gadgets") }
        if bufferCapture > 1024 { throw ValidationError("--buffer-capture is at most 1024") }
        if pool < 1 || pool > 256 { throw ValidationError("--pool must be between 1 and 256") }
        try Seconds.check(timeout, "--timeout")
    }

    func run() async throws {
        var settings = location.settings
        if let bufferSize { settings.bytesPerCPU = bufferSize.bytes }
        settings.bufferCapture = bufferCapture
        settings.poolSize = pool
        settings.keyByMountNamespace = keyByMountNamespace
        let collection = try selection.collection()
        let selector = try selection.selector(cgroups: collection.cgroups)
        collection.refresh()
        // Unlike the gadgets, the recorder does not wait for a name: a container named before it
        // exists would be claimed after its start, not from its first syscall (issue 17).
        if selector.isExplicit { try selector.checkNamesExist(in: collection.all) }

        let joining = FlightRecorder.isRunning(settings)
        let recorder = try FlightRecorder.start(settings, captures: { SyscallTable.x86_64[$0]?.captures ?? [] })
        if let warning = recorder.warning { Output.notice(warning) }
        var options = RecorderService.Options(selector: selector, crashDirectory: crashDir)
        options.retention = .seconds(retention)
        options.bytesPerCPU = bufferSize?.bytes
        let renderer = DumpRenderer.strace
        let service = RecorderService(recorder: recorder, collection: collection, options: options,
                                      notice: { Output.notice($0) },
                                      render: { dump, _ in renderer.text(dump).joined(separator: "\n") + "\n" })
        let task = Task { try await service.run(timeout: timeout.map { .milliseconds(Int64($0 * 1000)) }) {
            Output.notice(joining ? "joined the running flight recorder" : "flight recorder started")
            for (container, _) in (try? recorder.recorded()) ?? [] {
                Output.notice("recording \(container.name) (\(container.runtime))")
            }
        } }
        // Stopped by `sonde record stop`: ending this process lets its links (the recorder's
        // cgroup and exit programs) go with it.
        if try await task.valueUntilStopped() == .finished {
            Output.notice("recording goes on in the kernel; `sonde record dump -c NAME` reads it, `sonde record stop` ends it")
        }
    }
}

struct RecordDump: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print what was recorded for a container, oldest first, as strace would have.")

    @Option(name: [.customShort("c"), .customLong("containername")], help: "The container (name or id).")
    var container: String?

    @Option(help: "A recorded cgroup v2 path.")
    var cgroup: String?

    @OptionGroup var output: OutputOptions
    @OptionGroup var location: RecorderLocation

    @Option(help: "Only the last N calls (of those the options below keep).")
    var last: Int?

    @OptionGroup(title: "strace's reading options") var reading: StraceReadingOptions

    @OptionGroup var daemon: DaemonOptions

    func validate() throws {
        if (container == nil) == (cgroup == nil) { throw ValidationError("name a container with -c, or a cgroup with --cgroup") }
        if let last, last <= 0 { throw ValidationError("--last must be positive") }
    }

    func run() async throws {
        // A set strace would refuse fails here, before anything is read.
        let options = try DumpOptions(reading: reading.reading, last: UInt32(clamping: last ?? 0))
        // The daemon reads its own recorder; a recorder named by --pin-directory/--state-directory
        // is read here.
        if location.isDefault, let endpoint = await daemon.answeringEndpoint() {
            try await dumpThroughDaemon(endpoint)
            return
        }
        let recorder = try FlightRecorder.attach(location.settings)
        if let warning = recorder.warning { Output.notice(warning) }
        let recorded = try recorder.recorded().map(\.container)
        let wanted: Container?
        if let container {
            // An exact name or id wins over another container's id prefix.
            wanted = recorded.first { $0.name == container || $0.id == container }
                ?? recorded.first { ContainerSelector.name(container, matches: $0) }
        } else {
            let path = try CgroupV2.find().normalize(cgroup!)
            wanted = recorded.first { $0.cgroupPath == path }
        }
        guard let wanted else {
            let names = recorded.map { "\($0.name) (\($0.runtime))" }.sorted()
            throw SondeError(.notFound, "\(container ?? cgroup!) was not recorded",
                             hint: names.isEmpty ? "nothing is recorded" : "recorded: " + names.joined(separator: ", "))
        }
        let dump = try recorder.dump(wanted)
        let renderer = DumpRenderer.strace
        if output.output == .json && !options.summary {
            for line in renderer.json(dump, container: wanted, options: options) { Output.line(line) }
        } else {
            for line in renderer.text(dump, options: options) { Output.line(line) }
        }
        if dump.overwritten + dump.dropped + dump.corrupt > 0 {
            Output.notice("\(dump.overwritten) records overwritten, \(dump.dropped) too large, \(dump.corrupt) unreadable")
        }
    }
}

extension RecordDump {
    func dumpThroughDaemon(_ endpoint: DaemonEndpoint) async throws(SondeError) {
        let request = Sonde_V1_DumpRecorderRequest.with {
            $0.container = container ?? ""
            $0.cgroupPath = cgroup ?? ""
            $0.last = UInt32(clamping: last ?? 0)
            $0.format = output.output == .json ? .json : .text
            $0.reading = reading.reading
        }
        let summary = try await DaemonClient.with(endpoint: endpoint) { client in
            try await client.dumpRecorder(request, options: DaemonClient.options(timeout: .seconds(120))) { response in
                var summary: Sonde_V1_DumpSummary?
                for try await reply in response.messages {
                    for line in reply.lines { Output.line(line) }
                    if reply.hasSummary { summary = reply.summary }
                }
                return summary
            }
        }
        if let summary, summary.overwritten + summary.dropped + summary.corrupt > 0 {
            Output.notice("\(summary.overwritten) records overwritten, \(summary.dropped) too large, \(summary.corrupt) unreadable")
        }
    }
}

struct RecordList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "The recorded containers.")

    @OptionGroup var location: RecorderLocation

    func run() async throws {
        let recorder = try FlightRecorder.attach(location.settings)
        if let warning = recorder.warning { Output.notice(warning) }
        var rows = [["RUNTIME", "NAME", "ID", "CGROUP", "STATE"]]
        for (container, ended) in try recorder.recorded() {
            rows.append([container.runtime.rawValue, container.name, String(container.id.prefix(12)),
                         container.cgroupPath, ended ? "exited" : "recording"])
        }
        for line in TextTable.align(rows) { Output.line(line) }
    }
}

struct RecordStop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop recording and free everything it holds.")

    @OptionGroup var location: RecorderLocation

    func run() async throws {
        try FlightRecorder.stop(location.settings)
        Output.notice("flight recorder stopped")
    }
}

/// The syscall table a dump is formatted with, and how far each syscall's formatting goes.
struct RecordSyscalls: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "syscalls",
        abstract: "Every x86_64 syscall and how a dump formats it: as strace 6.1 does, partly, or by its C types.")

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let syscalls = SyscallTable.x86_64.syscalls
        for syscall in syscalls {
            switch output.output {
            case .columns:
                Output.line(String(syscall.number).leftPadded(to: 4) + " " + syscall.name.padding(toLength: 24, withPad: " ", startingAt: 0)
                            + " " + syscall.decoding.rawValue)
            case .json:
                Output.line("{\"nr\":\(syscall.number),\"name\":\"\(syscall.name)\",\"decoding\":\"\(syscall.decoding.rawValue)\"}")
            }
        }
        let counts = Syscall.Decoding.allCases.map { kind in (kind, syscalls.filter { $0.decoding == kind }.count) }
        Output.notice(counts.map { "\($0.1) \($0.0.rawValue)" }.joined(separator: ", ") + " of \(syscalls.count) syscalls")
    }
}
