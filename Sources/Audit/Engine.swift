import Events
import LinuxKit
import Synchronization

/// A rule that fired on an event.
public struct Alert: Sendable {
    public let rule: String
    public let severity: Severity
    public let message: String
    public let event: Event

    /// One JSON object on one line:
    /// `{"time":…,"rule":…,"severity":…,"message":…,"source":…,"container":…,"pod":…,"namespace":…,"event":{…}}`.
    /// The container, pod and namespace names are repeated at the top for jq and log queries; the
    /// event object is the gadget's `-o json` line, with every field.
    public func json() -> String {
        var out = "{\"time\":" + JSONRenderer.quote(TimeText.rfc3339(event.timestamp))
        out += ",\"rule\":" + JSONRenderer.quote(rule)
        out += ",\"severity\":" + JSONRenderer.quote(severity.rawValue)
        out += ",\"message\":" + JSONRenderer.quote(message)
        out += ",\"source\":" + JSONRenderer.quote(event.source)
        if let container = event.container {
            out += ",\"container\":" + JSONRenderer.quote(container.name)
            if let pod = container.pod {
                out += ",\"pod\":" + JSONRenderer.quote(pod.name) + ",\"namespace\":" + JSONRenderer.quote(pod.namespace)
            }
        }
        return out + ",\"event\":" + JSONRenderer().render(event) + "}"
    }
}

/// Evaluates a rule set on events: the rules of the event's source, in file order.
/// Thread-safe: events of several gadgets arrive concurrently.
public final class AuditEngine: Sendable {
    public let ruleSet: RuleSet
    private let bySource: [String: [(rule: Rule, compiled: Rule.Compiled)]]
    /// once_per: the keys each rule has alerted for. Bounded: a rule that has seen `maxKeys`
    /// distinct keys forgets them and starts again (it may then alert again for an old key).
    private let seen = Mutex<[String: Set<[String]>]>([:])
    private let forgotten = Atomic<Int>(0)
    public static let maxKeys = 65_536

    public init(_ ruleSet: RuleSet) {
        self.ruleSet = ruleSet
        var bySource: [String: [(rule: Rule, compiled: Rule.Compiled)]] = [:]
        for rule in ruleSet.rules {
            for source in rule.sources {
                bySource[source, default: []].append((rule, rule.compiled[source]!))
            }
        }
        self.bySource = bySource
    }

    /// The alerts `event` raises, one per matching rule.
    public func evaluate(_ event: Event) -> [Alert] {
        guard let rules = bySource[event.source] else { return [] }
        var alerts: [Alert] = []
        for (rule, compiled) in rules where compiled.condition.matches(event) {
            if !compiled.keyFields.isEmpty {
                let key = compiled.keyFields.map { field in field.value(event).map(FieldText.text) ?? "" }
                let fresh = seen.withLock { seen -> Bool in
                    if seen[rule.name, default: []].count >= Self.maxKeys {
                        seen[rule.name] = []
                        forgotten.add(1, ordering: .relaxed)
                    }
                    return seen[rule.name, default: []].insert(key).inserted
                }
                guard fresh else { continue }
            }
            alerts.append(Alert(rule: rule.name, severity: rule.severity, message: compiled.message.render(event), event: event))
        }
        return alerts
    }

    /// How many times a once_per memory was full and was emptied.
    public var forgottenCount: Int { forgotten.load(ordering: .relaxed) }
}
