import Cordon
import CordonAudit
import CordonGeneratedModules
import Foundation
import Testing

/// Modules larger than the channel's ring travel in `moduleChunk` frames to real confined workers:
/// cold and pooled, several workers per plugin, after a restart. The only ceiling is the policy's
/// `wasm.maxModuleBytes`, enforced before any worker exists; a worker that misbehaves while the
/// module streams is a protocol violation.
@Suite struct ModuleSizeTests {
    /// 450 KB is past the default ring's 256 KiB message limit; 1.5 MB is a dozen 128 KiB chunks and
    /// several turns of the ring. (The 20 MB module is loaded by `cordon-bench modules`, in release: a
    /// debug worker takes about a minute per 5 MB here.)
    @Test(arguments: [450_000, 1_500_000])
    func largeModulesLoadColdPooledTwiceAndAfterARestart(size: Int) async throws {
        let module = GeneratedModule.make(bytes: size)
        #expect(module.count >= size)
        var policy = Fixtures.policy()
        // The load's start-function timer is the call wall time: not what this test is about either.
        policy.limits.maxWallTimeMillisecondsPerCall = 600_000
        // WasmKit's eager translation of tens of thousands of functions takes seconds in a debug build
        // on a loaded machine: the load timeout is not what this test is about.
        var configuration = SupervisorConfiguration()
        configuration.loadTimeout = .seconds(600)
        let supervisor = try Supervisor(configuration: configuration)
        // Cold: a fresh worker receives the bootstrap and the chunks right after its hello.
        let cold = try await supervisor.load(manifest: PluginManifest(name: "cold"), module: module, policy: policy)
        #expect(try await cold.call("answer") == [.i32(42)])
        // Pooled: an already-confined worker adopts the plugin; with two workers, the second is
        // another pooled worker or a cold spawn, and each receives the module on its own channel.
        await supervisor.prewarm(policy: policy, count: 2)
        try await LimitAndRestartTests.waitUntil { await supervisor.stats().pooledWorkers == 2 }
        let pooled = try await supervisor.load(manifest: PluginManifest(name: "pooled", workers: 2), module: module, policy: policy)
        let pids = await pooled.workerPIDs()
        #expect(pids.count == 2)
        async let first = pooled.call("answer")
        async let second = pooled.call("answer")
        #expect(try await [first, second] == [[.i32(42)], [.i32(42)]])
        // After a restart the replacement worker is sent the module again.
        let victim = try #require(pids.first)
        kill(victim, SIGKILL)
        try await LimitAndRestartTests.waitUntil {
            let now = await pooled.workerPIDs()
            let state = await pooled.state()
            return now.count == 2 && !now.contains(victim) && state == .ready
        }
        for _ in 0..<3 { #expect(try await pooled.call("answer") == [.i32(42)]) }
        #expect(await pooled.metrics().restarts == 1)
        await supervisor.shutdown()
    }

    /// Over `wasm.maxModuleBytes` the load fails with the typed size error naming both numbers, and no
    /// worker is spawned (none live, no `worker.spawn` record); `reload` refuses the same way.
    @Test func aModuleOverThePolicyLimitIsRefusedBeforeAnySpawn() async throws {
        let audit = try AuditLogHandle.temporary("module-size")
        defer { audit.remove() }
        let supervisor = try Fixtures.supervisor(audit: audit)
        var policy = Fixtures.policy()
        policy.wasm.maxModuleBytes = 100_000
        let module = GeneratedModule.make(bytes: 450_000)
        do {
            _ = try await supervisor.load(manifest: PluginManifest(name: "big"), module: module, policy: policy)
            Issue.record("an over-limit module loaded")
        } catch {
            guard case CordonError.invalidModule(let stage, let message) = error else { Issue.record("\(error)"); return }
            #expect(stage == "size")
            #expect(message.contains("\(module.count) bytes") && message.contains("100000"), "\(message)")
        }
        #expect(await supervisor.stats().liveWorkers == 0)
        #expect(await supervisor.stats().plugins == 0)
        // Under the limit the same policy loads; a reload past it is refused and the plugin keeps serving.
        let small = try await supervisor.load(manifest: PluginManifest(name: "small"), module: GeneratedModule.make(bytes: 50_000),
                                              policy: policy)
        await #expect(throws: CordonError.invalidModule(stage: "size", message: "the module is \(module.count) bytes; policy '\(policy.name)' allows at most 100000 (wasm.maxModuleBytes)")) {
            try await small.reload(module: module)
        }
        #expect(try await small.call("answer") == [.i32(42)])
        await supervisor.shutdown()
        let records = try audit.closeAndRead().split(separator: "\n")
        // One spawn in all: the small plugin's.
        #expect(records.filter { $0.contains("\"worker.spawn\"") }.count == 1)
        #expect(!records.contains { $0.contains("\"big-") })
    }

    /// A worker that answers the first chunk with garbage, while the supervisor is still streaming
    /// the rest from its outbound queue, is killed as a protocol violation; the supervisor serves on.
    @Test func garbageDuringTheTransferIsAProtocolViolation() async throws {
        let supervisor = try HostileWorkerTests.supervisor()
        var module = Array("cordon-corrupt:transfer-garbage".utf8)
        module += [UInt8](repeating: 0x20, count: 1_000_000 - module.count)
        do {
            _ = try await supervisor.load(manifest: PluginManifest(name: "transfer-garbage"), module: module,
                                          policy: Fixtures.policy(), restart: RestartPolicy(mode: .never))
            Issue.record("the load succeeded")
        } catch {
            guard case CordonError.protocolViolation = error else { Issue.record("\(error)"); return }
        }
        let honest = try await HostileWorkerTests.load(supervisor, mode: "honest")
        #expect(try await honest.call("run") == [.i32(42)])
        await supervisor.shutdown()
    }

    /// `cordon run` refuses an over-limit module with exit 65 and the size error, before any worker.
    @Test func theCLIExits65ForAModuleOverTheLimit() async throws {
        let directory = try ExamplesSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let modulePath = directory + "/big.wasm"
        let module = GeneratedModule.make(bytes: 450_000)
        try Data(module).write(to: URL(fileURLWithPath: modulePath))
        let policyText = SandboxPolicy.defaultJSON.replacingOccurrences(of: "\"maxModuleBytes\": 67108864",
                                                                        with: "\"maxModuleBytes\": 100000")
        #expect(policyText != SandboxPolicy.defaultJSON)
        let policyPath = directory + "/small-modules.json"
        try policyText.write(toFile: policyPath, atomically: true, encoding: .utf8)
        let outcome = try await ExamplesSupport.cordon(["run", modulePath, "--export", "answer", "--policy", policyPath])
        #expect(outcome.status == 65, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("invalid module (size)"), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("wasm.maxModuleBytes"), "\(outcome.stderr)")
        // Under the limit the same policy runs (a small module: the CLI's load timeout is 10 s).
        let smallPath = directory + "/small.wasm"
        try Data(GeneratedModule.make(bytes: 20_000)).write(to: URL(fileURLWithPath: smallPath))
        let fine = try await ExamplesSupport.cordon(["run", smallPath, "--export", "answer", "--policy", policyPath])
        #expect(fine.status == 0, "\(fine.stderr)")
        #expect(fine.stdout == "42\n")
    }
}
