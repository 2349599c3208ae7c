import Cordon
import Foundation
import Testing

/// Limits, kills and restarts, with real workers and real signals.
@Suite struct LimitAndRestartTests {
    static func hostile(_ supervisor: Supervisor, policy: SandboxPolicy = Fixtures.policy(),
                        restart: RestartPolicy = RestartPolicy()) async throws -> PluginHandle {
        try await supervisor.load(manifest: PluginManifest(name: "hostile"), module: try Fixtures.wasm(Plugins.hostile),
                                  policy: policy, restart: restart)
    }

    @Test func infiniteLoopRunsOutOfFuel() async throws {
        let supervisor = try Fixtures.supervisor()
        let plugin = try await Self.hostile(supervisor, policy: Fixtures.policy(fuel: 2_000_000))
        let pid = await plugin.workerPIDs().first
        do {
            _ = try await plugin.call("spin")
            Issue.record("spin returned")
        } catch {
            guard case CordonError.limitExceeded(.fuel, let value, _, let export) = error else { Issue.record("\(error)"); return }
            #expect(value == "2,000,000")
            #expect(export == "spin")
            #expect(error.description.contains("fuel limit 2,000,000"))
        }
        // Fuel exhaustion is a clean trap: the same worker answers the next call.
        #expect(try await plugin.call("ok") == [.i32(42)])
        #expect(await plugin.workerPIDs().first == pid)
        await supervisor.shutdown()
    }

    @Test func withoutFuelTheWallClockKillsTheWorker() async throws {
        let supervisor = try Fixtures.supervisor()
        let plugin = try await Self.hostile(supervisor, policy: Fixtures.policy(fuel: 0, wallMs: 300))
        let pid = try #require(await plugin.workerPIDs().first)
        do {
            _ = try await plugin.call("spin")
            Issue.record("spin returned")
        } catch {
            guard case CordonError.limitExceeded(.wallTime, _, _, _) = error else { Issue.record("\(error)"); return }
            #expect(error.description.contains("wall time limit 0.3 s exceeded"))
        }
        // Killed, then restarted by the default policy: a fresh process answers.
        try await Self.waitUntil { await plugin.state() == .ready }
        #expect(try await plugin.call("ok") == [.i32(42)])
        let newPID = await plugin.workerPIDs().first
        #expect(newPID != nil && newPID != pid)
        await supervisor.shutdown()
    }

    @Test func aCallIsKilledAtItsOwnWallTimeAfterShortCallsBeforeIt() async throws {
        // A worker's deadline timer is kept across calls: armed by an early call, it fires during a
        // later one, and must then wait for that call's own deadline, not kill it early.
        let supervisor = try Fixtures.supervisor()
        let plugin = try await Self.hostile(supervisor, policy: Fixtures.policy(fuel: 0, wallMs: 400))
        let clock = ContinuousClock()
        let first = clock.now
        while first.duration(to: clock.now) < .milliseconds(250) {
            #expect(try await plugin.call("ok") == [.i32(42)])
            try await Task.sleep(for: .milliseconds(10))
        }
        let started = clock.now
        do {
            _ = try await plugin.call("spin")
            Issue.record("spin returned")
        } catch {
            guard case CordonError.limitExceeded(.wallTime, _, _, _) = error else { Issue.record("\(error)"); return }
        }
        let ran = started.duration(to: clock.now)
        #expect(ran >= .milliseconds(400), "killed after \(ran), before its own 400 ms")
        #expect(ran < .seconds(5), "killed only after \(ran)")
        await supervisor.shutdown()
    }

    @Test func memoryGrowBombHitsThePageLimit() async throws {
        let supervisor = try Fixtures.supervisor()
        let plugin = try await Self.hostile(supervisor, policy: Fixtures.policy(memoryPages: 64))
        do {
            _ = try await plugin.call("grow")
            Issue.record("grow returned")
        } catch {
            guard case CordonError.limitExceeded(.memory, _, _, _) = error else { Issue.record("\(error)"); return }
        }
        await supervisor.shutdown()
    }

