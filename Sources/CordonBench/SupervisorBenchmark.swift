import Cordon
import CCordonShims
import Foundation
import Synchronization
import WAT
import WasmKit

/// `cordon-bench supervisor`: spawn, warm pool, compute, host calls and memory per worker, each next to
/// a baseline measured in the same run (bubblewrap, in-process WasmKit).
func runSupervisorBenchmark(arguments: [String]) async throws {
    func value(_ flag: String) -> String? {
        arguments.firstIndex(of: flag).flatMap { arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : nil }
    }
    let quick = arguments.contains("--quick")
    var maxWorkers = quick ? 100 : 1000
    if arguments.contains("--workers") {
        guard let count = value("--workers").flatMap({ Int($0) }), count > 0 else {
            throw BenchmarkArgumentError("--workers takes a positive number of workers")
        }
        maxWorkers = count
    }
    let sections = ["compute", "fixed", "hostcalls", "cold", "warm", "idle", "memory", "flood"]
    if arguments.contains("--only"), value("--only") == nil { throw BenchmarkArgumentError("--only takes a list of sections") }
    let only = value("--only").map { Set($0.split(separator: ",").map(String.init)) } ?? Set(sections)
    if let unknown = only.first(where: { !sections.contains($0) }) {
        throw BenchmarkArgumentError("--only: unknown section '\(unknown)' (\(sections.joined(separator: ", ")))")
    }
    print("Cordon supervisor benchmark (\(quick ? "quick" : "full") run, \(ProcessInfo.processInfo.activeProcessorCount) cores)")
    print("")
    // Compute and host calls first: the spawn runs leave the kernel tearing down hundreds of network
    // namespaces (cleanup_net) for a while, on the same two cores.
    if only.contains("compute") { try await compute(quick: quick) }
    if only.contains("fixed") {
        var blocks = quick ? 4 : 10
        if arguments.contains("--blocks") {
            guard let count = value("--blocks").flatMap({ Int($0) }), count > 0 else {
                throw BenchmarkArgumentError("--blocks takes a positive number of 200-call blocks")
            }
            blocks = count
        }
        try await fixedCallCost(blocks: blocks)
    }
    if only.contains("hostcalls") { try await hostCalls(quick: quick) }
    if only.contains("cold") { try await coldSpawn(iterations: quick ? 20 : 100) }
    if only.contains("warm") { try await warmPool(iterations: quick ? 20 : 100) }
    if only.contains("idle") { try await firstCallAfterIdle(rounds: quick ? 8 : 30) }
    if only.contains("flood") { try await bystanderUnderIdleLogFlood(calls: quick ? 300 : 2000) }
    if only.contains("memory") {
        try await memoryPerWorker(counts: [1, 100, maxWorkers].filter { $0 <= maxWorkers }.reduce(into: []) { if !$0.contains($1) { $0.append($1) } })
    }
}

/// A benchmark option that cannot be used, named in the message.
struct BenchmarkArgumentError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Plugins

private let fibWAT = """
(module
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2))))))))
"""

private let hostLoopWAT = """
(module
  (import "env" "host_now_ms" (func $now (result i64)))
  (func (export "loop") (param $n i32) (result i32)
    (block $done (loop $again
      (br_if $done (i32.eqz (local.get $n)))
      (drop (call $now))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $again)))
    (i32.const 0)))
"""

// MARK: - Measurements

struct Samples {
    var values: [Double] = []   // seconds
    mutating func add(_ d: Duration) { values.append(Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18) }
    func percentile(_ p: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))]
    }
    var p50: Double { percentile(0.5) }
    var p99: Double { percentile(0.99) }
}

func formatTime(_ seconds: Double) -> String {
    if seconds < 1e-3 { return String(format: "%.1f µs", seconds * 1e6) }
    if seconds < 1 { return String(format: "%.2f ms", seconds * 1e3) }
    return String(format: "%.2f s", seconds)
}

