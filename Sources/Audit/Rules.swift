import Events
import LinuxKit
import Yams

/// How bad an alert is, from least to most.
public enum Severity: String, Sendable, CaseIterable, Comparable {
    case info, notice, warning, error, critical

    public static func < (a: Severity, b: Severity) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// One audit rule: which events it watches, when it fires, and what it says.
/// The language is documented in the README ("Audit rules") and by the default rules
/// (DefaultRules.swift).
public struct Rule: Sendable {
    public let name: String
    public let description: String
    public let severity: Severity
    /// Gadget names ("exec", "open"...) or "supervise".
    public let sources: [String]
    /// Alert once per distinct value of these fields (e.g. container and cap); empty: every match.
    public let oncePer: [String]
    /// Line of the rule in its file.
    public let line: Int
    /// The condition and message, compiled against each source's field catalogue.
    let compiled: [String: Compiled]

    struct Compiled: Sendable {
        let condition: Condition
        let message: MessageTemplate
        let keyFields: [FieldSpec]
    }
}

/// The rules of one file.
public struct RuleSet: Sendable {
    public let rules: [Rule]

    /// The sources the enabled rules need, in the order of `AuditSources.names`: only these
    /// gadgets are loaded.
    public var sources: [String] {
        let needed = Set(rules.flatMap(\.sources))
        return AuditSources.names.filter(needed.contains)
    }

    /// Parses and checks a rule file. Every problem is reported at once, each with its line and
    /// rule: unknown keys, unknown sources, fields a source does not have, ill-typed values, bad
    /// regular expressions, unknown message fields.
    public init(yaml: String, file: String) throws(SondeError) {
        var problems: [Problem] = []
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw SondeError(.malformedInput, "\(file): not valid YAML: \(error)")
        }
        guard let root, case .mapping(let top) = root else {
            throw SondeError(.malformedInput, "\(file): a rule file is a mapping with the key 'rules'",
                             hint: "rules:\n    - name: shell-in-container\n      source: exec\n      ...")
        }
        var rulesNode: Node?
        for (key, value) in top {
            if key.string == "rules" { rulesNode = value }
            else { problems.append(Problem(line: key.line, rule: nil, message: "unknown key '\(key.string ?? "?")' (a rule file has only 'rules')")) }
        }
        var rules: [Rule] = []
        if let rulesNode {
            if case .sequence(let list) = rulesNode {
                var names = Set<String>()
                for node in list {
                    do {
                        let rule = try Self.rule(node)
                        if let rule {
                            if names.insert(rule.name).inserted { rules.append(rule) }
                            else { problems.append(Problem(line: node.line, rule: rule.name, message: "a second rule with this name")) }
                        }
                    } catch let problem as Problem {
                        problems.append(problem)
                    } catch {
                        problems.append(Problem(line: node.line, rule: nil, message: "\(error)"))
                    }
                }
            } else {
                problems.append(Problem(line: rulesNode.line, rule: nil, message: "'rules' must be a list of rules"))
            }
        } else if problems.isEmpty {
            problems.append(Problem(line: root.line, rule: nil, message: "no 'rules' key"))
        }
        if !problems.isEmpty {
            throw problems.count == 1 ? problems[0].error(file: file)
                : SondeError(.invalidArgument, "\(file): \(problems.count) problems in the rules",
                             details: problems.map { $0.text(file: file) })
        }
        self.rules = rules
    }

    public init(rules: [Rule]) {
        self.rules = rules
    }

    // MARK: parsing one rule

    struct Problem: Error {
        let line: Int
        let rule: String?
        let message: String
        var hint: String?

        var location: String { rule.map { "rule '\($0)': " } ?? "" }

        func error(file: String) -> SondeError {
            SondeError(.invalidArgument, "\(file):\(line): \(location)\(message)", hint: hint)
        }

        func text(file: String) -> String {
            "\(file):\(line): \(location)\(message)" + (hint.map { " (\($0))" } ?? "")
        }
    }

    static let keys = ["name", "description", "source", "condition", "severity", "message", "once_per", "enabled"]

    /// nil for a rule with `enabled: false` (checked all the same).
    static func rule(_ node: Node) throws -> Rule? {
        guard case .mapping(let mapping) = node else {
            throw Problem(line: node.line, rule: nil, message: "a rule is a mapping (name:, source:, condition:, severity:, message:)")
        }
        var values: [String: Node] = [:]
        for (key, value) in mapping {
            values[key.string ?? ""] = value
        }
        guard let nameNode = values["name"] else { throw Problem(line: node.line, rule: nil, message: "a rule without a name") }
        guard let name = nameNode.plainString, !name.isEmpty,
              name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
            throw Problem(line: nameNode.line, rule: nil, message: "a rule's name is a word of letters, digits, - _ and . (got '\(nameNode.string ?? "a list")')")
        }
        func problem(_ at: Node, _ message: String, hint: String? = nil) -> Problem {
            Problem(line: at.line, rule: name, message: message, hint: hint)
        }
        for (key, _) in mapping where !keys.contains(key.string ?? "") {
            throw problem(key, "unknown key '\(key.string ?? "?")'", hint: "a rule has: " + keys.joined(separator: ", "))
        }

