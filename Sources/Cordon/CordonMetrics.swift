import Metrics

/// Counters and timers published through swift-metrics (a no-op until the application bootstraps a
/// metrics backend). Labels carry the plugin name.
enum CordonMetrics {
    static func recordCall(plugin: String, duration: Duration, fuel: UInt64, failed: Bool) {
        let dimensions = [("plugin", plugin)]
        Counter(label: "cordon_calls_total", dimensions: dimensions).increment()
        if failed { Counter(label: "cordon_call_errors_total", dimensions: dimensions).increment() }
        Metrics.Timer(label: "cordon_call_duration", dimensions: dimensions)
            .recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
        Counter(label: "cordon_fuel_used_total", dimensions: dimensions).increment(by: Int(clamping: fuel))
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
