/// Why verification failed.
public enum VerificationFailure: Sendable, Hashable, CustomStringConvertible {
    /// The line is not valid JSON of the kind Cordon writes (detail says where/why).
    case invalidJSON(detail: String)
    /// A required field is missing, mistyped or unexpected (`data.<name>` for data fields).
    case schema(field: String)
    /// Records are missing: `expected` was never found.
    case seqGap(expected: UInt64, found: UInt64)
    /// Records are present but out of order (or duplicated).
    case reordered(expected: UInt64, found: UInt64)
    /// `prev` is not the previous record's `hash`.
    case chainBroken
    /// `hash` does not match the record's content.
    case hashMismatch
    /// The head file names a later record than the log holds: records were cut off the end.
    case truncated(expectedLastSeq: UInt64)
    /// The record the head file names has a different hash: the end of the log was rewritten.
    case headMismatch(seq: UInt64)
    /// The log ends in an incomplete or unparsable line of `bytes` bytes (a crash mid-write);
    /// reopening the log with `AuditLog` moves it aside.
    case tornTail(bytes: Int)
    /// No head file was given and the log does not end with `log.close`, so removal of records at
    /// the end cannot be ruled out.
    case unanchored
    /// The file (or head file) could not be read.
    case unreadable(detail: String)

    public var description: String {
        switch self {
        case .invalidJSON(let d): return "invalid JSON: \(d)"
        case .schema(let f): return "schema violation in field \(f)"
        case .seqGap(let e, let f): return "seq gap: expected \(e), found \(f) (records removed)"
        case .reordered(let e, let f): return "records reordered: expected seq \(e), found \(f)"
        case .chainBroken: return "chain broken: prev does not match the previous record's hash"
        case .hashMismatch: return "hash mismatch: record content was altered"
        case .truncated(let s): return "truncated: head file expects the log to reach seq \(s)"
        case .headMismatch(let s): return "head mismatch: record \(s) differs from the head file's anchor"
        case .tornTail(let b): return "torn tail: \(b) byte\(b == 1 ? "" : "s") of an incomplete final record"
        case .unanchored: return "unanchored: no head file and no final log.close; truncation cannot be ruled out"
        case .unreadable(let d): return "unreadable: \(d)"
        }
    }
}
