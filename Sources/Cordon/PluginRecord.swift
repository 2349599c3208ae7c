import CordonChannel
import Foundation

/// A call waiting for, or running on, a worker.
final class PendingCall {
    let export: String
    let arguments: [WasmValue]
    let input: [UInt8]?
    private var completion: ((Result<CallValue, CordonError>, CallCost) -> Void)?
    var startedAt: ContinuousClock.Instant?
    /// What the worker's outcome reported (checked against the budget); 0 for a call without one.
    var fuelUsed: UInt64 = 0
    /// When the call's wall time runs out (`SupervisorCore.armDeadline`).
    var deadline: ContinuousClock.Instant?
    var hostCalls: UInt32 = 0
    var breachReported = false
    var refusalsAudited = 0
    /// The id of the host call the worker waits on; the protocol allows one at a time.
    var hostCallOutstanding: UInt32?
    /// The application code serving that host call, cancelled when the call ends however it ends.
    var hostTask: Task<Void, Never>?
    let id: UInt32
    /// A WASI command (`PluginHandle.run`): fd 0 for the guest, and its output so far, each stream
    /// bounded by what the worker was told (`Bootstrap.wasi.maxOutputBytes`).
    var stdin: [UInt8]?
    var stdout: [UInt8] = []
    var stderr: [UInt8] = []

    init(id: UInt32, export: String, arguments: [WasmValue], input: [UInt8]?,
         completion: @escaping (Result<CallValue, CordonError>, CallCost) -> Void) {
        self.id = id
        self.export = export
        self.arguments = arguments
        self.input = input
        self.completion = completion
    }

    /// Completes the call once; later completions are ignored (a kill and a late reply can race).
    /// `duration` is how long it ran, when the caller has just measured it.
    func finish(_ result: Result<CallValue, CordonError>, duration: Duration? = nil) {
        hostTask?.cancel()
        hostTask = nil
        guard let completion else { return }
        self.completion = nil
        completion(result, CallCost(fuelUsed: fuelUsed, duration: duration ?? startedAt.map { $0.duration(to: .now) } ?? .zero))
    }
}

/// One worker position of a plugin (a manifest may ask for several, to serve calls in parallel).
final class WorkerSlot {
    enum Phase: Equatable { case spawning, confining, loading, idle, busy, backingOff, stopped }
    var phase: Phase = .spawning
    var process: WorkerProcess?
    var current: PendingCall?
    var doorbellToken: UInt64?
    var pidfdToken: UInt64?
    var listenerToken: UInt64?
    var loadTimer: UInt64?
    var restartTimer: UInt64?
    /// The timer that enforces the running call's wall time, and when it fires: one per worker, kept
    /// across calls (`SupervisorCore.armDeadline`).
    var deadlineTimer: UInt64?
    var deadlineTimerAt: ContinuousClock.Instant?
    /// The worker's last log line: its own words, only ever shown marked as worker-reported.
    var lastWorkerLog: String?
    /// Set once the worker's hello arrived: from then on its exit code means nothing.
    var helloReceived = false
    /// Ends a load whose module work (parse, validate, start function) overruns the call wall time.
    var startTimer: UInt64?
    /// A breach decided by the supervisor, reported with the exit.
    var pendingFailure: CordonError?
    /// Restart this slot at once when its worker exits (reload), outside the restart budget.
    var reloadPending = false
    /// Names the spawn this slot waits for; a spawn that returns with another ticket is discarded.
    var spawnTicket: UInt64 = 0
    /// Linear-memory pages its worker last reported (at load, after each call); 0 without a worker.
    var memoryPages: UInt32 = 0
    /// Its worker is stopped with SIGSTOP (the plugin is paused); cleared when it is continued or exits.
    var stopped = false
}

