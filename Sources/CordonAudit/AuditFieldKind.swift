/// The JSON shape of an `AuditField`.
public enum AuditFieldKind: Sendable, Hashable {
    case string
    case int
    case bool
    /// 64 lowercase hex digits.
    case sha256
    case stringArray
    case intArray
    /// A string restricted to the listed values.
    case oneOf([String])

    /// Whether `value` has this shape.
    public func accepts(_ value: AuditValue) -> Bool {
        switch (self, value) {
        case (.string, .string), (.int, .int), (.bool, .bool): return true
        case (.sha256, .string(let s)): return isSHA256Hex(s)
        case (.stringArray, .array(let a)): return a.allSatisfy { $0.stringValue != nil }
        case (.intArray, .array(let a)): return a.allSatisfy { $0.intValue != nil }
        case (.oneOf(let allowed), .string(let s)): return allowed.contains(s)
        default: return false
        }
    }
}
