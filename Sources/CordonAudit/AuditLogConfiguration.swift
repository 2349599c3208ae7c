/// How the audit log is written: where, how durably, when to rotate, what to sample.
public struct AuditLogConfiguration: Sendable {
    /// Path of the active log file; rotated files, the head file and torn-tail files live next to it.
    public var path: String
    /// When records reach stable storage.
    public var durability: AuditDurability
    /// When the active file is rotated.
    public var rotation: AuditRotation
    /// Which `hostcall` events are recorded.
    public var hostCallSampling: HostCallSampling
    /// Tenant written for events whose `tenant` is nil.
    public var defaultTenant: String?
    /// What the supervisor should do while the log is failing.
    public var failurePolicy: AuditFailurePolicy
    /// Secondary sinks that receive every line after the file (e.g. `SyslogAuditSink`). Their
    /// failures degrade `health` but never fail an append: the file is the authority.
    public var sinks: [any AuditSink]
    /// Capacity of each `records` stream; a subscriber that falls further behind loses the oldest
    /// buffered records (visible as a `seq` gap). The file is never affected.
    public var streamBufferSize: Int

    public init(path: String,
                durability: AuditDurability = .groupCommit(),
                rotation: AuditRotation = .init(),
                hostCallSampling: HostCallSampling = .deniedOnly,
                defaultTenant: String? = nil,
                failurePolicy: AuditFailurePolicy = .refuseNewLoads,
                sinks: [any AuditSink] = [],
                streamBufferSize: Int = 65_536) {
        self.path = path
        self.durability = durability
        self.rotation = rotation
        self.hostCallSampling = hostCallSampling
        self.defaultTenant = defaultTenant
        self.failurePolicy = failurePolicy
        self.sinks = sinks
        self.streamBufferSize = streamBufferSize
    }
}
