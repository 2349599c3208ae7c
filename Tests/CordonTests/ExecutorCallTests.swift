import Cordon
import Foundation
import Testing

/// Calls made from a task on `Supervisor.executor` (the reactor thread itself): the same outcomes as
/// from any task — values, refusals, traps, wall-time kills — and other callers keep being served.
@Suite struct ExecutorCallTests {
    @Test func callsFromTheExecutorBehaveLikeAnyOther() async throws {
        let supervisor = try Fixtures.supervisor()
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "exec-add"), module: try Fixtures.wasm(Fixtures.add),
                                               policy: Fixtures.policy())
        let sum = try await withTaskExecutorPreference(supervisor.executor) {
            var sum: Int64 = 0
            for n in 0..<500 {
                guard case .i32(let value) = try await plugin.call("add", [.i32(UInt32(n)), .i32(1)]).first else { return Int64(-1) }
                sum += Int64(value)
            }
            return sum
        }
        #expect(sum == (0..<500).reduce(0) { $0 + Int64($1) + 1 })

        // Refused before a worker sees them (completed synchronously, on the reactor).
        await withTaskExecutorPreference(supervisor.executor) {
            do { _ = try await plugin.call("nope"); Issue.record("called") } catch {
                guard case .noSuchExport("nope")? = error as? CordonError else { Issue.record("\(error)"); return }
            }
            do { _ = try await plugin.call("add", [.i32(1)]); Issue.record("called") } catch {
                guard case .invalidArguments? = error as? CordonError else { Issue.record("\(error)"); return }
            }
        }

        // Callers on the executor and ordinary callers at once.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<4 {
                group.addTask {
                    let body = { () async throws -> Void in
                        for n in 0..<100 {
                            let result = try await plugin.call("add", [.i32(UInt32(n)), .i32(UInt32(lane))])
                            #expect(result == [.i32(UInt32(n + lane))])
                        }
                    }
                    if lane % 2 == 0 { try await withTaskExecutorPreference(supervisor.executor) { try await body() } } else { try await body() }
                }
            }
            try await group.waitForAll()
        }
        await supervisor.shutdown()
    }

    @Test func aTrapAndAWallTimeKillReachACallerOnTheExecutor() async throws {
        let supervisor = try Fixtures.supervisor()
        let plugin = try await supervisor.load(
            manifest: PluginManifest(name: "exec-loop"),
            module: try Fixtures.wasm("""
            (module
              (func (export "trap") unreachable)
              (func (export "spin") (loop $l (br $l))))
            """),
            policy: Fixtures.policy(fuel: 0, wallMs: 300))
        await withTaskExecutorPreference(supervisor.executor) {
            do { _ = try await plugin.call("trap"); Issue.record("returned") } catch {
                guard case .trapped("trap", _, _)? = error as? CordonError else { Issue.record("\(error)"); return }
            }
            // The caller is suspended while the worker spins, so the reactor is free to fire the
            // wall-time timer and kill it.
            do { _ = try await plugin.call("spin"); Issue.record("returned") } catch {
                guard case .limitExceeded(.wallTime, _, _, _)? = error as? CordonError else { Issue.record("\(error)"); return }
            }
        }
        await supervisor.shutdown()
    }
}

/// While a worker owes an answer the reactor polls its ring instead of waiting for its doorbell, and
/// arms the doorbell again before it sleeps. An answer must never be lost between the two: whether
/// it comes within the busy-poll window or long after it, with the busy poll off, from several
/// workers at once, and with host calls in between.
@Suite struct PolledAnswerTests {
    static let counter = """
    (module
      (import "env" "host_now_ms" (func $now (result i64)))
      (func (export "count") (param $n i32) (result i32)
        (local $i i32)
        (loop $l
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
        (local.get $i))
      (func (export "clock") (result i32)
        (drop (call $now)) (drop (call $now)) (i32.const 7)))
    """

    @Test(arguments: [Duration.zero, .microseconds(50)])
    func noAnswerIsLostWhateverItsTiming(busyPoll: Duration) async throws {
        var configuration = SupervisorConfiguration()
        configuration.loadTimeout = Fixtures.patience
        configuration.reactorBusyPoll = busyPoll
        let supervisor = try Supervisor(configuration: configuration)
        var manifest = PluginManifest(name: "polled")
        manifest.workers = 2
        manifest.capabilities = [.timer]
        let plugin = try await supervisor.load(manifest: manifest, module: try Fixtures.wasm(Self.counter),
                                               policy: Fixtures.policy(fuel: 0, wallMs: 20_000), grant: [.timer])
        // Each lane alternates answers in microseconds with answers milliseconds away (past any busy
        // poll), and calls that make host calls; a lost wake-up would leave a call to its wall time.
        let clock = ContinuousClock()
        let started = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<4 {
                group.addTask {
                    let body = { () async throws -> Void in
                        for round in 0..<60 {
                            let n: UInt32 = round % 3 == 0 ? 20_000 : 1
                            #expect(try await plugin.call("count", [.i32(n)]) == [.i32(n)])
                            #expect(try await plugin.call("clock") == [.i32(7)])
                        }
                    }
                    if lane % 2 == 0 { try await withTaskExecutorPreference(supervisor.executor) { try await body() } } else { try await body() }
                }
            }
            try await group.waitForAll()
        }
        #expect(started.duration(to: clock.now) < .seconds(20), "a lost wake-up costs a call its wall time")
        await supervisor.shutdown()
    }
}
