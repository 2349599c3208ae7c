/// Rotation thresholds; nil disables that trigger. Checked when a record is appended.
public struct AuditRotation: Sendable, Hashable {
    /// Rotate once the active file has reached this size (it may exceed it by one record).
    public var maxBytes: Int?
    /// Rotate when the active file's first record is older than this.
    public var maxAge: Duration?

    public init(maxBytes: Int? = 64 << 20, maxAge: Duration? = nil) {
        self.maxBytes = maxBytes
        self.maxAge = maxAge
    }

    /// Never rotate.
    public static let never = AuditRotation(maxBytes: nil, maxAge: nil)
}
