/// When an appended record becomes durable (on stable storage, surviving power loss).
public enum AuditDurability: Sendable, Hashable {
    /// `append` writes, fsyncs and updates the head file before returning: durable on return.
    case fsyncEachRecord
    /// `append` writes (the record survives a crash of this process, not of the machine); a
    /// background committer fsyncs when `maxBatch` records are pending or the oldest pending
    /// record is `maxDelay` old, then updates the head file. Durable when `waitDurable` returns.
    case groupCommit(maxDelay: Duration = .milliseconds(5), maxBatch: Int = 4096)
}
