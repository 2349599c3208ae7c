/// A JSON value as it may appear in an audit record: integers only, no floating point.
///
/// Floats are excluded on purpose: their textual form is not unique across implementations, and a
/// hash chain needs every consumer to reproduce the exact bytes. Objects are unordered here; the
/// canonical encoder sorts keys (see `CanonicalJSON`).
public enum AuditValue: Sendable, Hashable {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case null
    case array([AuditValue])
    case object([String: AuditValue])
}

extension AuditValue {
    /// The string payload, or nil for any other case.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The integer payload, or nil for any other case.
    public var intValue: Int64? {
        if case .int(let i) = self { return i }
        return nil
    }

    /// The boolean payload, or nil for any other case.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The array payload, or nil for any other case.
    public var arrayValue: [AuditValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The object payload, or nil for any other case.
    public var objectValue: [String: AuditValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// True for `.null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The canonical JSON text of this value (see `CanonicalJSON`).
    public var canonicalJSON: String {
        var w = CanonicalJSONWriter()
        w.write(self)
        return String(decoding: w.bytes, as: UTF8.self)
    }
}

extension AuditValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}

extension AuditValue: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int64) { self = .int(value) }
}

extension AuditValue: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension AuditValue: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: AuditValue...) { self = .array(elements) }
}

extension AuditValue: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, AuditValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension AuditValue: ExpressibleByNilLiteral {
    public init(nilLiteral: ()) { self = .null }
}