func row(_ columns: [String], widths: [Int]) -> String {
    zip(columns, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
}

private func benchSupervisor(warmPool: Int = 0, idleRelease: Duration? = SupervisorConfiguration().workerIdleRelease) throws -> Supervisor {
    var configuration = SupervisorConfiguration()
    configuration.warmPoolSize = warmPool
    configuration.workerIdleRelease = idleRelease
    configuration.loadTimeout = .seconds(60)
    return try Supervisor(configuration: configuration)
}

private func coldSpawn(iterations: Int) async throws {
    let module = try wat2wasm(fibWAT)
    let supervisor = try benchSupervisor()
    let clock = ContinuousClock()
    var cordon = Samples()
    for i in 0..<iterations {
        let start = clock.now
        let handle = try await supervisor.load(manifest: PluginManifest(name: "cold\(i)"), module: module)
        cordon.add(start.duration(to: clock.now))
        await handle.unload()
    }
    var bwrap = Samples()
    let bwrapPath = ["/usr/bin/bwrap", "/bin/bwrap"].first { FileManager.default.isExecutableFile(atPath: $0) }
    if let bwrapPath {
        for _ in 0..<iterations {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: bwrapPath)
            process.arguments = ["--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "/bin/true"]
            let start = clock.now
            try process.run()
            process.waitUntilExit()
            bwrap.add(start.duration(to: clock.now))
        }
    }
    await supervisor.shutdown()
    print("## Cold spawn → ready (confined worker, module loaded), \(iterations) runs")
    let w = [44, 12, 12]
    print(row(["", "p50", "p99"], widths: w))
    print(row(["cordon load (spawn+confine+seccomp+load)", formatTime(cordon.p50), formatTime(cordon.p99)], widths: w))
    if bwrapPath != nil {
        print(row(["bwrap --unshare-all --die-with-parent true", formatTime(bwrap.p50), formatTime(bwrap.p99)], widths: w))
        print(String(format: "ratio cordon/bwrap p50: %.2f× (target ≤ 1.00×)", cordon.p50 / bwrap.p50))
    } else {
        print("bwrap not installed (apt-get install bubblewrap): no baseline")
    }
    print("")
}

private func warmPool(iterations: Int) async throws {
    let module = try wat2wasm(fibWAT)
    let supervisor = try benchSupervisor()
    await supervisor.prewarm(count: iterations)
    let clock = ContinuousClock()
    var warm = Samples()
    var handles: [PluginHandle] = []
    for i in 0..<iterations {
        let start = clock.now
        handles.append(try await supervisor.load(manifest: PluginManifest(name: "warm\(i)"), module: module))
        warm.add(start.duration(to: clock.now))
    }
    await supervisor.shutdown()
    // Baseline: what an unisolated host pays for the same step, parsing, validating and instantiating
    // the module into a fresh store in this process (same engine configuration as the worker).
    var inProcess = Samples()
    let engine = Engine(configuration: EngineConfiguration(compilationMode: .eager, memoryBoundsChecking: .software, fuelMetering: true))
    for _ in 0..<iterations {
        let start = clock.now
        let instance = try parseWasm(bytes: module).instantiate(store: Store(engine: engine))
        inProcess.add(start.duration(to: clock.now))
        precondition(instance.exports[function: "fib"] != nil)
    }
    print("## Warm-pool acquire → ready, \(iterations) loads")
    let w = [44, 12, 12]
    print(row(["", "p50", "p99"], widths: w))
    print(row(["cordon load from the warm pool", formatTime(warm.p50), formatTime(warm.p99)], widths: w))
    print(row(["in-process WasmKit parse + instantiate", formatTime(inProcess.p50), formatTime(inProcess.p99)], widths: w))
    print("target: warm acquire ≤ 300 µs")
    print("")
}

private func compute(quick: Bool) async throws {
    // fib(30) runs ~25 ms: long enough that the per-call round trip (printed below) is not what is measured.
    let n: UInt32 = quick ? 22 : 30
    let module = try wat2wasm(fibWAT)
    let supervisor = try benchSupervisor()
    var policy = SandboxPolicy.builtinDefault
    policy.limits.maxWallTimeMillisecondsPerCall = 120_000
    policy.wasm.maxFuelPerCall = 10_000_000_000
    let handle = try await supervisor.load(manifest: PluginManifest(name: "fib"), module: module, policy: policy)
    // The same plugin under a policy that also force-disables speculative store bypass in the worker
    // (`mitigateSpeculativeStoreBypass`, as the built-in strict policy does).
    var mitigatedPolicy = policy
    mitigatedPolicy.mitigatesSpeculativeStoreBypass = true
    let mitigatedHandle = try await supervisor.load(manifest: PluginManifest(name: "fib-ssbd"), module: module, policy: mitigatedPolicy)
    let clock = ContinuousClock()
    let rounds = quick ? 5 : 15

    // The same module, engine configuration and fuel metering, in this process.
    let engine = Engine(configuration: EngineConfiguration(compilationMode: .eager, memoryBoundsChecking: .software, fuelMetering: true))
    let store = Store(engine: engine)
    let instance = try parseWasm(bytes: module).instantiate(store: store)
    let fib = instance.exports[function: "fib"]!
    var confined = Samples()
    var inProcess = Samples()
    // The mitigated worker is compared with in-process code under the same mitigation on the measuring
    // thread alone (PR_SPEC_DISABLE, undone after), in the same rounds.
    var confinedMitigated = Samples()
    var inProcessMitigated = Samples()
    let storeBypassControllable = cordon_prctl(52, 0, 0, 0, 0) & 1 != 0   // PR_GET_SPECULATION_CTRL: PR_SPEC_PRCTL
    _ = try await handle.call("fib", [.i32(n)])
    _ = try await mitigatedHandle.call("fib", [.i32(n)])
    store.fuel = Fuel(remaining: 10_000_000_000)
    _ = try fib.invoke([.i32(n)])
    // Alternate the two, round by round, and run both sides of a round on the same CPU: on a shared
    // VM the speed drifts between seconds and differs between vCPUs (a sibling hyperthread on the
    // host may be busy), and a worker that happened to land on the slower vCPU would otherwise
    // compare two different machines.
    let workerPID = await handle.workerPIDs().first ?? 0
    let mitigatedPID = await mitigatedHandle.workerPIDs().first ?? 0
    let cpus = max(1, ProcessInfo.processInfo.activeProcessorCount)
    for round in 0..<rounds {
        let cpu = round % cpus
        pin(workerPID, to: cpu)
        var start = clock.now
        _ = try await handle.call("fib", [.i32(n)])
        confined.add(start.duration(to: clock.now))
        store.fuel = Fuel(remaining: 10_000_000_000)
        // The measuring thread is pinned only between two awaits: a task may resume on another
        // thread of the pool, and a pin left behind would bind that thread, and every thread it
        // creates later (a later section's reactor), to one CPU.
        pin(0, to: cpu)
        start = clock.now
        _ = try fib.invoke([.i32(n)])
        inProcess.add(start.duration(to: clock.now))
        pin(0, to: nil)
        if storeBypassControllable {
            pin(mitigatedPID, to: cpu)
            start = clock.now
            _ = try await mitigatedHandle.call("fib", [.i32(n)])
            confinedMitigated.add(start.duration(to: clock.now))
            pin(mitigatedPID, to: nil)
            store.fuel = Fuel(remaining: 10_000_000_000)
            pin(0, to: cpu)
            _ = cordon_prctl(53, 0, 4, 0, 0)   // PR_SET_SPECULATION_CTRL, store bypass, PR_SPEC_DISABLE
            start = clock.now
            _ = try fib.invoke([.i32(n)])
            inProcessMitigated.add(start.duration(to: clock.now))
            _ = cordon_prctl(53, 0, 2, 0, 0)   // PR_SPEC_ENABLE
            pin(0, to: nil)
        }
    }
    pin(workerPID, to: nil)
    await supervisor.shutdown()
    print("## Guest compute: fib(\(n)), \(rounds) alternating rounds")
    let w = [36, 12, 12]
    print(row(["", "best", "median"], widths: w))
    print(row(["confined worker (call round trip)", formatTime(confined.percentile(0)), formatTime(confined.p50)], widths: w))
    print(row(["in-process WasmKit (same config)", formatTime(inProcess.percentile(0)), formatTime(inProcess.p50)], widths: w))
    if storeBypassControllable {
        print(row(["confined, store bypass disabled", formatTime(confinedMitigated.percentile(0)), formatTime(confinedMitigated.p50)], widths: w)
              + "  (policy mitigateSpeculativeStoreBypass, as in the built-in strict policy)")
        print(row(["in-process, store bypass disabled", formatTime(inProcessMitigated.percentile(0)), formatTime(inProcessMitigated.p50)], widths: w)
              + "  (the same mitigation on the measuring thread)")
    }
    // Each round pairs the two sides on one CPU, close in time: the median of the per-round ratios is
    // the figure least moved by the VM's drift.
    let perRound = Samples(values: zip(inProcess.values, confined.values).map { $0 / $1 })
    print(String(format: "throughput ratio confined/in-process, median of per-round ratios: %.3f× (target ≥ 0.95×); best rounds: %.3f×",
                 perRound.p50, inProcess.percentile(0) / confined.percentile(0)))
    if storeBypassControllable {
        let mitigatedRound = Samples(values: zip(inProcessMitigated.values, confinedMitigated.values).map { $0 / $1 })
        let cost = Samples(values: zip(inProcess.values, inProcessMitigated.values).map { $0 / $1 })
        print(String(format: "  with the store-bypass mitigation on both sides: %.3f×; the mitigation alone costs in-process code %.3f× (median per round)",
                     mitigatedRound.p50, cost.p50))
    } else {
        print("  (speculative store bypass is not per-task controllable here: the mitigation costs nothing on this machine)")
    }
    print("")
}

/// The fixed cost of a call (fib(1)), from an ordinary task and from a task on the supervisor's
/// executor (no hand-off between the caller's thread and the reactor), in alternating blocks of 200.
private func fixedCallCost(blocks: Int) async throws {
    let supervisor = try benchSupervisor()
    let handle = try await supervisor.load(manifest: PluginManifest(name: "fib"), module: try wat2wasm(fibWAT))
    let clock = ContinuousClock()
    _ = try await handle.call("fib", [.i32(1)])
    /// One block: 200 calls, each timed, on whatever executor the caller's task prefers.
    func block() async throws -> [Double] {
        var samples = Samples()
        for _ in 0..<200 {
            let start = clock.now
            _ = try await handle.call("fib", [.i32(1)])
            samples.add(start.duration(to: clock.now))
        }
        return samples.values
    }
    var roundTrip = Samples()
    var onExecutor = Samples()
    for _ in 0..<blocks {
        roundTrip.values += try await block()
        onExecutor.values += try await withTaskExecutorPreference(supervisor.executor) { try await block() }
    }
    await supervisor.shutdown()
    print("## Fixed cost of a call to the worker, fib(1), \(blocks * 200) calls each way, p50 / p99 (target p50 ≤ 8 µs)")
    print("  from any task                        \(formatTime(roundTrip.p50)) / \(formatTime(roundTrip.p99))")
    print("  from a task on Supervisor.executor   \(formatTime(onExecutor.p50)) / \(formatTime(onExecutor.p99))")
    print("")
}

private func hostCalls(quick: Bool) async throws {
    let calls: UInt32 = quick ? 20_000 : 100_000
    let module = try wat2wasm(hostLoopWAT)
    let supervisor = try benchSupervisor()
    var policy = SandboxPolicy.builtinDefault
    policy.limits.maxHostCallsPerCall = calls + 1
    policy.limits.maxHostCallsPerSecond = 10_000_000
    policy.limits.maxWallTimeMillisecondsPerCall = 120_000
    let hosts = [PlacedHost(execution: .cooperativePool), PlacedHost(execution: .reactor),
                 PlacedHost(execution: .threads(HostThreadPool(threads: 2)))]
    let pooled = try await supervisor.load(manifest: PluginManifest(name: "hostloop", capabilities: [.timer]),
                                           module: module, policy: policy, host: hosts[0])
    let onReactor = try await supervisor.load(manifest: PluginManifest(name: "hostloop-reactor", capabilities: [.timer]),
                                              module: module, policy: policy, host: hosts[1])
    let onThreads = try await supervisor.load(manifest: PluginManifest(name: "hostloop-threads", capabilities: [.timer]),
                                              module: module, policy: policy, host: hosts[2])
    let handles = [pooled, onReactor, onThreads]
    let clock = ContinuousClock()
    for handle in handles { _ = try await handle.call("loop", [.i32(1000)]) }
    for host in hosts { _ = host.takeIntervals() }
    // The placements take turns in slices of a quarter, so that drift of the VM favours none.
    var totals = [Duration](repeating: .zero, count: handles.count)
    var perCall = [Samples](repeating: Samples(), count: handles.count)
    for round in 0..<(4 * handles.count) {
        let index = round % handles.count
        let start = clock.now
        _ = try await handles[index].call("loop", [.i32(calls / 4)])
        totals[index] += start.duration(to: clock.now)
        for interval in hosts[index].takeIntervals() { perCall[index].add(interval) }
    }
    let (confined, confinedOnReactor, confinedOnThreads) = (totals[0], totals[1], totals[2])
    await supervisor.shutdown()

    let engine = Engine(configuration: EngineConfiguration(compilationMode: .eager, memoryBoundsChecking: .software))
    let store = Store(engine: engine)
    var imports = Imports()
    imports.define(module: "env", name: "host_now_ms", Function(store: store, parameters: [], results: [.i64]) { _, _ in
        [.i64(UInt64(Date().timeIntervalSince1970 * 1000))]
    })
    let instance = try parseWasm(bytes: module).instantiate(store: store, imports: imports)
    let loop = instance.exports[function: "loop"]!
    let start2 = clock.now
    _ = try loop.invoke([.i32(calls)])
    let inProcess = start2.duration(to: clock.now)
    let per = { (d: Duration) in (Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18) / Double(calls) }
    print("## End-to-end guest host call (WasmKit import → channel → Swift HostFunctions → back), \(calls) calls")
    let w = [40, 12]
    let percentiles = { (index: Int) in "  p50 \(formatTime(perCall[index].p50)), p99 \(formatTime(perCall[index].p99))" }
    print(row(["confined worker, per host call (mean)", formatTime(per(confined))], widths: w) + percentiles(0)
          + "  (default: the cooperative pool)")
    print(row(["  host functions on the reactor", formatTime(per(confinedOnReactor))], widths: w) + percentiles(1)
          + "  (HostExecution.reactor: no hand-off to the cooperative pool)")
    print(row(["  host functions on a HostThreadPool", formatTime(per(confinedOnThreads))], widths: w) + percentiles(2)
          + "  (HostExecution.threads: for host functions that block)")
    print(row(["in-process native host function", formatTime(per(inProcess))], widths: w))
    print("")
}

/// The default host functions, run where `execution` says; `nowMilliseconds` also notes when each
/// call reached it. The interval between two arrivals is one whole host call as the guest sees it
/// (reply → worker → next request → this function), so its percentiles are per-call figures.
private final class PlacedHost: HostFunctions {
    let execution: HostExecution
    private let arrivals = Mutex<[ContinuousClock.Instant]>([])
    init(execution: HostExecution) { self.execution = execution }
    func nowMilliseconds(_ context: PluginContext) async -> Int64 {
        let now = ContinuousClock.now
        arrivals.withLock { $0.append(now) }
        return Int64(Date().timeIntervalSince1970 * 1000)
    }
    /// Intervals between successive arrivals since the last call of this method, and forgets them.
    func takeIntervals() -> [Duration] {
        let taken = arrivals.withLock { list -> [ContinuousClock.Instant] in defer { list.removeAll(keepingCapacity: true) }; return list }
        return zip(taken, taken.dropFirst()).map { $0.duration(to: $1) }
    }
}

private func memoryPerWorker(counts: [Int]) async throws {
    let module = try wat2wasm(fibWAT)
    let release = SupervisorConfiguration().workerIdleRelease
    print("## Memory per idle worker (/proc/<pid>/smaps_rollup)")
    print("kept: workerIdleRelease off, measured as soon as the last worker loaded;")
    print("released: the default workerIdleRelease (\(release.map { "\($0)" } ?? "off")), measured after the workers were idle that long")
    let w = [10, 10, 14, 14, 16]
    print(row(["workers", "code", "PSS/worker", "RSS/worker", "spawn time"], widths: w))
    for count in counts {
        for idleRelease in [nil, release] {
            let supervisor = try benchSupervisor(idleRelease: idleRelease)
            let clock = ContinuousClock()
            let start = clock.now
            var handles: [PluginHandle] = []
            // Load in small concurrent batches: 2 cores, so more parallelism buys nothing.
            var index = 0
            while index < count {
                let batch = min(8, count - index)
                try await withThrowingTaskGroup(of: PluginHandle.self) { group in
                    for i in index..<(index + batch) {
                        group.addTask { try await supervisor.load(manifest: PluginManifest(name: "idle\(i)"), module: module) }
                    }
                    for try await handle in group { handles.append(handle) }
                }
                index += batch
            }
            let elapsed = start.duration(to: clock.now)
            if let idleRelease { try await Task.sleep(for: idleRelease + .milliseconds(500)) }
            var pss = 0, rss = 0, measured = 0
            for handle in handles {
                for pid in await handle.workerPIDs() {
                    guard let text = try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8) else { continue }
                    pss += kilobytes(text, "Pss:")
                    rss += kilobytes(text, "Rss:")
                    measured += 1
                }
            }
            let stats = await supervisor.stats()
            print(row(["\(count)", idleRelease == nil ? "kept" : "released",
                       String(format: "%.2f MiB", Double(pss) / Double(max(measured, 1)) / 1024),
                       String(format: "%.2f MiB", Double(rss) / Double(max(measured, 1)) / 1024),
                       formatTime(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)], widths: w)
                  + "  (live \(stats.liveWorkers), reactor threads \(stats.reactorThreads), supervisor threads \(stats.supervisorThreads))")
            await supervisor.shutdown(gracePeriod: .seconds(5))
        }
    }
    print("target: PSS ≤ 4 MiB per idle worker")
    print("")
}

