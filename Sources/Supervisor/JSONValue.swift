import Foundation
import LinuxKit

/// A parsed JSON document that keeps booleans, numbers and strings apart (JSONSerialization on
/// Linux gives NSNumber for both true and 1). Used for the policy and the runtimes' messages,
/// both of which must reject wrong types with a clear message.
public enum JSONValue: Sendable, Equatable, Decodable {
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
