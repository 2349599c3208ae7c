/// What the supervisor does while the audit log is `.failed` (data only; the supervisor acts on it).
public enum AuditFailurePolicy: String, Sendable, Hashable, CaseIterable {
    /// Refuse new plugin loads until the audit trail is writing again (default): an operator must
    /// not end up running code whose admission was never recorded.
    case refuseNewLoads
    /// Keep going without an audit trail (for development hosts).
    case continueWithoutAudit
}
