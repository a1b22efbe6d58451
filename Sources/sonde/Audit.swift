import ArgumentParser
import Audit
import Containers
import DaemonAPI
import Events
import Foundation
import Gadgets
import LinuxKit
import Synchronization

/// `sonde audit`: alerts when a container does what a rule forbids (docs/audit.md).
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Alert when a container does something it should not: rules over the gadgets' events and the supervisor's decisions.",
        discussion: """
            Without --rules, the default rules (--print-default-rules) apply. Only the gadgets the \
            rules name are loaded, all in this process. Alerts are JSON lines by default: \
            {"time","rule","severity","message","source","container","pod","namespace","event":{...}}. \
            Rules on the supervisor's decisions (source: supervise) read them from the sonde daemon.

            Sources: \(AuditSources.names.joined(separator: ", ")) (`sonde trace NAME --help` lists each one's fields).
            """)

    @Option(name: .long, help: ArgumentHelp("A YAML rule file (the language: docs/audit.md).", valueName: "file"))
    var rules: String?

    @Flag(help: "List the rules (name, severity, sources, description) and exit.")
    var listRules = false

    @Flag(help: "Print the default rule file and exit.")
    var printDefaultRules = false

    @Flag(help: "Check the rules and exit: every problem is reported with its line.")
    var check = false

    @Option(name: [.customShort("o"), .long], help: "Output format: json (one alert per line) or columns.")
    var output: OutputFormat = .json

    @Option(help: ArgumentHelp("Only alerts of this severity or worse (\(Severity.allCases.map(\.rawValue).joined(separator: ", "))).",
                               valueName: "severity"))
    var minSeverity: Severity = .info

    @Option(help: "Stop after this many seconds.")
    var timeout: Double?

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var daemon: DaemonOptions

    func validate() throws {
        try Seconds.check(timeout, "--timeout")
    }

    func run() async throws {
        if printDefaultRules {
            Output.line(DefaultRules.yaml.hasSuffix("\n") ? String(DefaultRules.yaml.dropLast()) : DefaultRules.yaml)
            return
        }
        let ruleSet = try loadRules()
        if listRules {
            list(ruleSet)
            return
        }
        if check {
            Output.line("\(rules ?? DefaultRules.file): \(ruleSet.rules.count) rules, sources: \(ruleSet.sources.joined(separator: ", "))")
            return
        }
        try await audit(ruleSet)
    }

    func loadRules() throws(SondeError) -> RuleSet {
        guard let rules else { return try RuleSet(yaml: DefaultRules.yaml, file: DefaultRules.file) }
        let text: String
        do {
            text = try String(contentsOfFile: rules, encoding: .utf8)
        } catch {
            throw SondeError(.notFound, "cannot read the rule file \(rules): \(error.localizedDescription)")
        }
        return try RuleSet(yaml: text, file: rules)
    }

    func list(_ ruleSet: RuleSet) {
        let rows = [["RULE", "SEVERITY", "SOURCE", "DESCRIPTION"]] + ruleSet.rules.map {
            [$0.name, $0.severity.rawValue, $0.sources.joined(separator: ","), $0.description]
        }
        for line in TextTable.align(rows) { Output.line(line) }
    }

    func audit(_ ruleSet: RuleSet) async throws {
        let collection = try selection.collection()
        let selector = try selection.selector(cgroups: collection.cgroups)
        var options = GadgetOptions(selector: selector)
        options.timeout = timeout.map { .milliseconds(Int64($0 * 1000)) }
        let runner = AuditRunner(engine: AuditEngine(ruleSet), collection: collection, options: options)

        let supervisorEvents = try await supervisorFeed(ruleSet)
        let writer = AlertWriter(format: output)
        let gadgets = runner.gadgets.map(\.name)
        let minSeverity = minSeverity
        let task = Task {
            try await runner.run(events: supervisorEvents?.stream, ready: {
                writer.header()
                Output.notice("auditing with \(ruleSet.rules.count) rules; gadgets: \(gadgets.isEmpty ? "none" : gadgets.joined(separator: ", "))")
            }, alert: { alert in if alert.severity >= minSeverity { writer.write(alert) } }, notice: { Output.notice($0) })
        }
        let summary = try await task.valueUntilStopped()
        supervisorEvents?.task.cancel()
        if let dropped = supervisorEvents?.dropped.value, dropped > 0 {
            Output.notice("warning: supervise: \(dropped) decisions not audited: the audit fell behind the daemon's stream")
        }
        for warning in summary.warnings { Output.notice("warning: " + warning) }
    }

    /// The supervisor's decisions, streamed from the daemon, when a rule watches them. For the
    /// default rules a missing daemon only silences their supervise rule; a rule file of one's
    /// own that names supervise needs the daemon.
    func supervisorFeed(_ ruleSet: RuleSet) async throws(SondeError) -> (stream: AsyncStream<Event>, task: Task<Void, Never>, dropped: DropCounter)? {
        let watching = ruleSet.rules.filter { $0.sources.contains(AuditSources.supervise) }.map(\.name)
        guard !watching.isEmpty else { return nil }
        guard let endpoint = await daemon.answeringEndpoint() else {
            let why = daemon.noDaemon ? "--no-daemon was given" : "no sonde daemon answers at \(daemon.connection.socket)"
            if rules == nil {
                Output.notice("rule \(watching.joined(separator: ", ")) watches the supervisor's decisions, but \(why): it stays silent")
                return nil
            }
            throw SondeError(.notFound, "rules \(watching.joined(separator: ", ")) watch the supervisor's decisions, but \(why)",
                             hint: "start `sonde daemon run` with the supervise key, or remove source: supervise")
        }
        // Bounded: when the rules cannot keep up, the oldest decisions go, counted.
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(10_000))
        let dropped = DropCounter()
        // The subscription's first answer: nil once the daemon said ready, else why it failed.
        let (subscribed, subscribedContinuation) = AsyncStream.makeStream(of: String?.self)
        let task = Task {
            do {
                try await DaemonClient.with(endpoint: endpoint) { client in
                    try await client.watchSupervisor(Sonde_V1_WatchSupervisorRequest()) { response in
                        for try await reply in response.messages {
                            switch reply.kind {
                            case .ready: subscribedContinuation.yield(nil)
                            case .event(let event):
                                if case .dropped = continuation.yield(event.event) { dropped.increment() }
                            case .stats(let stats):
                                if !stats.lossSummary.isEmpty { Output.notice("warning: supervise: " + stats.lossSummary) }
                            case nil: break
                            }
                        }
                    }
                }
            } catch {
                subscribedContinuation.yield("\(error)")
                if !Task.isCancelled { Output.notice("warning: the supervisor's decisions stopped: \(error)") }
            }
            subscribedContinuation.finish()
            continuation.finish()
        }
        // Alerts start once every source is watched: wait for the daemon's ready.
        var failure: String? = "the daemon closed the stream"
        for await answer in subscribed {
            failure = answer
            break
        }
        if let failure {
            task.cancel()
            throw SondeError(.system, "cannot watch the supervisor's decisions: \(failure)")
        }
        return (stream, task, dropped)
    }
}