    @Test func recursionAndArithmeticTrapsAreClassified() async throws {
        let supervisor = try Fixtures.supervisor()
        let plugin = try await Self.hostile(supervisor)
        for (export, args, kind) in [("recurse", [WasmValue.i32(0)], TrapKind.stackExhausted),
                                     ("divide", [.i32(1), .i32(0)], .integerDivision),
                                     ("trap", [], .unreachable)] {
            do {
                _ = try await plugin.call(export, args)
                Issue.record("\(export) returned")
            } catch {
                guard case CordonError.trapped(_, let got, let message) = error else { Issue.record("\(export): \(error)"); continue }
                #expect(got == kind, "\(export)")
                if kind == .stackExhausted { #expect(message.contains("call depth limit"), "\(message)") }
            }
        }
        #expect(try await plugin.call("ok") == [.i32(42)])
        await supervisor.shutdown()
    }

    @Test func badCallsAreTypedErrors() async throws {
        let supervisor = try Fixtures.supervisor()
        let plugin = try await Self.hostile(supervisor)
        await #expect(throws: CordonError.noSuchExport("nope")) { _ = try await plugin.call("nope") }
        do {
            _ = try await plugin.call("divide", [.i32(1)])
            Issue.record("accepted")
        } catch {
            guard case .invalidArguments = error else { Issue.record("\(error)"); return }
        }
        do {
            _ = try await plugin.call("divide", [.i64(1), .i32(1)])
            Issue.record("accepted")
        } catch {
            guard case .invalidArguments = error else { Issue.record("\(error)"); return }
        }
        await supervisor.shutdown()
    }

    @Test func cpuTimeLimitKillsTheWorker() async throws {
        let supervisor = try Fixtures.supervisor()
        // The wall time only ends the test if the CPU limit never fires: generous, because 1 s of CPU
        // on two shared cores, plus a machine stall (no CPU, all wall time), can take well over 10 s.
        var policy = Fixtures.policy(fuel: 0, wallMs: 60_000)
        policy.limits.maxCPUSecondsPerWorker = 1
        let plugin = try await Self.hostile(supervisor, policy: policy, restart: RestartPolicy(mode: .never))
        do {
            _ = try await plugin.call("spin")
            Issue.record("spin returned")
        } catch {
            guard case CordonError.limitExceeded(.cpuTime, _, _, _) = error else { Issue.record("\(error)"); return }
        }
        await supervisor.shutdown()
    }

    @Test func externalSigkillFailsTheCallFastAndRestarts() async throws {
        let supervisor = try Fixtures.supervisor()
        let plugin = try await Self.hostile(supervisor, policy: Fixtures.policy(fuel: 0, wallMs: 30_000))
        let pid = try #require(await plugin.workerPIDs().first)
        async let outcome: [WasmValue] = plugin.call("spin")
        try await Task.sleep(for: .milliseconds(200))
        kill(pid, SIGKILL)
        do {
            _ = try await outcome
            Issue.record("spin returned")
        } catch {
            // Not the 30 s wall time: the death itself ended the call.
            guard case CordonError.workerDied = error else { Issue.record("\(error)"); return }
        }
        try await Self.waitUntil { await plugin.state() == .ready }
        #expect(try await plugin.call("ok") == [.i32(42)])
        #expect(await plugin.metrics().restarts == 1)
        await supervisor.shutdown()
    }

    @Test func restartBudgetExhaustedLeavesThePluginFailed() async throws {
        let supervisor = try Fixtures.supervisor()
        let restart = RestartPolicy(mode: .onFailure, intensity: 2, period: .seconds(60),
                                    initialBackoff: .milliseconds(10), maximumBackoff: .milliseconds(50), jitter: 0)
        let plugin = try await Self.hostile(supervisor, restart: restart)
        for _ in 0..<3 {
            try await Self.waitUntil { await plugin.state() == .ready }
            let pid = try #require(await plugin.workerPIDs().first)
            kill(pid, SIGKILL)
            try await Self.waitUntil { await plugin.workerPIDs().first != pid }
        }
        try await Self.waitUntil { await plugin.state() == .failed }
        do {
            _ = try await plugin.call("ok")
            Issue.record("a failed plugin answered")
        } catch {
            guard case CordonError.unavailable(_, .failed) = error else { Issue.record("\(error)"); return }
        }
        // A reload brings it back with a fresh budget.
        try await plugin.reload()
        #expect(try await plugin.call("ok") == [.i32(42)])
        await supervisor.shutdown()
    }

    @Test func backoffGrowsAndResetsAfterAHealthyRun() async throws {
        let supervisor = try Fixtures.supervisor()
        let events = supervisor.events
        // `healthyAfter` splits a worker's runs into short ones (backoff grows) and healthy ones (it
        // resets). The short runs here last from ready to the kill, normally well under a second; 15 s
        // keeps one that a 10 s machine stall stretches still short, so the stall cannot reset the count.
        let restart = RestartPolicy(mode: .always, intensity: 100, period: .seconds(60), initialBackoff: .milliseconds(20),
                                    maximumBackoff: .seconds(5), jitter: 0, healthyAfter: .seconds(15))
        let plugin = try await Self.hostile(supervisor, restart: restart)
        let collector = Task { () -> [(Int, Duration)] in
            var seen: [(Int, Duration)] = []
            for await event in events {
                if case .restarting(let attempt, let backoff) = event.kind { seen.append((attempt, backoff)) }
                if seen.count == 4 { break }
            }
            return seen
        }
        func killAndWait() async throws {
            try await Self.waitUntil { await plugin.state() == .ready }
            let pid = try #require(await plugin.workerPIDs().first)
            kill(pid, SIGKILL)
            try await Self.waitUntil { let p = await plugin.workerPIDs().first; return p != nil && p != pid }
        }
        try await killAndWait()
        try await killAndWait()
        try await killAndWait()
        try await Self.waitUntil { await plugin.state() == .ready }
        // The first three workers die right after they are ready, far inside the 15 s; this one
        // outlives it: a healthy run.
        try await Task.sleep(for: .milliseconds(15_200))
        try await killAndWait()
        let seen = await collector.value
        #expect(seen.map(\.0) == [1, 2, 3, 1], "\(seen)")
        #expect(seen[0].1 < seen[1].1 && seen[1].1 < seen[2].1)
        #expect(seen[3].1 == seen[0].1)
        await supervisor.shutdown()
    }

    @Test func unloadAndShutdownReapEveryWorker() async throws {
        let supervisor = try Fixtures.supervisor()
        let module = try Fixtures.wasm(Fixtures.add)
        var pids: [Int32] = []
        var handles: [PluginHandle] = []
        for i in 0..<4 {
            let handle = try await supervisor.load(manifest: PluginManifest(name: "p\(i)", workers: 2), module: module)
            handles.append(handle)
            pids += await handle.workerPIDs()
        }
        #expect(pids.count == 8)
        await handles[0].unload()
        for pid in pids.prefix(2) { #expect(!FileManager.default.fileExists(atPath: "/proc/\(pid)")) }
        await supervisor.shutdown()
        for pid in pids { #expect(!FileManager.default.fileExists(atPath: "/proc/\(pid)"), "worker \(pid) survived") }
        #expect(await supervisor.stats().liveWorkers == 0)
    }

    /// Polls `condition` until it holds, for at most `timeout` (`Fixtures.patience`: a safety net, not
    /// a measured limit). The condition gets a last look after the deadline, since a stall can carry
    /// the clock past it between two looks.
    static func waitUntil(timeout: Duration = Fixtures.patience, _ condition: () async -> Bool) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        if await condition() { return }
        Issue.record("condition not met within \(timeout)")
        throw CancellationError()
    }
}
