import Metrics

/// Counters and timers published through swift-metrics (a no-op until the application bootstraps a
/// metrics backend). Labels carry the plugin name.
enum CordonMetrics {
    /// A failed call's label: a small fixed set (never text from the worker or the guest).
    static func reason(_ failure: CordonError) -> String {
        switch failure {
        case .trapped: "trap"
        case .limitExceeded(let limit, _, _, _): "limit_\(limit.rawValue)"
        case .sandboxViolation: "sandbox_violation"
        case .protocolViolation: "protocol_violation"
        case .workerDied: "worker_died"
        case .noSuchExport, .invalidArguments: "invalid_call"
        case .unavailable, .shuttingDown: "unavailable"
        case .timedOut: "timed_out"
        default: "other"
        }
    }

    static func recordRestart(plugin: String) {
        Counter(label: "cordon_restarts_total", dimensions: [("plugin", plugin)]).increment()
    }

    static func memoryPages(plugin: String, pages: Int) {
        Gauge(label: "cordon_memory_pages", dimensions: [("plugin", plugin)]).record(pages)
    }

    static func liveWorkers(_ count: Int) {
        Gauge(label: "cordon_live_workers").record(count)
    }
}

/// One plugin's per-call counters and timer, made on its first call and kept by its record.
///
/// Making a handle asks `MetricsSystem.factory` (a lock) and the backend (a registry lookup, usually
/// under another lock): per call, that cost more than the supervisor's own accounting of the call.
/// As swift-metrics asks, the backend is bootstrapped before plugins are loaded; a plugin's handles
/// stay with the backend that was in place at its first call.
struct PluginMetricHandles {
    private let plugin: String
    private let calls: Counter
    private let duration: Metrics.Timer
    private let fuel: Counter
    /// By failure reason: a fixed set of labels (`CordonMetrics.reason`).
    private var errors: [String: Counter] = [:]
    /// By host function: only names that exist reach here (built-in or the host's own custom ones).
    private var hostCalls: [String: Counter] = [:]

    init(plugin: String) {
        self.plugin = plugin
        let dimensions = [("plugin", plugin)]
        calls = Counter(label: "cordon_calls_total", dimensions: dimensions)
        duration = Metrics.Timer(label: "cordon_call_duration", dimensions: dimensions)
        fuel = Counter(label: "cordon_fuel_used_total", dimensions: dimensions)
    }

    /// One call that reached a worker and ended, however it ended: an outcome, a kill (wall time,
    /// flood, violation) or the worker's death. `failure` is nil for a success.
    mutating func recordCall(duration elapsed: Duration, fuel used: UInt64, failure: CordonError?) {
        calls.increment()
        if let failure {
            let reason = CordonMetrics.reason(failure)
            if errors[reason] == nil {
                errors[reason] = Counter(label: "cordon_call_errors_total", dimensions: [("plugin", plugin), ("reason", reason)])
            }
            errors[reason]!.increment()
        }
        duration.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        fuel.increment(by: Int(clamping: used))
    }

    mutating func hostCall(function: String) {
        if hostCalls[function] == nil {
            hostCalls[function] = Counter(label: "cordon_host_calls_total", dimensions: [("plugin", plugin), ("function", function)])
        }
        hostCalls[function]!.increment()
    }
}
