@testable import Cordon
import CordonAudit
import Foundation
import Synchronization
import Testing

/// The bytes convention, parallel workers, the warm pool, the module cache and the audit trail.
@Suite struct SupervisorFeatureTests {
    @Test func bytesInBytesOut() async throws {
        let supervisor = try Fixtures.supervisor()
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "bytes"), module: try Fixtures.wasm(Plugins.bytes))
        #expect(try await plugin.call("upper", bytes: Array("hello, cordon".utf8)) == Array("HELLO, CORDON".utf8))
        #expect(try await plugin.call("upper", bytes: []) == [])
        // A guest that points its output outside its memory gets a trap, not a supervisor over-read.
        do {
            _ = try await plugin.call("lie", bytes: [1, 2, 3])
            Issue.record("lie returned")
        } catch {
            guard case CordonError.trapped(_, .outOfBounds, _) = error else { Issue.record("\(error)"); return }
        }
        // A value export cannot be called with bytes, and vice versa.
        await #expect(throws: CordonError.self) { _ = try await plugin.call("cordon_alloc", bytes: [1]) }
        await supervisor.shutdown()
    }

    /// Proof of parallelism without a clock: each call waits in the host until the other call has
    /// arrived too. Two workers meet at once; calls serialized on one worker could never meet, and the
    /// first would give up after the rendezvous' patience (`Fixtures.patience`) with `host_error`.
    @Test func severalWorkersServeCallsInParallel() async throws {
        let supervisor = try Fixtures.supervisor()
        let host = RendezvousHost(parties: 2, patience: Fixtures.patience)
        let manifest = PluginManifest(name: "parallel", capabilities: [.custom("rendezvous")], workers: 2)
        let plugin = try await supervisor.load(manifest: manifest, module: try Fixtures.wasm(Plugins.rendezvous),
                                               policy: Fixtures.policy(), host: host)
        #expect(await plugin.workerPIDs().count == 2)
        async let a = plugin.call("meet")
        async let b = plugin.call("meet")
        let results = try await [a, b]
        #expect(results == [[.i32(0)], [.i32(0)]], "a call gave up waiting for the other: \(results)")
        #expect(Set(host.arrivals).count == 2, "both calls were served by one worker: \(host.arrivals)")
        await supervisor.shutdown()
    }

    /// `callWithReport` gives each call its own fuel, exact when calls overlap on two workers: the
    /// same loop costs the same every time, a longer loop costs more, and the plugin's counter is
    /// the sum of the reports.
    @Test func callReportsCarryEachCallsOwnFuel() async throws {
        let supervisor = try Fixtures.supervisor()
        let counting = """
            (module (func (export "count") (param $n i32) (result i32) (local $i i32)
              (block $done (loop $next
                (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $next)))
              (local.get $i)))
            """
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "counting", workers: 2),
                                               module: try Fixtures.wasm(counting), policy: Fixtures.policy())
        let small = try await plugin.callWithReport("count", [.i32(100)])
        let again = try await plugin.callWithReport("count", [.i32(100)])
        let big = try await plugin.callWithReport("count", [.i32(1000)])
        #expect(small.output == [.i32(100)] && big.output == [.i32(1000)])
        #expect(small.fuelUsed > 0 && small.fuelUsed == again.fuelUsed && big.fuelUsed > small.fuelUsed,
                "\(small.fuelUsed) \(again.fuelUsed) \(big.fuelUsed)")
        let reports = try await withThrowingTaskGroup(of: (UInt32, UInt64).self) { group in
            for i in 0..<16 {
                let n: UInt32 = i % 2 == 0 ? 100 : 1000
                group.addTask { (n, try await plugin.callWithReport("count", [.i32(n)]).fuelUsed) }
            }
            var all: [(UInt32, UInt64)] = []
            for try await report in group { all.append(report) }
            return all
        }
        #expect(reports.allSatisfy { $0.1 == ($0.0 == 100 ? small.fuelUsed : big.fuelUsed) }, "\(reports)")
        let total = reports.reduce(small.fuelUsed + again.fuelUsed + big.fuelUsed) { $0 + $1.1 }
        #expect(await plugin.metrics().fuelUsed == total)
        await supervisor.shutdown()
    }

    @Test func warmPoolWorkersAreAdopted() async throws {
        let supervisor = try Fixtures.supervisor()
        await supervisor.prewarm(count: 2)
        let stats = await supervisor.stats()
        #expect(stats.pooledWorkers == 2)
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "warm"), module: try Fixtures.wasm(Fixtures.add))
        #expect(try await plugin.call("add", [.i32(2), .i32(2)]) == [.i32(4)])
        let pid = try #require(await plugin.workerPIDs().first)
        let layers = await plugin.isolationLayers()
        #expect(layers.contains { $0.hasPrefix("seccomp") }, "\(layers)")
        #expect(ConfinementTests.statusOrEmpty(pid)["Seccomp"] == "2")
        await supervisor.shutdown()
    }

    /// Spawns run on the spawn thread; a shutdown that lands while loads and a pool refill are still
    /// being spawned must wait for them, kill what comes back late and leave no process (not even a
    /// zombie) behind. Every pid the supervisor ever had is in its audit log.
    @Test func shutdownDuringSpawnsLeavesNoProcessBehind() async throws {
        let audit = try AuditLogHandle.temporary("spawns")
        defer { audit.remove() }
        let supervisor = try Fixtures.supervisor(audit: audit)
        let module = try Fixtures.wasm(Fixtures.add)
        let pool = Task { await supervisor.prewarm(count: 6) }
        let loads = (0..<3).map { i in
            Task { try await supervisor.load(manifest: PluginManifest(name: "inflight\(i)"), module: module) }
        }
        try await Task.sleep(for: .milliseconds(5))
        await supervisor.shutdown()
        await pool.value
        for load in loads {
            // Either it finished before the shutdown (then the shutdown stopped it) or it failed typed.
            if case .failure(let error) = await load.result { #expect(error is CordonError, "\(error)") }
        }
        #expect(await supervisor.stats().liveWorkers == 0)
        #expect(await supervisor.stats().pooledWorkers == 0)
        let text = try audit.closeAndRead()
        var pids = Set<Int>()
        for line in text.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let pid = object["worker"] as? Int else { continue }
            pids.insert(pid)
        }
        #expect(!pids.isEmpty)
        for pid in pids { #expect(!FileManager.default.fileExists(atPath: "/proc/\(pid)"), "worker \(pid) survived shutdown") }
    }

    /// An idle worker drops its mappings of the binary's code, under both shipped filters, and its next
    /// call faults back what it needs: same process, same instance, right answer.
    @Test(arguments: ["default", "strict"])
    func idleWorkersReleaseTheirCodePages(policyName: String) async throws {
        let policy = policyName == "strict" ? SandboxPolicy.builtinStrict : SandboxPolicy.builtinDefault
        let releasing = try Fixtures.supervisor(idleRelease: .milliseconds(50))
        let keeping = try Fixtures.supervisor(idleRelease: nil)
        let module = try Fixtures.wasm(#"""
        (module
          (global $n (mut i32) (i32.const 0))
          (func (export "next") (result i32)
            global.get $n i32.const 1 i32.add global.set $n global.get $n))
        """#)
        let a = try await releasing.load(manifest: PluginManifest(name: "releasing"), module: module, policy: policy)
        let b = try await keeping.load(manifest: PluginManifest(name: "keeping"), module: module, policy: policy)
        for plugin in [a, b] { #expect(try await plugin.call("next") == [.i32(1)]) }
        let pidA = try #require(await a.workerPIDs().first), pidB = try #require(await b.workerPIDs().first)
        // The worker releases 50 ms after its call; how long the test waits for that is only a safety
        // net (a fixed sleep would race the worker's timer when a machine stall ends).
        let kept = try Self.residentKilobytes(pidB)
        try await LimitAndRestartTests.waitUntil { (try? Self.residentKilobytes(pidA)).map { $0 * 2 < kept } ?? false }
        let released = try Self.residentKilobytes(pidA)
        #expect(released * 2 < kept, "resident: \(released) KiB after the release, \(kept) KiB kept")
        #expect(try await a.call("next") == [.i32(2)])
        #expect(await a.workerPIDs() == [pidA])
        // The release repeats after every idle period, not only the first.
        try await LimitAndRestartTests.waitUntil { (try? Self.residentKilobytes(pidA)).map { $0 * 2 < kept } ?? false }
        #expect(try await a.call("next") == [.i32(3)])
        #expect(await a.metrics().restarts == 0)
        await releasing.shutdown()
        await keeping.shutdown()
    }

    private static func residentKilobytes(_ pid: Int32) throws -> Int {
        let text = try String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("Rss:") })
        return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
    }

    /// Policies without a seccomp listener (ERRNO, KILL_PROCESS, TRAP defaults) load and run too: the
    /// supervisor acknowledges every hello with listenerTaken, and the worker always waits for it.
    @Test(arguments: ["docker-default-compatible", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP"])
    func policiesWithoutAListenerLoadAndRun(variant: String) async throws {
        let policy: SandboxPolicy
        if variant.hasPrefix("SCMP_") {
            let text = SandboxPolicy.defaultJSON.replacingOccurrences(of: #""defaultAction": "SCMP_ACT_NOTIFY""#,
                                                                      with: #""defaultAction": "\#(variant)""#)
            policy = try SandboxPolicy.parse(Array(text.utf8), file: variant)
        } else {
            policy = try SandboxPolicy.load(path: ExamplesSupport.root + "/policies/\(variant).json")
        }
        #expect(!policy.seccomp.usesNotify)
        let audit = try AuditLogHandle.temporary("nolistener")
        defer { audit.remove() }
        let supervisor = try Fixtures.supervisor(audit: audit)
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "nolistener"), module: try Fixtures.wasm(Fixtures.add),
                                               policy: policy)
        #expect(try await plugin.call("add", [.i32(2), .i32(3)]) == [.i32(5)])
        await supervisor.shutdown()
        let records = try audit.closeAndRead()
        #expect(records.contains(#""seccomp_mode":"kill""#), "\(records)")
        #expect(!records.contains(#""seccomp_mode":"notify""#))
    }

    @Test func moduleCacheEvictsLeastRecentlyUsedWithinItsBudget() {
        var cache = ModuleCache(budget: 100)
        cache.store("a", bytes: [UInt8](repeating: 1, count: 40), outcome: .loaded([]))
        cache.store("b", bytes: [UInt8](repeating: 2, count: 40), outcome: .loaded([]))
        _ = cache.lookup("a")                                   // a is now more recent than b
        cache.store("c", bytes: [UInt8](repeating: 3, count: 40), outcome: .loaded([]))
        #expect(cache.entries["b"] == nil)
        #expect(cache.entries["a"] != nil && cache.entries["c"] != nil)
        #expect(cache.bytesUsed == 80)
        cache.store("huge", bytes: [UInt8](repeating: 0, count: 200), outcome: .loaded([]))
        #expect(cache.entries["huge"] == nil)
        #expect(ModuleCache.digest(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func rejectedModulesAreRememberedByDigest() async throws {
        let supervisor = try Fixtures.supervisor()
        let bad = [UInt8](repeating: 0xAB, count: 32)
        for _ in 0..<2 {
            await #expect(throws: CordonError.self) { _ = try await supervisor.load(manifest: PluginManifest(name: "bad"), module: bad) }
        }
        #expect(await supervisor.stats().cachedModules == 1)
        await supervisor.shutdown()
    }

    @Test func securityFactsReachTheAuditLogAndItVerifies() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cordon-audit-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/audit.log"
        let log = try AuditLog(configuration: AuditLogConfiguration(path: path, hostCallSampling: .all))
        var configuration = SupervisorConfiguration(tenant: "tenant-x", auditLog: log)
        configuration.loadTimeout = Fixtures.patience
        let supervisor = try Supervisor(configuration: configuration)
        let manifest = PluginManifest(name: "audited", capabilities: [.readConfig, .storage])
        let plugin = try await supervisor.load(manifest: manifest, module: try Fixtures.wasm(Plugins.hostCalls),
                                               policy: Fixtures.policy(), grant: [.readConfig])
        _ = try await plugin.call("get_config")
        _ = try await plugin.call("storage_roundtrip")       // denied: storage not granted
        let pid = try #require(await plugin.workerPIDs().first)
        kill(pid, SIGKILL)
        try await LimitAndRestartTests.waitUntil { let p = await plugin.workerPIDs().first; return p != nil && p != pid }
        await supervisor.shutdown()
        try log.close()

        let text = try String(contentsOfFile: path, encoding: .utf8)
        var policyDigests: [String] = []
        let types = text.split(separator: "\n").compactMap { line -> String? in
            guard let data = line.data(using: .utf8),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
            if (object["type"] as? String)?.hasPrefix("log.") == false { #expect(object["tenant"] as? String == "tenant-x", "\(line)") }
            if let digest = (object["data"] as? [String: Any])?["policy_sha256"] as? String { policyDigests.append(digest) }
            return object["type"] as? String
        }
        // A reviewer recomputes policy_sha256 from the policy alone, with any SHA-256 tool.
        let canonical = directory + "/policy.canonical.json"
        try Data(Fixtures.policy().canonicalJSON).write(to: URL(fileURLWithPath: canonical))
        let computed = try await ExamplesSupport.run("/usr/bin/sha256sum", [canonical]).stdout.prefix(64)
        #expect(policyDigests == [String(computed)])
        #expect(policyDigests == [Fixtures.policy().sha256])
        for expected in ["supervisor.start", "plugin.load", "worker.spawn", "hostcall", "capability.denied",
                         "worker.exit", "worker.restart", "plugin.unload", "supervisor.stop"] {
            #expect(types.contains(expected), "missing \(expected) in \(types)")
        }
        let verification = AuditVerifier.verify(files: [path], head: log.headPath)
        #expect(verification.isOK, "\(verification.summaryLine())")
    }
}

extension ConfinementTests {
    static func statusOrEmpty(_ pid: Int32) -> [String: String] { (try? status(pid)) ?? [:] }
}

/// The README's library example, as written: its events loop ends when the supervisor shuts down.
@Suite struct ReadmeExampleTests {
    @Test func eventsLoopEndsAtShutdown() async throws {
        let supervisor = try Fixtures.supervisor()
        let events = supervisor.events
        let watcher = Task { () -> [PluginEvent] in
            var seen: [PluginEvent] = []
            for await event in events { seen.append(event) }
            return seen
        }
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "readme"), module: try Fixtures.wasm(Plugins.bytes))
        _ = try await plugin.call("upper", bytes: Array("x".utf8))
        await supervisor.shutdown()
        let seen = await watcher.value
        #expect(!seen.isEmpty)
        // A subscription made after the shutdown is already over.
        var late = 0
        for await _ in supervisor.events { late += 1 }
        #expect(late == 0)
    }

    @Test func aSubscriberWhoComesLaterSeesTheNextCallsEvents() async throws {
        // With no subscriber (and no log line to write) events are not built at all; one who
        // subscribes later must still see every event from then on, and one who leaves stops them.
        let supervisor = try Fixtures.supervisor()
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "late"), module: try Fixtures.wasm(Plugins.bytes))
        _ = try await plugin.call("upper", bytes: Array("x".utf8))
        let events = supervisor.events
        let watcher = Task { () -> [PluginEvent.Kind] in
            var kinds: [PluginEvent.Kind] = []
            for await event in events {
                kinds.append(event.kind)
                if case .stateChanged(_, .ready) = event.kind { break }
            }
            return kinds
        }
        try await Task.sleep(for: .milliseconds(50))
        _ = try await plugin.call("upper", bytes: Array("y".utf8))
        let kinds = await watcher.value
        #expect(kinds.count == 3, "\(kinds)")
        if case .stateChanged(.ready, .running) = kinds.first {} else { Issue.record("first: \(String(describing: kinds.first))") }
        if kinds.count > 1, case .callCompleted(let export, _, _) = kinds[1] { #expect(export == "upper") } else { Issue.record("\(kinds)") }
        await supervisor.shutdown()
    }
}
