import CordonPolicy

/// Per-plugin limits. Each defaults to the policy's value. An application's values are used as
/// given, not clamped to the policy's: the application is the trusted party, so it can loosen a limit
/// as well as tighten it (the worker's rlimits still come from the policy).
public struct ResourceLimits: Sendable, Hashable {
    /// Linear-memory pages (64 KiB) a memory may grow to.
    public var memoryPages: UInt32
    /// Elements a table may grow to.
    public var tableElements: UInt32
    /// Fuel per call (≈ WebAssembly operators); 0 disables metering (then wall time is the bound).
    public var fuelPerCall: UInt64
    /// Wall-clock time per call; past it the worker is killed.
    public var wallTimePerCall: Duration
    /// CPU seconds over a worker's life (RLIMIT_CPU).
    public var cpuSecondsPerWorker: UInt64
    /// Host calls per second (token bucket) and per export call.
    public var hostCallsPerSecond: UInt32
    public var hostCallsPerCall: UInt32
    /// Bytes in one host call's inputs, and in one channel message.
    public var maxHostCallBytes: UInt32
    public var maxMessageBytes: UInt32
    /// host_log bytes per second.
    public var logBytesPerSecond: UInt32
    /// Guest → host → guest re-entry depth.
    public var reentryDepth: UInt32
    /// Guest call depth: an upper bound, through the interpreter's stack (docs/policies.md, `maxCallDepth`).
    public var callDepth: UInt32

    /// The limits a policy sets.
    public init(policy: SandboxPolicy) {
        memoryPages = policy.wasm.maxMemoryPages
        tableElements = policy.wasm.maxTableElements
        fuelPerCall = policy.wasm.fuelPerCall
        reentryDepth = policy.wasm.maxReentryDepth
        callDepth = policy.wasm.maxCallDepth
        wallTimePerCall = .milliseconds(Int64(policy.limits.wallTimeMillisecondsPerCall))
        cpuSecondsPerWorker = UInt64(policy.limits.cpuSecondsPerWorker)
        hostCallsPerSecond = UInt32(policy.limits.hostCallsPerSecond)
        hostCallsPerCall = UInt32(policy.limits.hostCallsPerCall)
        maxHostCallBytes = UInt32(policy.limits.maxHostCallBytes)
        maxMessageBytes = UInt32(policy.limits.maxMessageBytes)
        logBytesPerSecond = UInt32(policy.limits.logBytesPerSecond)
    }
}
