/// The policy parser's strict JSON reader, for other modules that take JSON from untrusted parties
/// (the `cordon serve` config and API bodies): depth-bounded, duplicate keys refused, numbers kept as
/// their literal text so 64-bit integers convert exactly.
public indirect enum StrictJSONValue: Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([StrictJSONValue])
    case object([(key: String, value: StrictJSONValue)])

    /// `object`, `array`, `string`, `integer`, `number`, `boolean` or `null`, for error messages.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number(let t): t.allSatisfy { $0 == "-" || $0.isASCII && $0.isNumber } ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    init(_ value: JSONValue) {
        switch value {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .number(let t): self = .number(t)
        case .string(let s): self = .string(s)
        case .array(let a): self = .array(a.map(StrictJSONValue.init))
        case .object(let o): self = .object(o.map { (key: $0.key, value: StrictJSONValue($0.value)) })
        }
    }
}

/// Why a document is not strict JSON, with the line and column (or the duplicated key's path).
public struct StrictJSONError: Error, Sendable, CustomStringConvertible {
    public let description: String
}

public enum StrictJSON {
    /// Parses one JSON document; nesting is capped at 64 levels.
    public static func parse(_ bytes: [UInt8]) throws(StrictJSONError) -> StrictJSONValue {
        do {
            return StrictJSONValue(try JSONParser.parse(bytes))
        } catch {
            if let path = error.duplicatePath, let key = error.duplicateKey {
                throw StrictJSONError(description: "\(path): duplicate key \"\(key)\"")
            }
            throw StrictJSONError(description: "line \(error.line), column \(error.column): \(error.error)")
        }
    }
}
