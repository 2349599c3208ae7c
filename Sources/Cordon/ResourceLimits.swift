import CordonPolicy

/// Per-plugin limits. Each defaults to the policy's value. An application's values are used as
/// given, not clamped to the policy's: the application is the trusted party, so it can loosen a limit
/// as well as tighten it (the worker's rlimits still come from the policy).
///
/// Every limit is named `max…`, and each name is the policy's (`wasm` and `limits` sections), so a
/// value can be looked up on either side by the same word.
public struct ResourceLimits: Sendable, Hashable {
    /// Linear-memory pages (64 KiB) a memory may grow to.
    public var maxMemoryPages: UInt32
    /// Elements a table may grow to.
    public var maxTableElements: UInt32
    /// Fuel per call (≈ WebAssembly operators); 0 disables metering (then wall time is the bound).
    public var maxFuelPerCall: UInt64
    /// Wall-clock time per call; past it the worker is killed (policy `maxWallTimeMillisecondsPerCall`).
    public var maxWallTimePerCall: Duration
    /// CPU seconds over a worker's life (RLIMIT_CPU).
    public var maxCPUSecondsPerWorker: UInt64
    /// Host calls per second (token bucket) and per export call.
    public var maxHostCallsPerSecond: UInt32
    public var maxHostCallsPerCall: UInt32
    /// Bytes in one host call's inputs, and in one channel message.
    public var maxHostCallBytes: UInt32
    public var maxMessageBytes: UInt32
    /// host_log bytes per second.
    public var maxLogBytesPerSecond: UInt32
    /// Guest → host → guest re-entry depth.
    public var maxReentryDepth: UInt32
    /// Guest call depth: an upper bound, through the interpreter's stack (docs/policies.md, `maxCallDepth`).
    public var maxCallDepth: UInt32

    /// The limits a policy sets.
    public init(policy: SandboxPolicy) {
        maxMemoryPages = policy.wasm.maxMemoryPages
        maxTableElements = policy.wasm.maxTableElements
        maxFuelPerCall = policy.wasm.maxFuelPerCall
        maxReentryDepth = policy.wasm.maxReentryDepth
        maxCallDepth = policy.wasm.maxCallDepth
        maxWallTimePerCall = .milliseconds(Int64(policy.limits.maxWallTimeMillisecondsPerCall))
        maxCPUSecondsPerWorker = UInt64(policy.limits.maxCPUSecondsPerWorker)
        maxHostCallsPerSecond = UInt32(policy.limits.maxHostCallsPerSecond)
        maxHostCallsPerCall = UInt32(policy.limits.maxHostCallsPerCall)
        maxHostCallBytes = UInt32(policy.limits.maxHostCallBytes)
        maxMessageBytes = UInt32(policy.limits.maxMessageBytes)
        maxLogBytesPerSecond = UInt32(policy.limits.maxLogBytesPerSecond)
    }
}
