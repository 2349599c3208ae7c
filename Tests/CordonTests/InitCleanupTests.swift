@testable import Cordon
import CordonAudit
import Foundation
import Logging
import Synchronization
import Testing

/// The module's `cordon_init` (once per worker start, before it is ready; a non-zero i32 fails the
/// load) and `cordon_cleanup` (before an unload or shutdown; its failure is reported, not fatal).
@Suite struct InitCleanupTests {
    /// Counts its cordon_init calls in a global: every worker's instance must see exactly one.
    static let counting = """
    (module
      (global $inits (mut i32) (i32.const 0))
      (func (export "cordon_init") (result i32)
        (global.set $inits (i32.add (global.get $inits) (i32.const 1)))
        (i32.const 0))
      (func (export "inits") (result i32) (global.get $inits)))
    """

    /// A WASI reactor: `_initialize` runs first (g = 1), then cordon_init (g = g * 10 + 2).
    static let ordered = """
    (module
      (global $g (mut i32) (i32.const 0))
      (func (export "_initialize") (global.set $g (i32.const 1)))
      (func (export "cordon_init") (global.set $g (i32.add (i32.mul (global.get $g) (i32.const 10)) (i32.const 2))))
      (func (export "order") (result i32) (global.get $g)))
    """

    static func initReturning(_ body: String, signature: String = "(result i32)") -> String {
        "(module (func (export \"cordon_init\") \(signature) \(body)) (func (export \"f\") (result i32) (i32.const 1)))"
    }

    static func cleanup(_ body: String) -> String {
        "(module (func (export \"cordon_cleanup\") \(body)) (func (export \"f\") (result i32) (i32.const 1)))"
    }