        // Sources.
        guard let sourceNode = values["source"] else { throw problem(node, "no 'source' (one of \(AuditSources.names.joined(separator: ", ")))") }
        let sources: [String]
        switch sourceNode {
        case .sequence(let list): sources = list.map { $0.string ?? "" }
        default: sources = [sourceNode.plainString ?? ""]
        }
        guard !sources.isEmpty else { throw problem(sourceNode, "'source' is an empty list") }
        for source in sources where AuditSources.catalog(source) == nil {
            throw problem(sourceNode, "unknown source '\(source)'", hint: "sources: " + AuditSources.names.joined(separator: ", "))
        }
        guard Set(sources).count == sources.count else { throw problem(sourceNode, "a source is listed twice") }

        guard let severityNode = values["severity"] else {
            throw problem(node, "no 'severity' (\(Severity.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let severity = severityNode.plainString.flatMap(Severity.init(rawValue:)) else {
            throw problem(severityNode, "unknown severity '\(severityNode.string ?? "a list")'",
                          hint: "severities: " + Severity.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard let messageNode = values["message"] else { throw problem(node, "no 'message'") }
        guard let messageText = messageNode.plainString else { throw problem(messageNode, "'message' is a text") }

        var description = ""
        if let descriptionNode = values["description"] {
            guard let text = descriptionNode.plainString else { throw problem(descriptionNode, "'description' is a text") }
            description = text
        }
        var oncePer: [String] = []
        if let onceNode = values["once_per"] {
            switch onceNode {
            case .sequence(let list): oncePer = list.map { $0.string ?? "" }
            default: oncePer = [onceNode.plainString ?? ""]
            }
            guard !oncePer.isEmpty else { throw problem(onceNode, "'once_per' is an empty list") }
        }
        var enabled = true
        if let enabledNode = values["enabled"] {
            guard case .scalar = enabledNode, let flag = enabledNode.bool else { throw problem(enabledNode, "'enabled' is true or false") }
            enabled = flag
        }

        // The condition, message and once_per fields must make sense for every source.
        var compiled: [String: Rule.Compiled] = [:]
        for source in sources {
            let catalog = AuditSources.catalog(source)!
            func inSource(_ error: SondeError, at: Node) -> Problem {
                let prefix = sources.count > 1 ? "source \(source): " : ""
                return problem(at, prefix + error.message, hint: error.hint.map { $0.hasPrefix("valid fields") ? "\($0) (source \(source))" : $0 })
            }
            let condition = try values["condition"].map { try Self.condition($0, catalog: catalog, problem: inSource) } ?? .always
            let message: MessageTemplate
            do { message = try MessageTemplate(parsing: messageText, catalog: catalog) }
            catch { throw inSource(error, at: messageNode) }
            var keyFields: [FieldSpec] = []
            for field in oncePer {
                guard let spec = catalog[field] else {
                    throw inSource(SondeError(.invalidArgument, "once_per: unknown field '\(field)'",
                                              hint: "valid fields: " + catalog.names.joined(separator: ", ")), at: values["once_per"]!)
                }
                keyFields.append(spec)
            }
            compiled[source] = Rule.Compiled(condition: condition, message: message, keyFields: keyFields)
        }
        guard enabled else { return nil }
        return Rule(name: name, description: description, severity: severity, sources: sources, oncePer: oncePer,
                    line: node.line, compiled: compiled)
    }

    /// A condition node: a text (one comparison), a list (all of them), or a mapping with one key,
    /// all / any (a list) or not (a condition).
    static func condition(_ node: Node, catalog: FieldCatalog,
                          problem: (SondeError, Node) -> Problem) throws -> Condition {
        switch node {
        case .scalar:
            guard let text = node.plainString, !text.isEmpty else {
                throw problem(SondeError(.invalidArgument, "an empty condition"), node)
            }
            do { return try Condition.leaf(text, catalog: catalog) }
            catch { throw problem(error, node) }
        case .sequence(let list):
            guard !list.isEmpty else { throw problem(SondeError(.invalidArgument, "an empty list of conditions"), node) }
            return .all(try list.map { try condition($0, catalog: catalog, problem: problem) })
        case .mapping(let mapping):
            guard mapping.count == 1, let (key, value) = mapping.first, let word = key.string,
                  ["all", "any", "not"].contains(word) else {
                throw problem(SondeError(.invalidArgument, "a condition mapping has exactly one key: all, any or not"), node)
            }
            if word == "not" { return .not(try condition(value, catalog: catalog, problem: problem)) }
            guard case .sequence(let list) = value, !list.isEmpty else {
                throw problem(SondeError(.invalidArgument, "'\(word)' takes a non-empty list of conditions"), value)
            }
            let conditions = try list.map { try condition($0, catalog: catalog, problem: problem) }
            return word == "all" ? .all(conditions) : .any(conditions)
        case .alias:
            throw problem(SondeError(.invalidArgument, "aliases are not supported in conditions"), node)
        }
    }
}

extension Node {
    /// 1-based line of the node, 0 when unknown.
    var line: Int { mark?.line ?? 0 }

    /// The text of a scalar (whatever YAML would have made of it: `0`, `true` stay as written).
    var plainString: String? {
        guard case .scalar(let scalar) = self else { return nil }
        return scalar.string
    }
}