/// A loaded plugin, as the reactor sees it.
final class PluginRecord {
    let id: String
    let manifest: PluginManifest
    var module: [UInt8]
    var moduleSHA256: String
    /// Binary or text; a reload with new bytes makes it binary (`reload(module:)` takes a binary).
    var moduleFormat: ModuleFormat
    /// The module cache's key: the same bytes as text and as a binary are two modules (text that a
    /// binary load rejected may assemble fine).
    var cacheKey: String { ModuleCache.key(digest: moduleSHA256, format: moduleFormat) }
    let policy: SandboxPolicy
    let policySHA256: String
    /// Whether the policy's filter always lets `madvise(MADV_DONTNEED)` through (asked once, not per spawn).
    let filterAllowsIdleRelease: Bool
    let host: any HostFunctions
    let granted: Set<PluginCapability>
    let limits: ResourceLimits
    let restart: RestartPolicy
    /// Arguments, environment and preopens of a WASI program; each worker gets its own broker.
    let wasi: WASIConfiguration
    var state: PluginState = .created
    var workers: [WorkerSlot] = []
    var queue: [PendingCall] = []
    var exports: [ExportedFunction] = []
    /// Exports that cannot be called across the channel (v128 or reference types), as the worker reported them.
    var unsupportedExports: [UnsupportedExport] = []
    var loadWaiters: [(Result<String, CordonError>) -> Void] = []
    var restartTimes: [ContinuousClock.Instant] = []
    var consecutiveRestarts = 0
    var unloading = false
    var stopWaiters: [() -> Void] = []
    var stopReason: String?
    var hostCallBucket: TokenBucket
    var logBucket: TokenBucket
    var metrics = PluginMetrics()
    /// The last calls' durations, for `PluginMetrics.p99CallDuration`.
    var durations = CallDurations()
    var nextCallID: UInt32 = 0
    /// Its place in load order (`Supervisor.plugins()` lists oldest first).
    var sequence = 0
    /// When `load` admitted it, and when a call last ended (for `PluginInfo`).
    let loadedAt = Date()
    var lastActivity = Date()
    /// `PluginHandle.pause()` asked for it and `resume()` has not yet undone it: calls are refused and
    /// every loaded worker is stopped once idle.
    var paused = false
    /// `pause()` calls waiting for the running calls to end.
    var pauseWaiters: [(Result<Void, CordonError>) -> Void] = []

    /// swift-metrics handles of this plugin's call figures, made at its first call.
    lazy var metricHandles = PluginMetricHandles(plugin: manifest.name)

    init(id: String, request: LoadRequest, moduleSHA256: String, policySHA256: String) {
        self.id = id
        self.manifest = request.manifest
        self.module = request.module
        self.moduleFormat = request.moduleFormat
        self.moduleSHA256 = moduleSHA256
        self.policy = request.policy
        self.policySHA256 = policySHA256
        // The release is madvise(_, _, MADV_DONTNEED) (ImagePages); the filter may allow just that advice.
        self.filterAllowsIdleRelease = request.policy.seccomp.allows("madvise", arguments: [2: UInt64(MADV_DONTNEED)])
        self.host = request.host
        self.granted = request.granted
        self.limits = request.limits
        self.restart = request.restart
        self.wasi = request.wasi
        self.hostCallBucket = TokenBucket(perSecond: request.limits.maxHostCallsPerSecond)
        self.logBucket = TokenBucket(perSecond: request.limits.maxLogBytesPerSecond)
    }

    func metricsSnapshot() -> PluginMetrics {
        var snapshot = metrics
        snapshot.workerPIDs = workers.compactMap { $0.process?.pid }
        if metrics.calls > 0 { snapshot.meanCallDuration = metrics.totalCallTime / Int(clamping: metrics.calls) }
        snapshot.p99CallDuration = durations.quantile(0.99)
        return snapshot
    }

    /// A call that reached a worker ended after `duration`, however it ended.
    func callEnded(after duration: Duration) {
        metrics.calls += 1
        metrics.totalCallTime += duration
        durations.record(duration)
        lastActivity = Date()
        metrics.lastCallAt = lastActivity
    }

    /// A call failed (at a worker or in the queue), counted under its Prometheus reason label.
    func callFailed(_ error: CordonError) {
        metrics.errors += 1
        metrics.failuresByReason[CordonMetrics.reason(error), default: 0] += 1
    }

    /// What `Supervisor.plugins()` shows of it.
    var info: PluginInfo {
        PluginInfo(id: id, name: manifest.name, version: manifest.version, state: state, capabilities: granted,
                   loadedAt: loadedAt, lastActivity: lastActivity)
    }

    /// What the worker needs to load this plugin. `idleRelease` is dropped when the policy's filter
    /// does not always let `madvise(MADV_DONTNEED)` through: the release must never be the syscall that
    /// kills a worker.
    func bootstrap(idleRelease: Duration?) -> Bootstrap {
        var milliseconds: UInt32 = 0
        if let idleRelease, filterAllowsIdleRelease {
            // `SupervisorConfiguration.validate` bounded it to 0…UInt32.max ms; 0 ms becomes 1 (0 means never).
            let (seconds, attoseconds) = idleRelease.components
            milliseconds = UInt32(clamping: max(1, seconds &* 1000 &+ attoseconds / 1_000_000_000_000_000))
        }
        return Bootstrap(moduleLength: UInt64(module.count), limits: wasmLimits, customFunctions: host.customFunctionNames,
                         idleReleaseMilliseconds: milliseconds, moduleFormat: moduleFormat)
    }

    /// The WebAssembly limits the worker enforces.
    var wasmLimits: WasmLimits {
        WasmLimits(maxMemoryPages: limits.maxMemoryPages, maxTableElements: limits.maxTableElements,
                   maxFuelPerCall: limits.maxFuelPerCall, maxReentryDepth: limits.maxReentryDepth,
                   maxHostCallBytes: limits.maxHostCallBytes, maxCallDepth: limits.maxCallDepth)
    }
}
