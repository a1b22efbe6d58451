import ArgumentParser
import CommandOptions
import Containers
import Daemon
import DaemonAPI
import Events
import Foundation
import Gadgets
import LinuxKit

struct DaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "The node daemon: always-on flight recorder and a gRPC API on a unix socket.",
        discussion: """
        `sonde daemon` (the same as `sonde daemon run`) records the containers its config selects, \
        follows runc, podman and containerd and the containers OCI hooks register (sonde-hook), and \
        serves the API of proto/sonde.proto. `sonde containers` and `sonde record dump` ask it when it runs.
        """,
        subcommands: [DaemonRun.self, DaemonStatus.self, DaemonTrace.self, DaemonSuperviseEvents.self],
        defaultSubcommand: DaemonRun.self)
}

struct DaemonRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the daemon in the foreground (systemd: deploy/sonde.service).")

    @Option(help: "The API's unix socket (mode 0600). Default: the config's, else \(DaemonClient.defaultSocket).")
    var socket: String?

    @Option(help: "Configuration file (JSON; see docs/daemon.md).")
    var config: String?

    @Option(help: ArgumentHelp("bpffs directory of the recorder's pinned maps and links.", visibility: .hidden))
    var pinDirectory: String?

    @Option(help: ArgumentHelp("Directory of the recorder's registry.", visibility: .hidden))
    var stateDirectory: String?

    @Option(help: ArgumentHelp("Directory where the daemon keeps hook registrations.", visibility: .hidden))
    var daemonStateDirectory: String?

    @Option(help: ArgumentHelp("Where crash dumps go.", visibility: .hidden))
    var crashDir: String?

    func run() async throws {
        var settings = try config.map(DaemonConfig.load(path:)) ?? DaemonConfig()
        if let socket { settings.socket = socket }
        if let pinDirectory { settings.recorder.pinDirectory = pinDirectory }
        if let stateDirectory { settings.recorder.stateDirectory = stateDirectory }
        if let daemonStateDirectory { settings.stateDirectory = daemonStateDirectory }
        if let crashDir { settings.crashDirectory = crashDir }
        let task = Task { [settings] in
            try await NodeDaemon.run(config: settings, notice: { Output.notice($0) })
        }
        try await task.valueUntilStopped()
        Output.notice("daemon stopped; recording goes on in the kernel (`sonde record stop` ends it)")
    }
}

struct DaemonStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Whether a daemon answers, and what it does.")

    @OptionGroup var daemon: DaemonConnection
    @OptionGroup var format: OutputOptions

    func run() async throws {
        let endpoint = daemon.endpoint
        let status = try await DaemonClient.with(endpoint: endpoint) { client in
            try await client.status(Sonde_V1_StatusRequest(), options: DaemonClient.options(timeout: .seconds(5)))
        }
        let started = Date(timeIntervalSince1970: Double(status.startedNs) / 1e9)
        if format.output == .json {
            let object: [String: Any] = [
                "version": status.version, "pid": status.pid, "started_ns": status.startedNs, "endpoint": "\(endpoint)",
                "containers": status.containers, "recorded": status.recorded, "config": status.configSummary,
                "pin_directory": status.pinDirectory, "state_directory": status.stateDirectory, "gadgets": status.gadgets,
                "gadget_sessions": status.gadgetSessions, "watchers": status.watchers, "bpf_stats": status.bpfStats.jsonObject,
            ]
            guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else {
                throw SondeError(.system, "cannot write the daemon's status as JSON")
            }
            Output.line(String(decoding: data, as: UTF8.self))
            return
        }
        Output.line("sonde daemon \(status.version), pid \(status.pid), up \(Int(Date().timeIntervalSince(started))) s, at \(endpoint)")
        Output.line("containers: \(status.containers) known, \(status.recorded) recording (\(status.configSummary))")
        if !status.pinDirectory.isEmpty { Output.line("recorder: pins \(status.pinDirectory), registry \(status.stateDirectory)") }
        Output.line("gadgets: " + status.gadgets.joined(separator: ", "))
        for watcher in status.watchers { Output.line("watching: " + watcher) }
        for line in status.bpfStats.textLines(now: Int64(Date().timeIntervalSince1970 * 1e9)) { Output.line(line) }
    }
}

