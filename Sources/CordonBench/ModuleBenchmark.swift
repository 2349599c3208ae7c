import Cordon
import CordonGeneratedModules
import Foundation
import WasmKit

/// `cordon-bench modules`: cold load → ready by module size, next to in-process WasmKit parse +
/// validate + instantiate of the same bytes with the worker's engine configuration, in the same run;
/// then the memory of two workers holding the largest module.
func runModuleBenchmark(arguments: [String]) async throws {
    let quick = arguments.contains("--quick")
    let sizes: [(label: String, bytes: Int, rounds: Int)] = [
        ("1 KB", 1_000, quick ? 5 : 20), ("450 KB", 450_000, quick ? 3 : 10),
        ("2.3 MB", 2_300_000, quick ? 2 : 6), ("20 MB", 20_000_000, quick ? 1 : 3),
    ]
    print("Cordon module-size benchmark (\(quick ? "quick" : "full") run, \(ProcessInfo.processInfo.activeProcessorCount) cores)")
    print("")
    print("## Cold load → ready by module size (generated: many small functions, export answer() -> 42)")
    print("in-process: parseWasm + Engine(eager, software bounds checks, fuel metering) + instantiate, in this process;")
    print("cordon: Supervisor.load with no warm pool (spawn, confine, stream the module in chunks, parse, instantiate), p50 of the rounds, alternated with in-process")
    let w = [8, 10, 8, 14, 14, 8]
    print(row(["size", "functions", "rounds", "in-process", "cordon cold", "ratio"], widths: w))
    let policy = benchModulePolicy()
    var largest: [UInt8] = []
    for size in sizes {
        let module = GeneratedModule.make(bytes: size.bytes)
        largest = module
        let supervisor = try moduleBenchSupervisor()
        var inProcess = Samples(), cold = Samples()
        let clock = ContinuousClock()
        // One untimed round each: page faults of the first use of the code are not the module's cost.
        try instantiateInProcess(module)
        let warm = try await supervisor.load(manifest: PluginManifest(name: "warmup"), module: module, policy: policy)
        await warm.unload()
        for round in 0..<size.rounds {
            var start = clock.now
            try instantiateInProcess(module)
            inProcess.add(start.duration(to: clock.now))
            start = clock.now
            let handle = try await supervisor.load(manifest: PluginManifest(name: "m\(round)"), module: module, policy: policy)
            cold.add(start.duration(to: clock.now))
            guard try await handle.call("answer") == [.i32(42)] else { throw BenchmarkArgumentError("answer() was not 42") }
            await handle.unload()
        }
        await supervisor.shutdown()
        let functions = max(1, (module.count - 48) / 36)
        print(row([size.label, "\(functions)", "\(size.rounds)", formatTime(inProcess.p50), formatTime(cold.p50),
                   String(format: "%.2f×", cold.p50 / inProcess.p50)], widths: w))
    }
    print("")
    try await moduleMemory(largest, policy: policy)
}

/// The default policy with room for the largest module and no fuel limit on load.
private func benchModulePolicy() -> SandboxPolicy {
    var policy = SandboxPolicy.builtinDefault
    policy.limits.maxWallTimeMillisecondsPerCall = 120_000
    return policy
}

private func moduleBenchSupervisor() throws -> Supervisor {
    var configuration = SupervisorConfiguration()
    configuration.loadTimeout = .seconds(300)
    return try Supervisor(configuration: configuration)
}

/// What the worker does with the module, in this process: the same engine configuration.
private func instantiateInProcess(_ bytes: [UInt8]) throws {
    let engine = Engine(configuration: EngineConfiguration(compilationMode: .eager, memoryBoundsChecking: .software, fuelMetering: true))
    let store = Store(engine: engine)
    store.fuel = Fuel(remaining: 1_000_000_000)
    let instance = try parseWasm(bytes: bytes).instantiate(store: store)
    guard instance.exports[function: "answer"] != nil else { throw BenchmarkArgumentError("no export 'answer'") }
}

/// RSS and PSS of the two workers of one plugin (`workers: 2`) holding `module`, next to a worker
/// holding a 1 KB module, measured in the same run.
private func moduleMemory(_ module: [UInt8], policy: SandboxPolicy) async throws {
    print("## Memory of workers holding the \(module.count / 1_000_000) MB module (/proc/<pid>/smaps_rollup, right after load)")
    let w = [34, 12, 12]
    print(row(["worker", "RSS", "PSS"], widths: w))
    let supervisor = try moduleBenchSupervisor()
    let small = try await supervisor.load(manifest: PluginManifest(name: "small"), module: GeneratedModule.make(bytes: 1_000), policy: policy)
    let large = try await supervisor.load(manifest: PluginManifest(name: "large", workers: 2), module: module, policy: policy)
    func report(_ label: String, _ pid: Int32) {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8)) ?? ""
        print(row([label, "\(kilobytes(text, "Rss:") / 1024) MiB", "\(kilobytes(text, "Pss:") / 1024) MiB"], widths: w))
    }
    if let pid = await small.workerPIDs().first { report("1 KB module (baseline)", pid) }
    for (index, pid) in await large.workerPIDs().enumerated() {
        report(index == 0 ? "20 MB module, first worker" : "20 MB module, second worker", pid)
    }
    // The same module held in this process, for scale: what instantiation adds to our own RSS.
    let before = kilobytes((try? String(contentsOfFile: "/proc/self/smaps_rollup", encoding: .utf8)) ?? "", "Rss:")
    let engine = Engine(configuration: EngineConfiguration(compilationMode: .eager, memoryBoundsChecking: .software, fuelMetering: true))
    let store = Store(engine: engine)
    let instance = try parseWasm(bytes: module).instantiate(store: store)
    let after = kilobytes((try? String(contentsOfFile: "/proc/self/smaps_rollup", encoding: .utf8)) ?? "", "Rss:")
    print(row(["in-process instance (RSS growth)", "\((after - before) / 1024) MiB", "-"], widths: w))
    withExtendedLifetime(instance) {}
    await supervisor.shutdown()
}
