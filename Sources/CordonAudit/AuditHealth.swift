/// Whether the audit trail is currently being written.
public enum AuditHealth: Sendable, Hashable {
    /// Records are being written to the file (and every secondary sink).
    case healthy
    /// The file is fine but a secondary sink (e.g. syslog) failed `failures` times; the file stays
    /// authoritative, so this does not stop anything.
    case degraded(sinkFailures: Int, lastError: String)
    /// The file could not be written or synced: appends throw `error` until `AuditLog.resume()`
    /// succeeds. The supervisor applies its `AuditFailurePolicy`.
    case failed(AuditError)

    /// True unless `.failed`.
    public var isWriting: Bool {
        if case .failed = self { return false }
        return true
    }
}