struct DaemonTrace: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Run a gadget in the daemon and stream its events (RunGadget): `sonde daemon trace exec -c NAME`.")

    @Argument(help: "The gadget: \(GadgetRegistry.names.joined(separator: ", ")).")
    var gadget: String

    @OptionGroup var containers: ContainerSelection

    @Option(help: "Stop after this many seconds.")
    var timeout: Double?

    @OptionGroup var output: OutputOptions
    @OptionGroup var daemon: DaemonConnection

    func validate() throws {
        try Seconds.check(timeout, "--timeout")
    }

    func run() async throws {
        let request = Sonde_V1_RunGadgetRequest.with {
            $0.gadget = gadget
            $0.selector = containers.request
            $0.timeoutSeconds = timeout ?? 0
        }
        // Columns as the gadget defines them; a gadget this CLI does not know prints as JSON.
        let known = GadgetRegistry.gadget(named: gadget)
        let render: @Sendable (Event) -> String
        if output.output == .columns, let known {
            let table = TableRenderer(columns: try known.catalog.columns(nil))
            Output.line(table.header())
            render = { table.render($0) }
        } else {
            let json = JSONRenderer()
            render = { json.render($0) }
        }
        let endpoint = daemon.endpoint
        let task = Task { () throws -> String? in
            try await DaemonClient.with(endpoint: endpoint) { client in
                try await client.runGadget(request) { response in
                    var summary: String?
                    for try await reply in response.messages {
                        switch reply.kind {
                        case .event(let event): Output.line(render(event.event))
                        case .notice(let text): Output.notice(text)
                        case .stats(let stats): summary = stats.lossSummary.isEmpty ? nil : stats.lossSummary
                        case .ready, nil: break
                        }
                    }
                    return summary
                }
            }
        }
        // Ctrl-C cancels the call; the daemon then ends the gadget and detaches its programs.
        do {
            if let summary = try await task.valueUntilStopped() { Output.notice("warning: " + summary) }
        } catch {
            if task.isCancelled { return }
            throw error as? SondeError ?? SondeError(.system, "\(error)")
        }
    }
}

struct DaemonSuperviseEvents: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supervise-events",
        abstract: "Stream the decisions of the daemon's seccomp agent (WatchSupervisor; config key \"supervise\").",
        discussion: "The same columns and JSON as `sonde supervise --events`. Any number of clients may watch at once.")

    @Option(help: "Stop after this many seconds.")
    var timeout: Double?

    @OptionGroup var output: OutputOptions
    @OptionGroup var daemon: DaemonConnection

    func validate() throws {
        if let timeout, timeout <= 0 { throw ValidationError("--timeout must be positive") }
    }

    func run() async throws {
        let request = Sonde_V1_WatchSupervisorRequest.with { $0.timeoutSeconds = timeout ?? 0 }
        let render: @Sendable (Event) -> String
        switch output.output {
        case .columns:
            let table = TableRenderer(columns: SuperviseEventOptions.columns)
            Output.line(table.header())
            render = { table.render($0) }
        case .json:
            let json = JSONRenderer()
            render = { json.render($0) }
        }
        let endpoint = daemon.endpoint
        let task = Task { () throws -> String? in
            try await DaemonClient.with(endpoint: endpoint) { client in
                try await client.watchSupervisor(request) { response in
                    var summary: String?
                    for try await reply in response.messages {
                        switch reply.kind {
                        case .event(let event): Output.line(render(event.event))
                        case .stats(let stats):
                            // Losses are reported as they grow; tell the user at once, not only at the end.
                            if !stats.lossSummary.isEmpty && stats.lossSummary != summary { Output.notice("warning: " + stats.lossSummary) }
                            summary = stats.lossSummary.isEmpty ? nil : stats.lossSummary
                        case .ready, nil: break
                        }
                    }
                    return summary
                }
            }
        }
        do {
            _ = try await task.valueUntilStopped()
        } catch {
            if task.isCancelled { return }
            throw error as? SondeError ?? SondeError(.system, "\(error)")
        }
    }
}
