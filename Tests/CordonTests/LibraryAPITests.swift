@testable import Cordon
import Foundation
import Testing

/// The library's registry, its one-plugin-per-name rule, `RuntimeStats` and `PluginMetrics`, with
/// real workers.
@Suite struct LibraryAPITests {
    /// Adds, traps, grows its memory by 3 pages.
    static let counter = """
    (module
      (memory (export "memory") 1)
      (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
      (func (export "boom") unreachable)
      (func (export "grow") (result i32) (memory.grow (i32.const 3))))
    """

    @Test func registryListsFindsAndFiltersPlugins() async throws {
        let supervisor = try Fixtures.supervisor()
        let module = try Fixtures.wasm(Fixtures.add)
        let a = try await supervisor.load(manifest: PluginManifest(name: "alpha", version: "1.0.0", capabilities: [.readConfig]),
                                          module: module)
        let b = try await supervisor.load(manifest: PluginManifest(name: "beta", version: "2.1.0", capabilities: [.storage, .timer]),
                                          module: module, grant: [.storage])
        let listed = await supervisor.plugins()
        #expect(listed.map(\.id) == [a.id, b.id], "load order")
        #expect(listed.map(\.name) == ["alpha", "beta"])
        #expect(listed.map(\.version) == ["1.0.0", "2.1.0"])
        #expect(listed.map(\.state) == [.ready, .ready])
        #expect(listed[0].capabilities == [.readConfig])
        #expect(listed[1].capabilities == [.storage], "the effective grant, not what the manifest asked")
        #expect(await supervisor.plugins(granting: .storage).map(\.id) == [b.id])
        #expect(await supervisor.plugins(granting: .timer).isEmpty)
        #expect(await supervisor.plugins(granting: .readConfig).map(\.name) == ["alpha"])

        let found = try #require(await supervisor.plugin(id: a.id))
        #expect(found == a && found.manifest.name == "alpha")
        #expect(try await found.call("add", [.i32(2), .i32(3)]) == [.i32(5)])
        let after = try #require(await supervisor.plugins().first { $0.id == a.id })
        #expect(after.lastActivity >= listed[0].lastActivity && after.lastActivity >= after.loadedAt)
        #expect(await supervisor.plugin(id: "no-such-id") == nil)

        await a.unload()
        #expect(await supervisor.plugin(id: a.id) == nil)
        #expect(await supervisor.plugins().map(\.id) == [b.id])
        await supervisor.shutdown()
    }

