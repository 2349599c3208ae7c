import Cordon
import Foundation
import Metrics
import MetricsTestKit
import Testing

/// What the supervisor publishes through swift-metrics, read back from a real backend, next to the
/// `PluginMetrics` snapshot of the same plugin.
@Suite struct MetricsTests {
    /// swift-metrics takes one backend per process: every test here shares it, and each uses a plugin
    /// name of its own so that the labels it reads are only its own.
    static let backend: TestMetrics = {
        let metrics = TestMetrics()
        MetricsSystem.bootstrap(metrics)
        return metrics
    }()

    @Test func callsHostCallsMemoryAndRestartsArePublished() async throws {
        let metrics = Self.backend
        let supervisor = try Fixtures.supervisor()
        let name = "metrics-\(UUID().uuidString.prefix(8))"
        let plugin = try await supervisor.load(manifest: PluginManifest(name: name, capabilities: [.timer]),
                                               module: try Fixtures.wasm(Plugins.grower),
                                               restart: RestartPolicy(mode: .always, initialBackoff: .milliseconds(10), jitter: 0))
        let labels = [("plugin", name)]
        #expect(await plugin.metrics().memoryPages == 1)
        #expect(try metrics.expectGauge("cordon_memory_pages", labels).lastValue == 1)

        // memory.grow returns the old size; the worker reports the new one with the outcome.
        #expect(try await plugin.call("grow", [.i32(2)]) == [.i32(1)])
        #expect(await plugin.metrics().memoryPages == 3)
        #expect(try metrics.expectGauge("cordon_memory_pages", labels).lastValue == 3)

        _ = try await plugin.call("now")
        await #expect(throws: CordonError.self) { _ = try await plugin.call("trap") }
        #expect(try metrics.expectCounter("cordon_calls_total", labels).totalValue == 3)
        #expect(try metrics.expectCounter("cordon_call_errors_total", labels + [("reason", "trap")]).totalValue == 1)
        #expect(try metrics.expectTimer("cordon_call_duration", labels).values.count == 3)
        #expect(try metrics.expectCounter("cordon_fuel_used_total", labels).totalValue > 0)
        #expect(try metrics.expectCounter("cordon_host_calls_total", labels + [("function", "host_now_ms")]).totalValue == 1)

        // A restarted worker is a fresh instance: its memory is the module's initial size again.
        let pid = try #require(await plugin.workerPIDs().first)
        kill(pid, SIGKILL)
        try await LimitAndRestartTests.waitUntil {
            let pids = await plugin.workerPIDs()
            return await plugin.state() == .ready && !pids.isEmpty && !pids.contains(pid)
        }
        #expect(try metrics.expectCounter("cordon_restarts_total", labels).totalValue == 1)
        #expect(await plugin.metrics().memoryPages == 1)
        #expect(try metrics.expectGauge("cordon_memory_pages", labels).lastValue == 1)
        #expect(try metrics.expectGauge("cordon_live_workers").lastValue != nil)
        await supervisor.shutdown()
    }
}
