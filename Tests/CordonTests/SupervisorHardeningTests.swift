import Cordon
import Foundation
import Metrics
import MetricsTestKit
import Testing

/// The supervisor holds its own rules with real modules: guest code is bounded by wall time in every
/// phase, the host's answers never kill a plugin, and a rejection is replayed only for the bytes.
@Suite struct SupervisorHardeningTests {
    /// A start function that never returns, with fuel metering off: only the wall time ends it, long
    /// before the 60 s load timeout of the fixture supervisor.
    @Test func aLoopingStartFunctionHitsTheWallTime() async throws {
        let supervisor = try Fixtures.supervisor()
        let module = try Fixtures.wasm("(module (func $spin (loop $l (br $l))) (start $spin))")
        do {
            _ = try await supervisor.load(manifest: PluginManifest(name: "spin-start"), module: module,
                                          policy: Fixtures.policy(fuel: 0, wallMs: 1000), restart: RestartPolicy(mode: .never))
            Issue.record("loaded")
        } catch {
            guard case .limitExceeded(.wallTime, _, _, _) = error else { Issue.record("\(error)"); return }
        }
        await supervisor.shutdown()
    }

    /// The same through the CLI: a wall-time limit is exit 75, within the `--timeout`, not the load timeout.
    @Test func theCLIReportsALoopingStartFunctionAsALimit() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cordon-spin-\(UUID()).wat").path
        try "(module (func $spin (loop $l (br $l))) (start $spin) (func (export \"run\")))".write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        let outcome = try await ExamplesSupport.cordon(["run", path, "--export", "run", "--fuel", "0", "--timeout", "1"])
        #expect(outcome.status == 75, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("wall_time"), "\(outcome.stderr)")
    }

    /// The same start function under fuel metering hits the fuel limit: a limit, not an invalid module.
    @Test func aStartFunctionOutOfFuelIsAFuelLimit() async throws {
        let supervisor = try Fixtures.supervisor()
        let module = try Fixtures.wasm("(module (func $spin (loop $l (br $l))) (start $spin))")
        do {
            _ = try await supervisor.load(manifest: PluginManifest(name: "fuel-start"), module: module,
                                          policy: Fixtures.policy(fuel: 100_000), restart: RestartPolicy(mode: .never))
            Issue.record("loaded")
        } catch {
            guard case .limitExceeded(.fuel, _, _, _) = error else { Issue.record("\(error)"); return }
        }
        await supervisor.shutdown()
    }

    /// A manifest's promise that the module breaks is that manifest's failure: the same bytes load
    /// under a manifest that promises what they export.
    @Test func aManifestsRejectionIsNotReplayedForAnotherManifest() async throws {
        let supervisor = try Fixtures.supervisor()
        let module = try Fixtures.wasm(Fixtures.add)
        await #expect(throws: CordonError.self) {
            _ = try await supervisor.load(manifest: PluginManifest(name: "promises", exports: ["missing"]), module: module,
                                          policy: Fixtures.policy())
        }
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "honest", exports: ["add"]), module: module,
                                               policy: Fixtures.policy())
        #expect(try await plugin.call("add", [.i32(2), .i32(3)]) == [.i32(5)])
        await supervisor.shutdown()
    }

    static let config = """
    (module
      (import "env" "host_get_config" (func $get_config (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 0) "mid")
      (data (i32.const 8) "big")
      (func (export "mid") (param i32) (result i32)
        (call $get_config (i32.const 0) (i32.const 3) (i32.const 1024) (local.get 0)))
      (func (export "big") (param i32) (result i32)
        (call $get_config (i32.const 8) (i32.const 3) (i32.const 1024) (local.get 0)))
      (func (export "byte") (param i32) (result i32) (i32.load8_u (local.get 0))))
    """

    /// docs/abi.md: a reply longer than the guest's buffer is its length alone ("retry with this
    /// size"), and one that could never fit the channel is -5; neither kills the worker.
    @Test func largeHostRepliesNeverKillThePlugin() async throws {
        let supervisor = try Fixtures.supervisor()
        let manifest = PluginManifest(name: "big-config", capabilities: [.readConfig],
                                      configuration: ["mid": String(repeating: "m", count: 1000),
                                                      "big": String(repeating: "b", count: 300_000)])
        let plugin = try await supervisor.load(manifest: manifest, module: try Fixtures.wasm(Self.config), policy: Fixtures.policy(),
                                               restart: RestartPolicy(mode: .never))
        let pid = try #require(await plugin.workerPIDs().first)
        #expect(try await plugin.call("mid", [.i32(16)]) == [.i32(1000)])
        #expect(try await plugin.call("byte", [.i32(1024)]) == [.i32(0)], "bytes were written into a buffer too small")
        #expect(try await plugin.call("mid", [.i32(1000)]) == [.i32(1000)])
        #expect(try await plugin.call("byte", [.i32(1024)]) == [.i32(UInt32(UInt8(ascii: "m")))])
        #expect(try await plugin.call("big", [.i32(16)]) == [.i32(UInt32(bitPattern: -5))])
        #expect(try await plugin.call("big", [.i32(65536 - 1024)]) == [.i32(UInt32(bitPattern: -5))])
        #expect(await plugin.workerPIDs() == [pid], "the worker was replaced")
        await supervisor.shutdown()
    }

    /// Calls that end in a kill are counted like every other call: here a wall-time kill.
    @Test func killedCallsAreCounted() async throws {
        let metrics = MetricsTests.backend
        let supervisor = try HostileWorkerTests.supervisor()
        let name = "metrics-kill-\(UUID().uuidString.prefix(8))"
        let plugin = try await supervisor.load(manifest: PluginManifest(name: name), module: Array("cordon-corrupt:silent".utf8),
                                               policy: Fixtures.policy(wallMs: 500), restart: RestartPolicy(mode: .never))
        await #expect(throws: CordonError.self) { _ = try await plugin.call("run") }
        let labels = [("plugin", name)]
        #expect(try metrics.expectCounter("cordon_calls_total", labels).totalValue == 1)
        #expect(try metrics.expectCounter("cordon_call_errors_total", labels + [("reason", "limit_wall_time")]).totalValue == 1)
        #expect(try metrics.expectTimer("cordon_call_duration", labels).values.count == 1)
        await supervisor.shutdown()
    }

    /// Audit records name the plugin as its users know it, and a worker adopted from the warm pool
    /// is recorded against the plugin that adopted it (its pool spawn record names no plugin).
    @Test func auditRecordsNameThePluginAndItsAdoptedWorker() async throws {
        let audit = try AuditLogHandle.temporary("names")
        defer { audit.remove() }
        let supervisor = try Fixtures.supervisor(audit: audit)
        await supervisor.prewarm(policy: Fixtures.policy(), count: 1)
        #expect(await supervisor.stats().pooledWorkers == 1)
        var limits = ResourceLimits(policy: Fixtures.policy())
        limits.maxFuelPerCall = 1_234_567
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "named", version: "1.2.3"),
                                               module: try Fixtures.wasm(Fixtures.add), policy: Fixtures.policy(), limits: limits)
        let pid = try #require(await plugin.workerPIDs().first)
        #expect(try await plugin.call("add", [.i32(1), .i32(2)]) == [.i32(3)])
        await supervisor.shutdown()
        let lines = try audit.closeAndRead().split(separator: "\n")
        let spawn = lines.first { $0.contains("\"type\":\"worker.spawn\"") && $0.contains("\"worker\":\(pid)") && $0.contains("\"plugin\":\"named-") }
        #expect(spawn != nil, "no worker.spawn record ties the adopted worker to its plugin")
        #expect(spawn?.contains("\"plugin_name\":\"named\"") == true)
        #expect(spawn?.contains("\"plugin_version\":\"1.2.3\"") == true)
        let load = lines.first { $0.contains("\"type\":\"plugin.load\"") && $0.contains("\"plugin\":\"named-") }
        #expect(load?.contains("\"maxFuelPerCall=1234567\"") == true, "the application's limits are not in plugin.load")
        let exit = lines.first { $0.contains("\"type\":\"worker.exit\"") && $0.contains("\"worker\":\(pid)") }
        #expect(exit?.contains("\"plugin_name\":\"named\"") == true)
    }
}