    @Test func aSecondPluginWithTheSameNameIsRefused() async throws {
        let supervisor = try Fixtures.supervisor()
        let module = try Fixtures.wasm(Fixtures.add)
        let first = try await supervisor.load(manifest: PluginManifest(name: "dup"), module: module)
        await #expect(throws: CordonError.alreadyLoaded(name: "dup", id: first.id)) {
            _ = try await supervisor.load(manifest: PluginManifest(name: "dup", version: "9.9.9"), module: module)
        }
        // Reload is the way to replace it; the name stays its own.
        try await first.reload(module: module)
        #expect(try await first.call("add", [.i32(1), .i32(1)]) == [.i32(2)])
        #expect(await supervisor.plugins().count == 1)
        // Concurrent loads of one name: exactly one wins.
        @Sendable func attempt() async -> Result<PluginHandle, CordonError> {
            do { return .success(try await supervisor.load(manifest: PluginManifest(name: "race"), module: module)) } catch { return .failure(error) }
        }
        async let x = attempt()
        async let y = attempt()
        let results = await [x, y]
        let winners = results.compactMap { try? $0.get() }
        #expect(winners.count == 1, "\(results)")
        for case .failure(let error) in results {
            #expect(error == .alreadyLoaded(name: "race", id: winners.first?.id ?? "?"))
        }
        // Once unloaded, the name is free again.
        await first.unload()
        let second = try await supervisor.load(manifest: PluginManifest(name: "dup"), module: module)
        #expect(second.id != first.id)
        await supervisor.shutdown()
    }

    @Test func runtimeStatsCountLoadsCallsFailuresRestartsAndTheCache() async throws {
        let add = try Fixtures.wasm(Fixtures.add)
        let counter = try Fixtures.wasm(Self.counter)
        var configuration = SupervisorConfiguration()
        configuration.loadTimeout = Fixtures.patience
        // Room for one of the two modules only: the second evicts the first.
        configuration.moduleCacheBytes = max(add.count, counter.count) + 1
        let supervisor = try Supervisor(configuration: configuration)
        var stats = await supervisor.stats()
        #expect(stats.loads == 0 && stats.calls == 0 && stats.moduleCache.budget == configuration.moduleCacheBytes)

        let first = try await supervisor.load(manifest: PluginManifest(name: "one"), module: add)
        await first.unload()
        let again = try await supervisor.load(manifest: PluginManifest(name: "two"), module: add)
        stats = await supervisor.stats()
        #expect(stats.moduleCache.misses == 1 && stats.moduleCache.hits == 1, "\(stats.moduleCache)")
        #expect(stats.moduleCache.entries == 1 && stats.moduleCache.bytes == add.count)
        #expect(stats.cachedModules == 1 && stats.cachedModuleBytes == add.count)

        let plugin = try await supervisor.load(manifest: PluginManifest(name: "three"), module: counter)
        stats = await supervisor.stats()
        #expect(stats.moduleCache.evictions == 1 && stats.moduleCache.entries == 1 && stats.moduleCache.bytes == counter.count,
                "\(stats.moduleCache)")
        await #expect(throws: CordonError.alreadyLoaded(name: "two", id: again.id)) {
            _ = try await supervisor.load(manifest: PluginManifest(name: "two"), module: add)
        }

        for i: UInt32 in 0..<3 { #expect(try await plugin.call("add", [.i32(i), .i32(1)]) == [.i32(i + 1)]) }
        await #expect(throws: CordonError.self) { _ = try await plugin.call("boom") }
        let pid = try #require(await plugin.workerPIDs().first)
        kill(pid, SIGKILL)
        try await LimitAndRestartTests.waitUntil { let p = await plugin.workerPIDs().first; return p != nil && p != pid }
        try await LimitAndRestartTests.waitUntil { await plugin.state() == .ready }

        stats = await supervisor.stats()
        #expect(stats.loads == 3 && stats.loadFailures == 1, "three loads succeeded, the duplicate failed")
        #expect(stats.calls == 4 && stats.callFailures == 1)
        #expect(stats.restarts == 1)
        #expect(stats.uptime > .zero)

        await supervisor.clearModuleCache()
        stats = await supervisor.stats()
        #expect(stats.moduleCache.entries == 0 && stats.moduleCache.bytes == 0 && stats.cachedModules == 0)
        #expect(stats.moduleCache.hits == 1 && stats.moduleCache.misses == 2 && stats.moduleCache.evictions == 1, "counters are cumulative")
        // The cleared cache does not touch loaded plugins.
        #expect(try await plugin.call("add", [.i32(1), .i32(1)]) == [.i32(2)])
        await supervisor.shutdown()
    }

    @Test func pluginMetricsCountSuccessesFailuresDurationsAndPeakMemory() async throws {
        let supervisor = try Fixtures.supervisor()
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "metered"), module: try Fixtures.wasm(Self.counter),
                                               policy: Fixtures.policy())
        var metrics = await plugin.metrics()
        #expect(metrics.calls == 0 && metrics.lastCallAt == nil && metrics.meanCallDuration == .zero && metrics.p99CallDuration == .zero)
        #expect(metrics.peakMemoryPages == 1)
        for _ in 0..<5 { _ = try await plugin.call("add", [.i32(1), .i32(2)]) }
        #expect(try await plugin.call("grow") == [.i32(1)])
        await #expect(throws: CordonError.self) { _ = try await plugin.call("boom") }
        await #expect(throws: CordonError.self) { _ = try await plugin.call("boom") }
        metrics = await plugin.metrics()
        #expect(metrics.calls == 8 && metrics.successes == 6 && metrics.errors == 2)
        #expect(metrics.failuresByReason == ["trap": 2], "the reason label of cordon_call_errors_total")
        #expect(metrics.failuresByReason.values.reduce(0, +) == metrics.errors)
        #expect(metrics.meanCallDuration > .zero && metrics.meanCallDuration == metrics.totalCallTime / 8)
        #expect(metrics.p99CallDuration > .zero && metrics.p99CallDuration <= metrics.totalCallTime)
        #expect(metrics.lastCallAt != nil)
        #expect(metrics.memoryPages == 4 && metrics.peakMemoryPages == 4 && metrics.peakMemoryBytes == 4 * 65536)

        // A worker's death is a failure under its own reason; the peak outlives the worker.
        let pid = try #require(await plugin.workerPIDs().first)
        kill(pid, SIGKILL)
        try await LimitAndRestartTests.waitUntil { let p = await plugin.workerPIDs().first; return p != nil && p != pid }
        try await LimitAndRestartTests.waitUntil { await plugin.state() == .ready }
        metrics = await plugin.metrics()
        #expect(metrics.memoryPages == 1 && metrics.peakMemoryPages == 4)
        await supervisor.shutdown()
    }

    @Test func callDurationsKeepABoundedWindow() {
        var durations = CallDurations()
        #expect(durations.quantile(0.99) == .zero)
        for ms in 1...100 { durations.record(.milliseconds(ms)) }
        #expect(durations.quantile(0.99) == .milliseconds(99))
        #expect(durations.quantile(0.5) == .milliseconds(50))
        // Only the last 1,024 calls count: 5,000 slow calls then 1,024 fast ones leave only fast ones.
        for _ in 0..<5000 { durations.record(.seconds(1)) }
        for _ in 0..<CallDurations.capacity { durations.record(.milliseconds(1)) }
        #expect(durations.quantile(0.99) == .milliseconds(1))
    }
}
