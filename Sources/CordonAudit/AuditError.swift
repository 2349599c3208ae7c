/// Everything that can go wrong in the audit log. Write failures are always reported, never dropped.
public enum AuditError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Opening or creating a log file (or its directory) failed.
    case open(path: String, errno: AuditErrno)
    /// Writing a record to the log file failed; the log is now `.failed`.
    case write(AuditErrno)
    /// `fsync` of the log file failed; records since the last commit may not be durable.
    case sync(AuditErrno)
    /// Rotating (rename, create, directory fsync) failed.
    case rotate(path: String, errno: AuditErrno)
    /// Writing the head file failed.
    case head(path: String, errno: AuditErrno)
    /// Reading an existing log on open failed (I/O).
    case read(path: String, errno: AuditErrno)
    /// The existing log cannot be continued safely; `reason` says why. Not repaired automatically
    /// because repairing would erase evidence.
    case corrupt(path: String, reason: String)
    /// The head file records a later seq (or another hash) than the log holds: records were removed.
    case anchorMismatch(headSeq: UInt64, logSeq: UInt64)
    /// The event type is written only by the log itself (`log.rotate`, `log.close`, `audit.recovered`).
    case reservedType(AuditEventType)
    /// The event does not match its type's schema (`field` is missing, mistyped or unexpected; or
    /// `worker` is not a positive pid). Rejected so one bad event cannot make the log unverifiable.
    case invalidEvent(type: AuditEventType, field: String)
    /// Another `AuditLog` (in this or another process) has this log open; two writers would fork
    /// the chain.
    case locked(path: String)
    /// The log was closed.
    case closed
    /// The configuration is unusable.
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .open(let p, let e): return "cannot open \(p): \(e)"
        case .write(let e): return "audit write failed: \(e)"
        case .sync(let e): return "audit fsync failed: \(e)"
        case .rotate(let p, let e): return "audit rotation of \(p) failed: \(e)"
        case .head(let p, let e): return "cannot write head file \(p): \(e)"
        case .read(let p, let e): return "cannot read \(p): \(e)"
        case .corrupt(let p, let r): return "\(p) cannot be continued: \(r)"
        case .anchorMismatch(let h, let l):
            return "head file records seq \(h) but the log ends at seq \(l): records were removed"
        case .reservedType(let t): return "\(t.rawValue) records are written by the log itself"
        case .invalidEvent(let t, let f): return "\(t.rawValue) event has an invalid field \(f)"
        case .locked(let p): return "\(p) is held by another audit log writer"
        case .closed: return "audit log is closed"
        case .invalidConfiguration(let r): return "invalid audit configuration: \(r)"
        }
    }
}
