/// A destination for audit lines besides (or as) the log file.
///
/// `write` receives the exact line (with trailing newline) and the record it encodes, under the
/// log's lock and in `seq` order, so implementations must be quick and must not call back into the
/// log. `sync` is called at each commit; a sink that has no notion of durability does nothing.
public protocol AuditSink: Sendable {
    /// Delivers one record.
    func write(_ line: [UInt8], record: AuditRecord) throws
    /// Makes everything delivered so far durable, if the sink can.
    func sync() throws
}
