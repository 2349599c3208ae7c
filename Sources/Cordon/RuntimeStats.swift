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
    /// The content-addressed module cache: entries, bytes, budget and its cumulative counters.
    public var moduleCache = ModuleCacheStats()
    /// Loads that completed (`load` returned a handle), since the supervisor started.
    public var loads: UInt64 = 0
    /// Loads that failed, since the supervisor started.
    public var loadFailures: UInt64 = 0
    /// Calls that reached a worker, of every plugin loaded since the supervisor started.
    public var calls: UInt64 = 0
    /// Calls that failed (reached a worker or were failed in its queue), since the supervisor started.
    public var callFailures: UInt64 = 0
    /// Worker restarts after a failure (reloads excluded), since the supervisor started.
    public var restarts: UInt64 = 0
    /// Time since `Supervisor.init`.
    public var uptime: Duration = .zero
}

/// The module cache's part of `RuntimeStats`.
public struct ModuleCacheStats: Sendable, Hashable {
    public var entries = 0
    public var bytes = 0
    /// `SupervisorConfiguration.moduleCacheBytes`.
    public var budget = 0
    /// Loads and reloads whose module digest was in the cache.
    public var hits: UInt64 = 0
    public var misses: UInt64 = 0
    /// Entries dropped to stay within the budget (least recently used first).
    public var evictions: UInt64 = 0
}