/// What the idle release costs: the first call after a worker has been idle, with the release on
/// and off (same idle time, same run), next to a call on a worker that has just run one.
private func firstCallAfterIdle(rounds: Int) async throws {
    let module = try wat2wasm(fibWAT)
    let idle = Duration.milliseconds(300)
    var released = Samples(), kept = Samples(), hot = Samples()
    var pssReleased = 0, pssAfterCall = 0
    let withRelease = try benchSupervisor(idleRelease: .milliseconds(100))
    let withoutRelease = try benchSupervisor(idleRelease: nil)
    let a = try await withRelease.load(manifest: PluginManifest(name: "released"), module: module)
    let b = try await withoutRelease.load(manifest: PluginManifest(name: "kept"), module: module)
    let pid = await a.workerPIDs().first ?? 0
    let clock = ContinuousClock()
    for _ in 0..<3 { _ = try await a.call("fib", [.i32(1)]); _ = try await b.call("fib", [.i32(1)]) }
    for round in 0..<rounds {
        // Alternate which side goes first, so that neither always follows the other's page faults.
        for side in (round % 2 == 0 ? [0, 1] : [1, 0]) {
            try await Task.sleep(for: idle)
            let handle = side == 0 ? a : b
            if side == 0, let text = try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8) { pssReleased += kilobytes(text, "Pss:") }
            var start = clock.now
            _ = try await handle.call("fib", [.i32(1)])
            if side == 0 { released.add(start.duration(to: clock.now)) } else { kept.add(start.duration(to: clock.now)) }
            if side == 0, let text = try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8) { pssAfterCall += kilobytes(text, "Pss:") }
            start = clock.now
            _ = try await handle.call("fib", [.i32(1)])
            if side == 0 { hot.add(start.duration(to: clock.now)) }
        }
    }
    await withRelease.shutdown()
    await withoutRelease.shutdown()
    print("## First call after \(idle) idle, fib(1), \(rounds) rounds (lone worker each)")
    let w = [52, 12, 12]
    print(row(["", "p50", "p99"], widths: w))
    print(row(["code released after 100 ms idle (first call faults it back)", formatTime(released.p50), formatTime(released.p99)], widths: w))
    print(row(["code kept (workerIdleRelease off), same idle time", formatTime(kept.p50), formatTime(kept.p99)], widths: w))
    print(row(["the next call, right after", formatTime(hot.p50), formatTime(hot.p99)], widths: w))
    print(String(format: "PSS of the releasing worker: %.2f MiB idle, %.2f MiB after its first call",
                 Double(pssReleased) / Double(rounds) / 1024, Double(pssAfterCall) / Double(rounds) / 1024))
    print("")
}