    @Test func cordonInitRunsOncePerWorkerStartAfterInitialize() async throws {
        let supervisor = try Fixtures.supervisor()
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "counting", workers: 2),
                                               module: try Fixtures.wasm(Self.counting))
        let pids = await plugin.workerPIDs()
        #expect(pids.count == 2)
        // Both workers at once (two calls in flight take both), each initialized exactly once.
        async let a = plugin.call("inits")
        async let b = plugin.call("inits")
        #expect(try await [a, b] == [[.i32(1)], [.i32(1)]])
        // A restarted worker is a new instance, initialized again.
        kill(pids[0], SIGKILL)
        try await LimitAndRestartTests.waitUntil { let now = await plugin.workerPIDs(); return now.count == 2 && !now.contains(pids[0]) }
        for _ in 0..<4 { #expect(try await plugin.call("inits") == [.i32(1)]) }
        try await plugin.reload()
        #expect(try await plugin.call("inits") == [.i32(1)])

        let ordered = try await supervisor.load(manifest: PluginManifest(name: "ordered"), module: try Fixtures.wasm(Self.ordered))
        #expect(try await ordered.call("order") == [.i32(12)], "_initialize, then cordon_init")
        await supervisor.shutdown()
    }

    @Test func aFailingCordonInitFailsTheLoad() async throws {
        let supervisor = try Fixtures.supervisor()
        await #expect(throws: CordonError.initFailed(plugin: "refuses", status: 7)) {
            _ = try await supervisor.load(manifest: PluginManifest(name: "refuses"), module: try Fixtures.wasm(Self.initReturning("(i32.const 7)")))
        }
        await #expect(throws: CordonError.initFailed(plugin: "negative", status: -1)) {
            _ = try await supervisor.load(manifest: PluginManifest(name: "negative"), module: try Fixtures.wasm(Self.initReturning("(i32.const -1)")))
        }
        for (name, wat) in [("traps", Self.initReturning("unreachable", signature: "")),
                            ("takes-a-parameter", Self.initReturning("", signature: "(param i32)")),
                            ("returns-i64", Self.initReturning("(i64.const 0)", signature: "(result i64)"))] {
            do {
                _ = try await supervisor.load(manifest: PluginManifest(name: name), module: try Fixtures.wasm(wat))
                Issue.record("\(name) loaded")
            } catch {
                guard case CordonError.invalidModule(let stage, let message) = error else { Issue.record("\(name): \(error)"); continue }
                #expect(stage == "initialization" && message.contains("cordon_init"), "\(name): \(message)")
            }
        }
        // A failed load leaves nothing behind: no plugin, no worker, the name free again.
        #expect(await supervisor.plugins().isEmpty)
        // The load fails as soon as the worker reports; its SIGKILL is reaped a moment later.
        try await LimitAndRestartTests.waitUntil { await supervisor.stats().liveWorkers == 0 }
        #expect(await supervisor.stats().liveWorkers == 0)
        let fine = try await supervisor.load(manifest: PluginManifest(name: "refuses"), module: try Fixtures.wasm(Self.initReturning("(i32.const 0)")))
        #expect(try await fine.call("f") == [.i32(1)])
        await supervisor.shutdown()
    }

    @Test func cordonCleanupRunsAtUnloadAndItsFailureIsNotFatal() async throws {
        let audit = try AuditLogHandle.temporary("cleanup")
        defer { audit.remove() }
        let lines = LogLines()
        var configuration = SupervisorConfiguration(auditLog: audit.log)
        configuration.loadTimeout = Fixtures.patience
        configuration.logger = Logger(label: "test", factory: { _ in lines })
        let supervisor = try Supervisor(configuration: configuration)
        let events = supervisor.events

        // A trap in cordon_cleanup: reported (an audit record, an event, the logger), and the worker
        // still exits on its own.
        let trapping = try await supervisor.load(manifest: PluginManifest(name: "trapping"), module: try Fixtures.wasm(Self.cleanup("unreachable")))
        let trappingPID = try #require(await trapping.workerPIDs().first)
        await trapping.unload()
        #expect(lines.messages.contains { $0.contains("worker-reported: cordon_cleanup") }, "\(lines.messages)")

        // A non-zero status is a failure too, as it is for cordon_init.
        let refusing = try await supervisor.load(manifest: PluginManifest(name: "refusing"),
                                                 module: try Fixtures.wasm("(module (func (export \"cordon_cleanup\") (result i32) (i32.const 3)))"))
        let refusingPID = try #require(await refusing.workerPIDs().first)
        await refusing.unload()

        // A clean cordon_cleanup: the worker exits on its own, nothing reported.
        let clean = try await supervisor.load(manifest: PluginManifest(name: "clean"), module: try Fixtures.wasm(Self.cleanup("")))
        let cleanPID = try #require(await clean.workerPIDs().first)
        let reported = lines.messages.count
        await clean.unload()
        #expect(lines.messages.dropFirst(reported).allSatisfy { !$0.contains("cordon_cleanup") })

        // One that never returns (fuel off): the unload's grace period ends it with SIGKILL.
        let unmetered = Fixtures.policy(fuel: 0)
        let spinning = try await supervisor.load(manifest: PluginManifest(name: "spinning"),
                                                 module: try Fixtures.wasm(Self.cleanup("(loop $l (br $l))")), policy: unmetered)
        let spinningPID = try #require(await spinning.workerPIDs().first)
        await spinning.unload()
        #expect(!SupervisorDeathTests.alive(spinningPID))
        await supervisor.shutdown()

        let records = PauseTests.auditRecords(try audit.closeAndRead())
        func classification(_ pid: Int32) -> String? {
            let exit = records.first { $0["type"] as? String == "worker.exit" && ($0["worker"] as? NSNumber)?.int32Value == pid }
            return (exit?["data"] as? [String: Any])?["classification"] as? String
        }
        #expect(classification(trappingPID) == "exited")
        #expect(classification(refusingPID) == "exited")
        #expect(classification(cleanPID) == "exited")
        func cleanupFailure(_ pid: Int32) -> [String: Any]? {
            records.first { $0["type"] as? String == "plugin.cleanup_failed" && ($0["worker"] as? NSNumber)?.int32Value == pid }
        }
        let trapped = try #require(cleanupFailure(trappingPID), "no plugin.cleanup_failed for the trapping cleanup")
        #expect((trapped["plugin"] as? String)?.hasPrefix("trapping-") == true)
        let trapData = trapped["data"] as? [String: Any]
        let trapReason = try #require(trapData?["reason"] as? String)
        #expect(trapReason.hasPrefix("cordon_cleanup: ") && trapReason.contains("unreachable"), "\(trapReason)")
        #expect(trapData?["plugin_name"] as? String == "trapping")
        #expect((cleanupFailure(refusingPID)?["data"] as? [String: Any])?["reason"] as? String == "cordon_cleanup returned 3")
        #expect(cleanupFailure(cleanPID) == nil)
        #expect(cleanupFailure(spinningPID) == nil)
        var cleanupEvents: [String] = []
        for await event in events {
            if case .cleanupFailed(let reason) = event.kind { cleanupEvents.append(reason) }
        }
        #expect(cleanupEvents.count == 2 && cleanupEvents.contains("cordon_cleanup returned 3"), "\(cleanupEvents)")
        #expect(classification(spinningPID) == "killed")
        #expect(records.contains { $0["type"] as? String == "worker.kill" && ($0["worker"] as? NSNumber)?.int32Value == spinningPID })
    }
}

/// A swift-log handler that keeps every message, for tests of what the supervisor logs.
struct LogLines: LogHandler {
    final class Store: Sendable {
        let lines = Mutex<[String]>([])
    }
    let store = Store()
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    var messages: [String] { store.lines.withLock { $0 } }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        store.lines.withLock { $0.append(event.message.description) }
    }
}
