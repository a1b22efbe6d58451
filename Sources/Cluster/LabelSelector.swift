import Foundation
import LinuxKit

/// A Kubernetes label selector (`-l`): comma-separated requirements that must all hold.
/// Equality-based `k=v`, `k==v`, `k!=v`; set-based `k in (a,b)`, `k notin (a,b)`, `k` (exists),
/// `!k` (does not exist). Parsed here so that a typo is an error before any request, and matched
/// here so that fixtures and servers agree.
public struct LabelSelector: Sendable, Equatable, CustomStringConvertible {
    public enum Requirement: Sendable, Equatable {
        case equals(String, String)
        case notEquals(String, String)
        case `in`(String, [String])
        case notIn(String, [String])
        case exists(String)
        case notExists(String)
    }

    public var requirements: [Requirement]

    public init(_ text: String) throws(SondeError) {
        var requirements: [Requirement] = []
        for part in try Self.split(text) {
            requirements.append(try Self.requirement(part, in: text))
        }
        guard !requirements.isEmpty else {
            throw SondeError(.invalidArgument, "label selector '\(text)' is empty")
        }
        self.requirements = requirements
    }

    public func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { requirement in
            switch requirement {
            case .equals(let key, let value): labels[key] == value
            // As Kubernetes: `k!=v` also holds when the label is absent.
            case .notEquals(let key, let value): labels[key] != value
            case .in(let key, let values): labels[key].map(values.contains) ?? false
            case .notIn(let key, let values): !(labels[key].map(values.contains) ?? false)
            case .exists(let key): labels[key] != nil
            case .notExists(let key): labels[key] == nil
            }
        }
    }

    /// The canonical text, as sent in `labelSelector=`.
    public var description: String {
        requirements.map { requirement in
            switch requirement {
            case .equals(let key, let value): "\(key)=\(value)"
            case .notEquals(let key, let value): "\(key)!=\(value)"
            case .in(let key, let values): "\(key) in (\(values.joined(separator: ",")))"
            case .notIn(let key, let values): "\(key) notin (\(values.joined(separator: ",")))"
            case .exists(let key): key
            case .notExists(let key): "!" + key
            }
        }.joined(separator: ",")
    }

    /// Splits on commas outside parentheses.
    static func split(_ text: String) throws(SondeError) -> [String] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            switch character {
            case "(":
                depth += 1
                current.append(character)
            case ")":
                depth -= 1
                guard depth >= 0 else { throw SondeError(.invalidArgument, "label selector '\(text)': unbalanced ')'") }
                current.append(character)
            case "," where depth == 0:
                parts.append(current)
                current = ""
            default:
                current.append(character)
            }
        }
        guard depth == 0 else { throw SondeError(.invalidArgument, "label selector '\(text)': unbalanced '('") }
        parts.append(current)
        return parts.map { $0.trimmingWhitespace }.filter { !$0.isEmpty }
    }

    static func requirement(_ part: String, in text: String) throws(SondeError) -> Requirement {
        func key(_ raw: Substring) throws(SondeError) -> String {
            let key = String(raw).trimmingWhitespace
            try validate(key, what: "key", in: text)
            return key
        }
        func value(_ raw: Substring) throws(SondeError) -> String {
            let value = String(raw).trimmingWhitespace
            if !value.isEmpty { try validate(value, what: "value", in: text) }
            return value
        }
        if let range = part.range(of: "!=") {
            return .notEquals(try key(part[..<range.lowerBound]), try value(part[range.upperBound...]))
        }
        if let range = part.range(of: "==") ?? part.range(of: "=") {
            return .equals(try key(part[..<range.lowerBound]), try value(part[range.upperBound...]))
        }
        if part.hasPrefix("!") { return .notExists(try key(part.dropFirst())) }
        let words = part.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        if words.count >= 2, words[1] == "in" || words[1] == "notin" || words[1].hasPrefix("in(") || words[1].hasPrefix("notin(") {
            // "k in (a, b)": the operator, then a parenthesised list.
            guard let open = part.firstIndex(of: "("), part.hasSuffix(")") else {
                throw SondeError(.invalidArgument, "label selector '\(text)': '\(part)' needs a list in parentheses, e.g. env in (prod,staging)")
            }
            let head = part[..<open].split(separator: " ", omittingEmptySubsequences: true)
            guard head.count == 2 else { throw SondeError(.invalidArgument, "label selector '\(text)': cannot read '\(part)'") }
            var values: [String] = []
            for raw in part[part.index(after: open)..<part.index(before: part.endIndex)].split(separator: ",") {
                values.append(try value(raw))
            }
            guard !values.isEmpty else { throw SondeError(.invalidArgument, "label selector '\(text)': '\(part)' has an empty list") }
            let name = try key(head[0])
            return head[1] == "in" ? .in(name, values) : .notIn(name, values)
        }
        guard words.count == 1 else {
            throw SondeError(.invalidArgument, "label selector '\(text)': cannot read '\(part)'",
                             hint: "use k=v, k!=v, k in (a,b), k notin (a,b), k or !k, separated by commas")
        }
        return .exists(try key(part[...]))
    }

    /// Label keys (with an optional DNS prefix "example.com/") and values: alphanumerics, '-', '_', '.'.
    static func validate(_ text: String, what: String, in selector: String) throws(SondeError) {
        let allowed = text.unicodeScalars.allSatisfy { scalar in
            switch scalar.value {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true // 0-9 A-Z a-z
            case 0x2D, 0x2E, 0x2F, 0x5F: true // - . / _
            default: false
            }
        }
        guard !text.isEmpty, allowed, text.count <= 316 else {
            throw SondeError(.invalidArgument, "label selector '\(selector)': invalid \(what) '\(text)'",
                             hint: "label keys and values are letters, digits, '-', '_' and '.' (keys may have a prefix 'example.com/')")
        }
    }
}

extension String {
    var trimmingWhitespace: String {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view = view.dropFirst() }
        while let last = view.last, last.isWhitespace { view = view.dropLast() }
        return String(view)
    }
}