/// Pins `pid` (0: the calling thread) to `cpu`, or lets it run anywhere again (nil).
private func pin(_ pid: Int32, to cpu: Int?) {
    _ = cordon_pin_cpu(pid, Int32(cpu ?? -1))
}

func kilobytes(_ text: String, _ key: String) -> Int {
    for line in text.split(separator: "\n") where line.hasPrefix(key) {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
    }
    return 0
}

/// `cordon-bench hold N`: loads N plugins, prints their worker pids, then waits to be killed. Used by
/// the test that SIGKILLs a supervisor and checks that no worker outlives it.
func runHold(arguments: [String]) async throws {
    let count = arguments.first.flatMap(Int.init) ?? 1
    // `hold N paused`: the workers are stopped (SIGSTOP) before their pids are printed.
    let paused = arguments.dropFirst().first == "paused"
    let supervisor = try benchSupervisor()
    var pids: [Int32] = []
    for i in 0..<count {
        let handle = try await supervisor.load(manifest: PluginManifest(name: "held\(i)"), module: try wat2wasm(fibWAT))
        pids += await handle.workerPIDs()
        if paused { try await handle.pause() }
    }
    FileHandle.standardOutput.write(Data((pids.map(String.init).joined(separator: " ") + "\n").utf8))
    while true { try await Task.sleep(for: .seconds(60)) }
}