extension Severity: ExpressibleByArgument {}

/// Supervisor decisions dropped from the audit's buffer.
final class DropCounter: Sendable {
    private let count = Atomic<Int>(0)
    func increment() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}

/// Alerts to stdout, one write each (alerts are rare; each is seen at once by a pipe), from any
/// gadget's thread.
final class AlertWriter: Sendable {
    let format: OutputFormat
    static let columns = ["TIME", "SEVERITY", "RULE", "CONTAINER", "MESSAGE"]

    init(format: OutputFormat) {
        self.format = format
        signal(SIGPIPE, SIG_IGN)
    }

    func header() {
        if format == .columns { Output.line(Self.row(Self.columns)) }
    }

    func write(_ alert: Alert) {
        switch format {
        case .json: Output.line(alert.json())
        case .columns:
            Output.line(Self.row([TimeText.clock(alert.event.timestamp), alert.severity.rawValue, alert.rule,
                                  alert.event.container.map { FieldText.printable($0.name) } ?? "-", alert.message]))
        }
    }

    static func row(_ cells: [String]) -> String {
        let widths = [12, 8, 24, 20]
        var line = ""
        for (index, cell) in cells.enumerated() {
            line += index < widths.count ? cell.rightPadded(to: widths[index]) + " " : cell
        }
        return line
    }
}
