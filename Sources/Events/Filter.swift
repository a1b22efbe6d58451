import LinuxKit

/// `--filter` conditions, parsed against a gadget's `FieldCatalog` and evaluated on typed values.
///
/// Syntax: `FIELD=VALUE`, `FIELD!=VALUE`, `FIELD~REGEX`, `FIELD!~REGEX`. Several filters are ANDed.
/// Numbers compare numerically (`pid=0042` is pid 42); a syscall result takes an errno name or a
/// number (`ret=ENOENT`, `ret=-2`, `ret=3`); a regular expression matches anywhere in the field's
/// text (anchor it with ^ and $), which for a result is its text too (`ret~^E` is any error).
/// A regular expression on a number or a boolean is refused: say `pid=42`, not `pid~4`.
/// An event without the field (a host process has no container) fails `=` and `~`, passes `!=`
/// and `!~`.
public struct EventFilter: Sendable {
    public enum Operator: String, Sendable {
        case equal = "=", notEqual = "!=", matches = "~", notMatches = "!~"
    }

    enum Operand: @unchecked Sendable { // Regex is immutable once compiled; safe to share
        case int(Int64)
        case uint(UInt64)
        case text(String)
        case bool(Bool)
        /// A result given as an errno name: matches -errno.
        case errno(Int64)
        case regex(Regex<AnyRegexOutput>)
    }

    public let field: FieldSpec
    public let op: Operator
    /// As written on the command line, for messages.
    public let source: String
    let operand: Operand

    /// Parses one `--filter` argument; errors name the valid fields, or the field's type.
    public init(parsing text: String, catalog: FieldCatalog) throws(SondeError) {
        source = text
        let nameEnd = text.firstIndex { !($0.isLetter || $0.isNumber || $0 == "_") } ?? text.endIndex
        let name = String(text[..<nameEnd])
        let rest = text[nameEnd...]
        let op: Operator
        if rest.hasPrefix("!=") { op = .notEqual }
        else if rest.hasPrefix("!~") { op = .notMatches }
        else if rest.hasPrefix("=") { op = .equal }
        else if rest.hasPrefix("~") { op = .matches }
        else {
            throw SondeError(.invalidArgument, "filter '\(text)' is not FIELD=VALUE, FIELD!=VALUE, FIELD~REGEX or FIELD!~REGEX")
        }
        guard !name.isEmpty else {
            throw SondeError(.invalidArgument, "filter '\(text)' has no field name",
                             hint: "valid fields: " + catalog.names.joined(separator: ", "))
        }
        field = try catalog.field(name)
        self.op = op
        let value = String(rest.dropFirst(op.rawValue.count))
        operand = try Self.operand(value, op: op, field: field, filter: text)
    }

    private static func operand(_ value: String, op: Operator, field: FieldSpec, filter: String) throws(SondeError) -> Operand {
        func wrongType(_ example: String) -> SondeError {
            SondeError(.invalidArgument, "filter '\(filter)': field '\(field.name)' is of type \(field.type.rawValue); '\(value)' is not one",
                       hint: "for example \(field.name)\(op.rawValue)\(example)")
        }
        if op == .matches || op == .notMatches {
            switch field.type {
            case .int, .uint, .bool:
                throw SondeError(.invalidArgument,
                                 "filter '\(filter)': field '\(field.name)' is of type \(field.type.rawValue); a regular expression (~) needs a text field",
                                 hint: "compare it with = or !=, e.g. \(field.name)=\(field.type == .bool ? "true" : "1")")
            case .string, .strings, .result:
                do {
                    return .regex(try Regex(value))
                } catch {
                    throw SondeError(.invalidArgument, "filter '\(filter)': '\(value)' is not a valid regular expression: \(error)")
                }
            }
        }
        switch field.type {
        case .int:
            guard let v = Int64(value) else { throw wrongType("42") }
            return .int(v)
        case .uint:
            guard let v = UInt64(value) else { throw wrongType("1000") }
            return .uint(v)
        case .bool:
            switch value {
            case "true", "1", "yes": return .bool(true)
            case "false", "0", "no": return .bool(false)
            default: throw wrongType("true")
            }
        case .string, .strings:
            return .text(value)
        case .result:
            if let v = Int64(value) { return .int(v) }
            guard let errno = Errno(name: value) else { throw wrongType("ENOENT (an errno name) or -2") }
            return .errno(-Int64(errno.rawValue))
        }
    }

    public func matches(_ event: Event) -> Bool {
        let value = field.value(event)
        switch op {
        case .equal: return value.map(equals) ?? false
        case .notEqual: return !(value.map(equals) ?? false)
        case .matches: return value.map(regexMatches) ?? false
        case .notMatches: return !(value.map(regexMatches) ?? false)
        }
    }

    private func equals(_ value: FieldValue) -> Bool {
        switch (value, operand) {
        case (.int(let v), .int(let o)): return v == o
        case (.uint(let v), .uint(let o)): return v == o
        // A field declared one integer type and holding the other still compares by value.
        case (.int(let v), .uint(let o)): return v >= 0 && UInt64(v) == o
        case (.uint(let v), .int(let o)): return o >= 0 && v == UInt64(o)
        case (.result(let v), .int(let o)), (.result(let v), .errno(let o)): return v == o
        case (.bool(let v), .bool(let o)): return v == o
        case (.string(let s), .text(let o)): return s == o
        case (.strings(let list, _), .text(let o)): return list.contains(o)
        default: return false
        }
    }

    private func regexMatches(_ value: FieldValue) -> Bool {
        guard case .regex(let regex) = operand else { return false }
        switch value {
        case .string(let s): return s.contains(regex)
        case .strings(let list, _): return list.joined(separator: " ").contains(regex)
        default: return FieldText.text(value).contains(regex)
        }
    }
}

/// Every `--filter` of a command: an event is shown when all of them match.
public struct EventFilters: Sendable {
    public let filters: [EventFilter]

    public init(parsing texts: [String], catalog: FieldCatalog) throws(SondeError) {
        var filters: [EventFilter] = []
        for text in texts { filters.append(try EventFilter(parsing: text, catalog: catalog)) }
        self.filters = filters
    }

    public var isEmpty: Bool { filters.isEmpty }

    public func matches(_ event: Event) -> Bool {
        for filter in filters where !filter.matches(event) { return false }
        return true
    }
}
