import Foundation

/// A parsed JSON document that keeps booleans, numbers and strings apart (JSONSerialization on
/// Linux gives NSNumber for both true and 1). sonde's one way to read JSON whose shape is checked
/// by hand, with a clear message for each wrong type: configuration, the supervisor's policy, the
/// runtimes' messages and OCI state, Kubernetes answers, seccomp profiles, recordings. (Shapes
/// sonde defines itself and reads back leniently use Codable.)
public enum JSONValue: Sendable, Equatable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            // Whole numbers as integers, as the documents sonde rewrites had them.
            if let whole = Int64(exactly: value) { try container.encode(whole) } else { try container.encode(value) }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The document as JSON text, keys sorted (stable output for files and tests).
    public func data(pretty: Bool = false) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        // Every case encodes; a failure would be a bug in this type.
        return (try? encoder.encode(self)) ?? Data("null".utf8)
    }

    public static func parse(_ data: Data) throws(SondeError) -> JSONValue {
        do { return try JSONDecoder().decode(JSONValue.self, from: data) } catch {
            var reason = "\(error)"
            if case DecodingError.dataCorrupted(let context) = error {
                reason = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
                    ?? context.debugDescription
            }
            throw SondeError(.malformedInput, "not valid JSON: \(reason)")
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    public var string: String? { if case .string(let s) = self { return s } else { return nil } }

    public var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }

    public var number: Double? { if case .number(let n) = self { return n } else { return nil } }

    public var array: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }

    public var object: [String: JSONValue]? { if case .object(let o) = self { return o } else { return nil } }

    public var isNull: Bool { self == .null }

    /// A list of strings, or nil when it is not one.
    public var strings: [String]? { array.flatMap { list in list.compactMap(\.string).count == list.count ? list.compactMap(\.string) : nil } }

    public var integer: Int64? { if case .number(let n) = self { return Int64(exactly: n) } else { return nil } }

    public var stringMap: [String: String]? {
        guard case .object(let object) = self else { return nil }
        var out: [String: String] = [:]
        for (key, value) in object {
            guard case .string(let s) = value else { return nil }
            out[key] = s
        }
        return out
    }

    /// Short text for error messages.
    public var text: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return String(b)
        case .number(let n): return String(n)
        case .string(let s): return "'\(s)'"
        case .array: return "a list"
        case .object: return "an object"
        }
    }
}

/// Literals, for documents sonde writes (seccomp profiles): `["action": "SCMP_ACT_ALLOW", "index": 0]`.
extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
                     ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }

    public init(_ strings: [String]) { self = .array(strings.map(JSONValue.string)) }
    public init<Integer: BinaryInteger>(_ value: Integer) { self = .number(Double(value)) }
}
