import Metrics

/// Counters and timers published through swift-metrics (a no-op until the application bootstraps a
/// metrics backend). Labels carry the plugin name.
enum CordonMetrics {
    /// One call that reached a worker and ended, however it ended: an outcome, a kill (wall time,
    /// flood, violation) or the worker's death. `failure` is nil for a success.
    static func recordCall(plugin: String, duration: Duration, fuel: UInt64, failure: CordonError?) {
        let dimensions = [("plugin", plugin)]
        Counter(label: "cordon_calls_total", dimensions: dimensions).increment()
        if let failure {
            Counter(label: "cordon_call_errors_total", dimensions: dimensions + [("reason", reason(failure))]).increment()
        }
        Metrics.Timer(label: "cordon_call_duration", dimensions: dimensions)
            .recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
        Counter(label: "cordon_fuel_used_total", dimensions: dimensions).increment(by: Int(clamping: fuel))
    }

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

    static func hostCall(plugin: String, function: String) {
        Counter(label: "cordon_host_calls_total", dimensions: [("plugin", plugin), ("function", function)]).increment()
    }

    static func liveWorkers(_ count: Int) {
        Gauge(label: "cordon_live_workers").record(count)
    }
}