/// A bystander plugin's call round trip while another plugin's worker floods the channel with
/// 200 KiB log frames between calls (CordonCorruptWorker `idle-log-stream`), next to the same
/// bystander on the same supervisor without it. Every flooder is stopped at its first frame over the
/// log budget and restarted at once, so the flood goes on for the whole measurement.
private func bystanderUnderIdleLogFlood(calls: Int) async throws {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    let corrupt = ProcessInfo.processInfo.environment["CORDON_CORRUPT_WORKER"]
        ?? (exe as NSString).deletingLastPathComponent + "/CordonCorruptWorker"
    guard access(corrupt, X_OK) == 0 else {
        print("flood: \(corrupt) not found (swift build --product CordonCorruptWorker); skipped")
        return
    }
    var configuration = SupervisorConfiguration(workerExecutable: corrupt)
    configuration.loadTimeout = .seconds(60)
    let supervisor = try Supervisor(configuration: configuration)
    let bystander = try await supervisor.load(manifest: PluginManifest(name: "bystander"), module: Array("cordon-corrupt:honest".utf8))
    func measure() async throws -> Samples {
        var samples = Samples()
        for _ in 0..<calls {
            let start = ContinuousClock.now
            _ = try await bystander.call("run")
            samples.add(start.duration(to: .now))
        }
        return samples
    }
    _ = try await measure()   // warm-up
    let baseline = try await measure()
    let flooder = try await supervisor.load(manifest: PluginManifest(name: "idle-log-flood"),
                                            module: Array("cordon-corrupt:idle-log-stream".utf8),
                                            restart: RestartPolicy(mode: .always, intensity: 1_000_000, initialBackoff: .milliseconds(1),
                                                                   maximumBackoff: .milliseconds(1), jitter: 0))
    let flooded = try await measure()
    let stopped = await flooder.metrics().restarts
    await supervisor.shutdown()
    print("== bystander calls while another worker floods idle log frames (\(calls) calls each)")
    let w = [58, 12, 12]
    print(row(["", "p50", "p99"], widths: w))
    print(row(["bystander call, no flood (baseline)", formatTime(baseline.p50), formatTime(baseline.p99)], widths: w))
    print(row(["bystander call, idle-log flood (\(stopped) flooders stopped)", formatTime(flooded.p50), formatTime(flooded.p99)], widths: w))
    print("")
}

