/// Returned by `AuditLog.append`: which record was written. Pass it to `waitDurable` to wait
/// until that record is on stable storage.
public struct AuditReceipt: Sendable, Hashable {
    /// The record's `seq`; 0 when the event was sampled out and not written at all.
    public var seq: UInt64
    /// The record's `hash` (empty when sampled out).
    public var hash: String

    /// The receipt for an event that `HostCallSampling` dropped.
    public static let sampledOut = AuditReceipt(seq: 0, hash: "")

    /// False when the event was sampled out.
    public var isRecorded: Bool { seq != 0 }
}
