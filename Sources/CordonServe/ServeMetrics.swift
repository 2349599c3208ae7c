import Cordon
import Prometheus
import Synchronization

/// `GET /metrics`: every `cordon_*` figure with a `tenant` label, in Prometheus text. The library's
/// per-plugin counters are read at scrape time (`PluginHandle.metrics()`, `Supervisor.stats()`) and
/// carried into the registry, so each tenant's supervisor needs no global metrics backend.
final class ServeMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    /// Last value of each library counter seen, by series, so the registry's counters move by the delta.
    private let seen = Mutex<[String: UInt64]>([:])

    static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    func refused(tenant: String?, code: String) {
        registry.makeCounter(descriptor: Self.descriptor("cordon_http_refused_total", "API requests answered with an error"),
                             labels: [("tenant", tenant ?? "-"), ("code", code)]).increment()
    }

    private func counter(_ name: String, _ help: String, _ labels: [(String, String)], _ value: UInt64) {
        let key = name + labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        let delta = seen.withLock { s -> UInt64 in
            let last = s[key] ?? 0
            s[key] = value
            return value >= last ? value - last : value
        }
        let c = registry.makeCounter(descriptor: Self.descriptor(name, help), labels: labels)
        if delta > 0 { c.increment(by: Int64(clamping: delta)) }
    }

    func scrape(_ daemon: ServeDaemon) async -> String {
        for tenant in daemon.tenants.values {
            let stats = await tenant.supervisor.stats()
            registry.makeGauge(descriptor: Self.descriptor("cordon_live_workers", "live workers, not counting the warm pool"), labels: [("tenant", tenant.name)])
                .set(Double(stats.liveWorkers))
            registry.makeGauge(descriptor: Self.descriptor("cordon_plugins", "plugins loaded"), labels: [("tenant", tenant.name)])
                .set(Double(stats.plugins))
            for plugin in tenant.plugins() {
                guard let handle = plugin.handle else { continue }
                let m = await handle.metrics()
                let labels = [("tenant", tenant.name), ("plugin", plugin.spec.name), ("id", plugin.id)]
                counter("cordon_calls_total", "calls that reached a worker and finished", labels, m.calls)
                counter("cordon_call_errors_total", "calls that failed", labels, m.errors)
                counter("cordon_traps_total", "calls that trapped", labels, m.traps)
                counter("cordon_fuel_used_total", "fuel the workers reported", labels, m.fuelUsed)
                counter("cordon_host_calls_total", "host calls", labels, m.hostCalls)
                counter("cordon_capability_denials_total", "host calls denied for a missing capability", labels, m.capabilityDenials)
                counter("cordon_restarts_total", "restarts by the restart policy", labels, m.restarts)
                registry.makeGauge(descriptor: Self.descriptor("cordon_memory_pages", "linear-memory pages of the plugin's live workers"), labels: labels)
                    .set(Double(m.memoryPages))
                let seconds = Double(m.totalCallTime.components.seconds) + Double(m.totalCallTime.components.attoseconds) / 1e18
                registry.makeGauge(descriptor: Self.descriptor("cordon_call_seconds_total", "time spent in calls"), labels: labels)
                    .set(seconds)
            }
        }
        return registry.emitToString()
    }
}
