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
        case workerKilled(signal: Int32, reason: String)
        case workerExited(description: String)
        case restarting(attempt: Int, backoff: Duration)
        case restartBudgetExhausted(restarts: Int, period: Duration)
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
    public var calls: UInt64 = 0
    public var errors: UInt64 = 0
    public var traps: UInt64 = 0
    public var fuelUsed: UInt64 = 0
    public var hostCalls: UInt64 = 0
    public var capabilityDenials: UInt64 = 0
    public var restarts: UInt64 = 0
    public var totalCallTime: Duration = .zero
    /// Linear-memory pages of the plugin's live workers, summed, as each last reported (after its load
    /// and after every call).
    public var memoryPages: UInt32 = 0
    public var workerPIDs: [Int32] = []
}

/// A snapshot of the whole supervisor.
public struct RuntimeStats: Sendable, Hashable {
    public var plugins: Int
    public var liveWorkers: Int
    public var pooledWorkers: Int
    /// Event-loop threads watching workers (1, whatever the number of workers).
    public var reactorThreads: Int
    /// Threads of the supervisor in all: the reactor and the spawn thread (2, whatever the number of workers).
    public var supervisorThreads: Int
    public var cachedModules: Int
    public var cachedModuleBytes: Int
}
