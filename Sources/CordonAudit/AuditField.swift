/// One field of an event type's `data` object: name, JSON kind, and whether it must be present.
public struct AuditField: Sendable, Hashable {
    /// The key inside `data`.
    public var name: String
    /// The JSON shape its value must have.
    public var kind: AuditFieldKind
    /// Whether the key must be present (optional keys are omitted, never `null`).
    public var required: Bool

    public init(_ name: String, _ kind: AuditFieldKind, required: Bool = true) {
        self.name = name
        self.kind = kind
        self.required = required
    }
}
