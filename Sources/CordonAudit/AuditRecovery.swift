/// What `AuditLog.init` had to repair in the existing log before continuing it.
public struct AuditRecovery: Sendable, Hashable {
    /// Torn tails moved aside, oldest first (normally one; more if an earlier repair was itself
    /// interrupted before its `audit.recovered` record was written).
    public var moved: [AuditTornTail]
    /// A rotation was interrupted after its `log.rotate` record and was completed on open.
    public var completedRotation: Bool
    /// The seq the chain continued from (0 for a new log).
    public var resumedAfterSeq: UInt64

    /// Total bytes moved aside.
    public var tornBytes: Int { moved.reduce(0) { $0 + $1.bytes } }
    /// Where the most recent torn tail now is, nil if none.
    public var movedTo: String? { moved.last?.movedTo }
}
