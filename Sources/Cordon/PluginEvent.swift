import Foundation

/// Something that happened to a plugin, delivered on `Supervisor.events`.
public struct PluginEvent: Sendable, CustomStringConvertible {
    /// What happened.
    public enum Kind: Sendable {
        case stateChanged(from: PluginState, to: PluginState)
        case workerSpawned(layers: [String], uid: UInt32)
        case callCompleted(export: String, duration: Duration, fuelUsed: UInt64)
        case callFailed(export: String, error: CordonError)
        case limitExceeded(limit: LimitKind, value: String, measured: String)
        case capabilityDenied(function: String, capability: PluginCapability)
        case sandboxViolation(syscall: String, number: Int32, reportedBy: String)
        case protocolViolation(reason: String)
        /// The plugin's `cordon_cleanup` failed in a worker told to stop; `reason` is the worker's
        /// account, as the `plugin.cleanup_failed` record holds it (capped, control characters replaced).
        case cleanupFailed(reason: String)
        case workerKilled(signal: Int32, reason: String)
        case workerExited(description: String)
        case restarting(attempt: Int, backoff: Duration)
        case restartBudgetExhausted(restarts: Int, period: Duration)
        /// `PluginHandle.pause()` stopped this many live workers (SIGSTOP).
        case paused(workers: Int)
        /// `PluginHandle.resume()` continued this many workers (SIGCONT).
        case resumed(workers: Int)
        case error(CordonError)
    }
    public var pluginID: String
    public var pluginName: String
    /// The worker's pid, when one is involved.
    public var workerPID: Int32?
    public var kind: Kind

    public var description: String {
        "[\(pluginName)#\(pluginID)\(workerPID.map { " pid \($0)" } ?? "")] \(kind)"
    }
}

/// A snapshot of one plugin's counters.
public struct PluginMetrics: Sendable, Hashable {
    /// Calls that reached a worker and ended, however they ended.
    public var calls: UInt64 = 0
    /// Calls that returned a result.
    public var successes: UInt64 = 0
    /// Calls that failed, including calls failed while still queued (a worker died, an unload).
    public var errors: UInt64 = 0
    /// `errors` by reason, in the vocabulary of the `reason` label of `cordon_call_errors_total`
    /// (`trap`, `limit_fuel`, `worker_died`, `unavailable`, …); the values sum to `errors`.
    public var failuresByReason: [String: UInt64] = [:]
    public var traps: UInt64 = 0
    public var fuelUsed: UInt64 = 0
    public var hostCalls: UInt64 = 0
    public var capabilityDenials: UInt64 = 0
    public var restarts: UInt64 = 0
    public var totalCallTime: Duration = .zero
    /// `totalCallTime / calls` (zero before the first call).
    public var meanCallDuration: Duration = .zero
    /// The 99th percentile of the last `CallDurations.capacity` (1,024) calls' durations: recent, and
    /// in bounded memory whatever the number of calls.
    public var p99CallDuration: Duration = .zero
    /// When the last call that reached a worker ended (nil before the first).
    public var lastCallAt: Date?
    /// Linear-memory pages of the plugin's live workers, summed, as each last reported (after its load
    /// and after every call).
    public var memoryPages: UInt32 = 0
    /// The largest `memoryPages` seen since the load (reports from workers since replaced included).
    public var peakMemoryPages: UInt32 = 0
    /// `peakMemoryPages` in bytes (64 KiB pages).
    public var peakMemoryBytes: UInt64 { UInt64(peakMemoryPages) * 65536 }
    public var workerPIDs: [Int32] = []
}
