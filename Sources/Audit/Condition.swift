import Events
import LinuxKit

/// The condition of a rule, compiled against one source's field catalogue.
///
/// Leaves are the `--filter` conditions of the trace commands (Sources/Events/Filter.swift):
/// `FIELD=VALUE`, `FIELD!=VALUE`, `FIELD~REGEX`, `FIELD!~REGEX`, here with optional spaces around
/// the operator, plus `FIELD in [A, B]` and `FIELD not in [A, B]` (any of the values, by `=`).
/// `all`, `any` and `not` combine them.
public indirect enum Condition: Sendable {
    /// A rule without a condition: every event of its sources.
    case always
    case filter(EventFilter)
    case all([Condition])
    case any([Condition])
    case not(Condition)

    public func matches(_ event: Event) -> Bool {
        switch self {
        case .always: return true
        case .filter(let filter): return filter.matches(event)
        case .all(let conditions): return conditions.allSatisfy { $0.matches(event) }
        case .any(let conditions): return conditions.contains { $0.matches(event) }
        case .not(let condition): return !condition.matches(event)
        }
    }

    /// Every field the condition reads.
    public var fields: [String] {
        switch self {
        case .always: return []
        case .filter(let filter): return [filter.field.name]
        case .all(let list), .any(let list): return list.flatMap(\.fields)
        case .not(let condition): return condition.fields
        }
    }

    /// One leaf as written in a rule: `path ~ ^/etc/`, `ret=0`, `cap in [CAP_SYS_ADMIN, CAP_BPF]`.
    /// Errors say what is wrong with the text; the caller adds where it is.
    public static func leaf(_ text: String, catalog: FieldCatalog) throws(SondeError) -> Condition {
        let trimmed = text.drop { $0 == " " }
        let nameEnd = trimmed.firstIndex { !($0.isLetter || $0.isNumber || $0 == "_") } ?? trimmed.endIndex
        let name = String(trimmed[..<nameEnd])
        let rest = trimmed[nameEnd...].drop { $0 == " " }
        guard !name.isEmpty else {
            throw SondeError(.invalidArgument, "condition '\(text)' does not start with a field name",
                             hint: "valid fields: " + catalog.names.joined(separator: ", "))
        }
        for (keyword, negated) in [("not in", true), ("in", false)] where rest.hasPrefix(keyword) {
            let after = rest.dropFirst(keyword.count)
            guard after.isEmpty || after.first == " " || after.first == "[" else { continue }
            let list = after.drop { $0 == " " }
            guard list.hasPrefix("[") else {
                throw SondeError(.invalidArgument, "condition '\(text)': '\(keyword)' takes a list: \(name) \(keyword) [A, B]")
            }
            let any = try membership(name: name, list: String(list), text: text, catalog: catalog)
            return negated ? .not(any) : any
        }
        if rest.hasPrefix("==") {
            throw SondeError(.invalidArgument, "condition '\(text)': the operator is =, not ==")
        }
        let op: EventFilter.Operator
        if rest.hasPrefix("!=") { op = .notEqual }
        else if rest.hasPrefix("!~") { op = .notMatches }
        else if rest.hasPrefix("=") { op = .equal }
        else if rest.hasPrefix("~") { op = .matches }
        else {
            throw SondeError(.invalidArgument,
                             "condition '\(text)' is not FIELD = VALUE, FIELD != VALUE, FIELD ~ REGEX, FIELD !~ REGEX, FIELD in [A, B] or FIELD not in [A, B]")
        }
        let value = rest.dropFirst(op.rawValue.count).drop { $0 == " " }
        return .filter(try EventFilter(parsing: name + op.rawValue + value, catalog: catalog))
    }

    /// `[A, B, C]`: the field equals one of them.
    private static func membership(name: String, list: String, text: String, catalog: FieldCatalog) throws(SondeError) -> Condition {
        guard list.hasSuffix("]") else {
            throw SondeError(.invalidArgument, "condition '\(text)': the list does not end with ]")
        }
        let values = list.dropFirst().dropLast().split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingSpaces }.map(unquoted)
        guard !values.isEmpty, !values.contains(where: \.isEmpty) else {
            throw SondeError(.invalidArgument, "condition '\(text)': the list has an empty value")
        }
        var filters: [Condition] = []
        for value in values {
            filters.append(.filter(try EventFilter(parsing: name + "=" + value, catalog: catalog)))
        }
        return .any(filters)
    }
}

/// `"a b"` or `'a b'` in a list: the text between the quotes.
private func unquoted(_ value: String) -> String {
    for quote in ["\"", "'"] where value.count >= 2 && value.hasPrefix(quote) && value.hasSuffix(quote) {
        return String(value.dropFirst().dropLast())
    }
    return value
}

extension Substring {
    var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

/// A rule's message: text with `{field}` replaced by the event's value of that field, formatted
/// as in the columns (an errno as ENOENT, argv joined by spaces, control characters escaped).
/// `{{` and `}}` are literal braces. A field the event lacks (no container) shows as `-`.
public struct MessageTemplate: Sendable {
    enum Part: Sendable {
        case text(String)
        case field(FieldSpec)
    }
    let parts: [Part]

    public init(parsing template: String, catalog: FieldCatalog) throws(SondeError) {
        var parts: [Part] = []
        var text = ""
        var index = template.startIndex
        while index < template.endIndex {
            let c = template[index]
            let next = template.index(after: index)
            if (c == "{" || c == "}") && next < template.endIndex && template[next] == c {
                text.append(c)
                index = template.index(after: next)
                continue
            }
            if c == "}" {
                throw SondeError(.invalidArgument, "message '\(template)': a lone } (write }} for a brace)")
            }
            guard c == "{" else {
                text.append(c)
                index = next
                continue
            }
            guard let close = template[next...].firstIndex(of: "}") else {
                throw SondeError(.invalidArgument, "message '\(template)': { without its } (write {{ for a brace)")
            }
            let name = template[next..<close].trimmingSpaces
            guard let field = catalog[name] else {
                throw SondeError(.invalidArgument, "message '\(template)': unknown field '\(name)'",
                                 hint: "valid fields: " + catalog.names.joined(separator: ", "))
            }
            if !text.isEmpty { parts.append(.text(text)) }
            text = ""
            parts.append(.field(field))
            index = template.index(after: close)
        }
        if !text.isEmpty { parts.append(.text(text)) }
        self.parts = parts
    }

    public func render(_ event: Event) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .text(let text): out += text
            case .field(let field):
                let value = field.value(event).map(FieldText.text) ?? ""
                out += value.isEmpty ? "-" : value
            }
        }
        return out
    }
}
