/// The verdict on a log (or rotated set of logs): everything checked out, or the first problem.
public enum AuditVerification: Sendable, Hashable {
    /// Every record parsed, matched the schema, was in gapless order, chained and hashed
    /// correctly, and the end of the log matched its anchor.
    case ok(records: Int)
    /// The first problem found. `seq` is the offending record's seq when it could be read; for
    /// `.tornTail`, `.truncated` and `.unanchored` it is the last complete record's seq. `line`
    /// is 1-based within `file`.
    case failed(seq: UInt64?, line: Int, file: String, reason: VerificationFailure)

    /// True for `.ok`.
    public var isOK: Bool {
        if case .ok = self { return true }
        return false
    }

    /// Process exit status for `cordon audit verify`: 0 when intact, 65 (`EX_DATAERR`) otherwise.
    public var exitCode: Int32 { isOK ? 0 : 65 }

    /// One line for the CLI: `ok: N records, chain intact` or
    /// `FAILED: seq 17 (audit.log line 17): hash mismatch: …`.
    public func summaryLine() -> String {
        switch self {
        case .ok(let n):
            return "ok: \(n) record\(n == 1 ? "" : "s"), chain intact"
        case .failed(let seq, let line, let file, let reason):
            let location = line > 0 ? "\(file) line \(line)" : file
            if let seq { return "FAILED: seq \(seq) (\(location)): \(reason)" }
            return "FAILED: \(location): \(reason)"
        }
    }
}
