// `cordon-bench soak [--plugins N] [--seconds S] [--seed N] [--rate CALLS_PER_S] [--kill-every SECONDS]
//                    [--load-fault-every SECONDS] [--skip MODE,…]` (--skip drops corrupt-worker modes, e.g. log-stream)
//
// Many plugins under one supervisor for a while, calls at a steady rate, and injected faults:
//   - workers SIGKILLed at random from outside (kill(2) on pids from `PluginHandle.workerPIDs()`);
//   - hostile plugins hitting every limit: fuel loop, memory.grow bomb, wall time with fuel off, host-call
//     flood, huge log, unbounded recursion, an oversized host reply;
//   - protocol garbage from CordonCorruptWorker (second supervisor, one misbehaviour per plugin), and
//     load-time garbage / silence / exits from it;
//   - seccomp violations: the corrupt worker calls socket(2) after confinement (`--violate`, third
//     supervisor, and the `violate` modes).
// At the end it checks and prints: no call hung (each returned within wall limit + load timeout + slack),
// every failure a CordonError of an expected kind, every injected fault in the audit log and the log
// verifies, no zombie or orphaned worker, and the process's fds / threads / RSS back near the baseline.
// Exits non-zero (throws) if a check fails. docs/security.md has the figures of a 10-minute run.
import Cordon
import CordonAudit
import Foundation
import Synchronization
import WAT
#if canImport(Glibc)
import Glibc
#endif

struct SoakFailure: Error, CustomStringConvertible {
    let description: String
}

// MARK: - Options

private struct SoakOptions {
    var plugins = 200
    var seconds = 600.0
    var seed: UInt64 = 1
    var rate = 150.0
    var killEvery = 1.0
    var loadFaultEvery = 3.0
    var skip: Set<String> = []

    init(_ arguments: [String]) throws {
        var i = 0
        func value() throws -> String {
            i += 1
            guard i < arguments.count else { throw SoakFailure(description: "\(arguments[i - 1]) needs a value") }
            return arguments[i]
        }
        func number() throws -> Double {
            let text = try value()
            guard let v = Double(text), v > 0 else { throw SoakFailure(description: "\(arguments[i - 1]): expected a positive number, got \(text)") }
            return v
        }
        while i < arguments.count {
            switch arguments[i] {
            case "--plugins": plugins = max(1, Int(try number()))
            case "--seconds": seconds = try number()
            case "--seed": seed = UInt64(try number())
            case "--rate": rate = try number()
            case "--kill-every": killEvery = try number()
            case "--load-fault-every": loadFaultEvery = try number()
            case "--skip": skip = Set(try value().split(separator: ",").map(String.init))
            default: throw SoakFailure(description: "unknown soak option \(arguments[i])")
            }
            i += 1
        }
    }
}

// MARK: - Plugins

/// What a plugin does when called, and so which failure is the expected one.
private enum SoakKind: Hashable, CustomStringConvertible {
    case normal
    case fuelLoop, growBomb, wallSpin, hostCallFlood, hugeLog, recursion, bigReply
    case corrupt(String)

    var description: String {
        switch self {
        case .normal: "normal"
        case .fuelLoop: "fuel-loop"
        case .growBomb: "memory.grow-bomb"
        case .wallSpin: "wall-time(fuel off)"
        case .hostCallFlood: "host-call-flood"
        case .hugeLog: "huge-log"
        case .recursion: "recursion"
        case .bigReply: "oversized-host-reply"
        case .corrupt(let mode): "corrupt:\(mode)"
        }
    }

    var isHostile: Bool { self != .normal }
    var isCorrupt: Bool { if case .corrupt = self { true } else { false } }

    static let hostile: [SoakKind] = [.fuelLoop, .growBomb, .wallSpin, .hostCallFlood, .hugeLog, .recursion, .bigReply]
    static let corruptModes = ["garbage", "badmagic", "oversize", "tail-back", "tail-huge", "tail-misaligned", "wrong-callid",
                               "wrong-kind", "trailing", "flood", "log-stream", "silent", "exit", "segv", "violate", "honest"]
    static let loadFaults = ["load-garbage", "load-silent", "load-exit", "load-violate", "--violate"]
}

private enum SoakWAT {
    static let add = """
    (module (func (export "run") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
    """
    static let spin = """
    (module (func (export "run") (param i32 i32) (result i32) (loop $l (br $l)) (i32.const 0)))
    """
    static let grow = """
    (module (memory 1)
      (func (export "run") (param i32 i32) (result i32)
        (loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
        unreachable))
    """
    static let flood = """
    (module (import "env" "host_now_ms" (func $now (result i64)))
      (func (export "run") (param i32 i32) (result i32) (loop $l (drop (call $now)) (br $l)) (i32.const 0)))
    """
    /// 200,000 bytes per host_log: fits one channel frame, far above the 64 KiB/s log budget.
    static let hugeLog = """
    (module (import "env" "host_log" (func $log (param i32 i32 i32) (result i32)))
      (memory (export "memory") 4)
      (func (export "run") (param i32 i32) (result i32)
        (drop (call $log (i32.const 2) (i32.const 0) (i32.const 200000)))
        (call $log (i32.const 2) (i32.const 0) (i32.const 200000))))
    """
    static let recursion = """
    (module (func $r (export "run") (param i32 i32) (result i32)
      (call $r (local.get 0) (local.get 1))))
    """
    /// host_random_bytes into a 300,000-byte buffer: allowed by maxHostCallBytes (1 MiB), but the reply
    /// is larger than one channel message (ring / 2 = 256 KiB).
    static let bigReply = """
    (module (import "env" "host_random_bytes" (func $rnd (param i32 i32) (result i32)))
      (memory (export "memory") 8)
      (func (export "run") (param i32 i32) (result i32) (call $rnd (i32.const 0) (i32.const 300000))))
    """
}

/// Deterministic generator for the schedule (seeded by --seed).
private struct SoakRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
}

private final class SoakPlugin: @unchecked Sendable {
    let index: Int
    let kind: SoakKind
    let handle: PluginHandle
    let wall: Duration
    /// Guarded by SoakState's mutex.
    var busy = false
    var nextAllowed = ContinuousClock.now
    init(index: Int, kind: SoakKind, handle: PluginHandle, wall: Duration) {
        self.index = index
        self.kind = kind
        self.handle = handle
        self.wall = wall
    }
}

/// Everything the soak counts, behind one lock.
private struct SoakCounters {
    var calls = 0
    var ok = 0
    var wrongResults = 0
    var outcomes: [String: [String: Int]] = [:]       // kind → outcome label → count
    var unexpected: [String] = []                       // first few unexpected outcomes
    var hung: [String] = []                             // calls past their bound
    var hungByKind: [String: Int] = [:]
    var worstOvershoot: Duration = .seconds(-1000)      // max(duration - wall limit)
    var longestCall: Duration = .zero
    var failuresPerPlugin: [String: Int] = [:]          // plugin id → failed calls with a worker-side cause
    var breachesExpected: [String: Int] = [:]           // plugin id → limitExceeded errors seen
    var killedPIDs: [(plugin: String, pid: Int32)] = []
    var loadFaults: [String: Int] = [:]                 // load fault → injected count
    var loadFaultOutcomes: [String: [String: Int]] = [:]
    var loadsSlowest: Duration = .zero
}

private final class SoakState: Sendable {
    let counters = Mutex(SoakCounters())
    let pluginLock = Mutex(())
}

// MARK: - Process accounting

private struct ProcessSnapshot: CustomStringConvertible {
    var fds: Int
    var threads: Int
    var rssKiB: Int
    static func now() -> ProcessSnapshot {
        let fm = FileManager.default
        let fds = ((try? fm.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count
        let threads = ((try? fm.contentsOfDirectory(atPath: "/proc/self/task")) ?? []).count
        var rss = 0
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
            for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
                rss = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
            }
        }
        return ProcessSnapshot(fds: fds, threads: threads, rssKiB: rss)
    }
    var description: String { "fds \(fds), threads \(threads), RSS \(rssKiB / 1024) MiB" }
}

/// pid, comm, state, ppid and start time (clock ticks after boot) of every process.
private struct ProcEntry {
    var pid: Int32, comm: String, state: String, ppid: Int32, start: UInt64
    static func all() -> [ProcEntry] {
        var out: [ProcEntry] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(name), let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { continue }
            let comm = String(stat[stat.index(after: open)..<close])
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            guard fields.count > 19, let ppid = Int32(fields[1]), let start = UInt64(fields[19]) else { continue }
            out.append(ProcEntry(pid: pid, comm: comm, state: String(fields[0]), ppid: ppid, start: start))
        }
        return out
    }
}

/// Unbuffered line output: progress appears as it happens when stdout is a file (CI logs).
private func say(_ line: String = "") { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

private func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
private func fmt(_ d: Duration) -> String { String(format: "%.3f s", seconds(d)) }

private func outcomeLabel(_ error: CordonError) -> String {
    switch error {
    case .limitExceeded(let limit, _, _, _): "limitExceeded(\(limit.rawValue))"
    case .trapped(_, let kind, _): "trapped(\(kind))"
    case .sandboxViolation(let syscall, _, let by): "sandboxViolation(\(syscall), \(by))"
    case .protocolViolation: "protocolViolation"
    case .workerDied: "workerDied"
    case .unavailable(_, let state): "unavailable(\(state))"
    case .invalidModule(let stage, _): "invalidModule(\(stage))"
    case .timedOut: "timedOut"
    default: String(describing: error).prefix(50).description
    }
}

// MARK: - The soak

func runSoak(arguments: [String]) async throws {
    if arguments.first == "--security-table" { return try await runSecurityTable() }
    let options = try SoakOptions(arguments)
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    let binDir = (exe as NSString).deletingLastPathComponent
    let corruptWorker = ProcessInfo.processInfo.environment["CORDON_CORRUPT_WORKER"] ?? binDir + "/CordonCorruptWorker"
    guard access(corruptWorker, X_OK) == 0 else {
        throw SoakFailure(description: "\(corruptWorker) not found: swift build --product CordonCorruptWorker")
    }
    let me = getpid()
    let myStart = ProcEntry.all().first { $0.pid == me }?.start ?? 0
    let workerComms: Set<String> = ["cordon-worker", "CordonCorruptW"]
    let orphansBefore = Set(ProcEntry.all().filter { workerComms.contains($0.comm) && $0.ppid == 1 }.map(\.pid))

    say("Cordon soak: \(options.plugins) plugins, \(Int(options.seconds)) s, seed \(options.seed), \(Int(options.rate)) calls/s, "
          + "a SIGKILL every \(options.killEvery) s, a load-time fault every \(options.loadFaultEvery) s")

    // One audit log shared by the three supervisors (tenants tell them apart), rotated at 8 MiB.
    let auditDir = NSTemporaryDirectory() + "cordon-soak-\(me)"
    try? FileManager.default.removeItem(atPath: auditDir)
    try FileManager.default.createDirectory(atPath: auditDir, withIntermediateDirectories: true)
    let auditPath = auditDir + "/audit.log"
    let audit = try AuditLog(configuration: AuditLogConfiguration(path: auditPath, rotation: AuditRotation(maxBytes: 8 << 20),
                                                                  hostCallSampling: .deniedOnly))
    let loadTimeout: Duration = .seconds(5)
    func configuration(tenant: String, worker: String?, arguments: [String] = []) -> SupervisorConfiguration {
        var c = SupervisorConfiguration(workerExecutable: worker, tenant: tenant, auditLog: audit, warmPoolSize: 2,
                                        loadTimeout: loadTimeout)
        c.workerArguments = arguments
        c.passWorkerStderr = ProcessInfo.processInfo.environment["CORDON_WORKER_STDERR"] != nil
        return c
    }
    var main: Supervisor? = try Supervisor(configuration: configuration(tenant: "soak", worker: nil))
    var corrupt: Supervisor? = try Supervisor(configuration: configuration(tenant: "soak-corrupt", worker: corruptWorker))
    var violating: Supervisor? = try Supervisor(configuration: configuration(tenant: "soak-violate", worker: corruptWorker,
                                                                             arguments: ["--violate"]))

    // One policy for every load (one warm pool per supervisor); limits per kind are small, so each bomb
    // goes off quickly.
    let policy: SandboxPolicy = {
        var p = SandboxPolicy.builtinDefault
        p.wasm.maxFuelPerCall = 20_000_000
        p.wasm.maxMemoryPages = 64
        p.limits.maxWallTimeMillisecondsPerCall = 2000
        return p
    }()
    func limits(_ kind: SoakKind) -> (SandboxPolicy, ResourceLimits) {
        var l = ResourceLimits(policy: policy)
        switch kind {
        case .fuelLoop: l.maxFuelPerCall = 5_000_000
        case .growBomb: l.maxMemoryPages = 64
        case .wallSpin: l.maxFuelPerCall = 0; l.maxWallTimePerCall = .milliseconds(300)
        case .hostCallFlood: l.maxHostCallsPerCall = 100
        case .corrupt: l.maxWallTimePerCall = .milliseconds(1000)
        default: break
        }
        return (policy, l)
    }
    let restart = RestartPolicy(mode: .always, intensity: 1_000_000, period: .seconds(60), initialBackoff: .milliseconds(10),
                                maximumBackoff: .milliseconds(200), jitter: 0.2, healthyAfter: .seconds(5))
    let modules: [String: [UInt8]] = try [
        "add": wat2wasm(SoakWAT.add), "spin": wat2wasm(SoakWAT.spin), "grow": wat2wasm(SoakWAT.grow),
        "flood": wat2wasm(SoakWAT.flood), "hugeLog": wat2wasm(SoakWAT.hugeLog), "recursion": wat2wasm(SoakWAT.recursion),
        "bigReply": wat2wasm(SoakWAT.bigReply),
    ]
    func module(_ kind: SoakKind) -> [UInt8] {
        switch kind {
        case .normal: modules["add"]!
        case .fuelLoop, .wallSpin: modules["spin"]!
        case .growBomb: modules["grow"]!
        case .hostCallFlood: modules["flood"]!
        case .hugeLog: modules["hugeLog"]!
        case .recursion: modules["recursion"]!
        case .bigReply: modules["bigReply"]!
        case .corrupt(let mode): Array("cordon-corrupt:\(mode)".utf8)
        }
    }

    // Warm-up (thread pool, reactor, caches exist), then the baseline.
    for supervisor in [main!, corrupt!] {
        let isMain = supervisor === main!
        let warm = try await supervisor.load(manifest: PluginManifest(name: "warmup"),
                                             module: isMain ? modules["add"]! : Array("cordon-corrupt:honest".utf8), policy: policy)
        let arguments: [WasmValue] = isMain ? [.i32(1), .i32(2)] : []
        _ = try await warm.call("run", arguments)
        await warm.unload()
    }
    try await Task.sleep(for: .milliseconds(500))
    let baseline = ProcessSnapshot.now()
    say("baseline (3 supervisors, warm pools, no plugins): \(baseline)")

    // Load the plugins: hostile kinds and corrupt modes first, the rest normal.
    var kinds: [SoakKind] = []
    let special = SoakKind.hostile + SoakKind.hostile
        + SoakKind.corruptModes.filter { !options.skip.contains($0) }.map { SoakKind.corrupt($0) }
    for i in 0..<options.plugins { kinds.append(i < special.count && options.plugins >= 4 * special.count / 3 ? special[i] : .normal) }
    if options.plugins < 4 * special.count / 3 {
        // Small runs: keep roughly one hostile or corrupt plugin in four.
        for i in stride(from: 0, to: options.plugins, by: 4) { kinds[i] = special[(i / 4) % special.count] }
    }
    let loadStart = ContinuousClock.now
    var plugins: [SoakPlugin] = []
    for (index, kind) in kinds.enumerated() {
        let (policy, l) = limits(kind)
        var manifest = PluginManifest(name: "soak-\(index)-\(kind)")
        manifest.capabilities = [.timer, .random]
        let supervisor = kind.isCorrupt ? corrupt! : main!
        let handle = try await supervisor.load(manifest: manifest, module: module(kind), policy: policy, limits: l, restart: restart)
        plugins.append(SoakPlugin(index: index, kind: kind, handle: handle, wall: l.maxWallTimePerCall))
    }
    say("loaded \(plugins.count) plugins in \(fmt(loadStart.duration(to: .now))) "
          + "(\(kinds.filter { !$0.isHostile }.count) normal, \(kinds.filter { $0.isHostile && !$0.isCorrupt }.count) hostile, "
          + "\(kinds.filter(\.isCorrupt).count) corrupt-worker); after load: \(ProcessSnapshot.now())")

    let state = SoakState()
    let slack: Duration = .seconds(3)
    let knownIDs = Set(plugins.map(\.handle.id))

    @Sendable func callOnce(_ plugin: SoakPlugin) async {
        let a = UInt32(plugin.index), b: UInt32 = 7
        let start = ContinuousClock.now
        var label = "ok"
        var failed: CordonError?
        do throws(CordonError) {
            let result = try await plugin.handle.call("run", plugin.kind.isCorrupt ? [] : [.i32(a), .i32(b)])
            if plugin.kind == .normal, result != [.i32(a &+ b)] { label = "WRONG RESULT \(result)" }
        } catch {
            failed = error
            label = outcomeLabel(error)
        }
        let elapsed = start.duration(to: .now)
        // A call may first wait for its worker to (re)load: load timeout + wall limit + slack bounds it.
        let bound = plugin.wall + loadTimeout + slack
        state.counters.withLock { c in
            c.calls += 1
            if failed == nil && !label.hasPrefix("WRONG") { c.ok += 1 }
            if label.hasPrefix("WRONG") { c.wrongResults += 1 }
            c.outcomes[plugin.kind.description, default: [:]][label, default: 0] += 1
            c.longestCall = max(c.longestCall, elapsed)
            c.worstOvershoot = max(c.worstOvershoot, elapsed - plugin.wall)
            if elapsed > bound {
                c.hung.append("\(plugin.kind) #\(plugin.index): \(fmt(elapsed)) > \(fmt(bound))")
                c.hungByKind[plugin.kind.description, default: 0] += 1
            }
            if let failed {
                var expected: Bool
                switch (plugin.kind, failed) {
                case (_, .unavailable), (_, .workerDied): expected = true      // our SIGKILLs, restarts in progress
                case (.normal, _): expected = false
                case (.corrupt, .protocolViolation), (.corrupt, .sandboxViolation), (.corrupt, .limitExceeded),
                     (.corrupt, .timedOut): expected = true
                case (.corrupt, _): expected = false
                case (_, .limitExceeded), (_, .trapped), (_, .protocolViolation), (_, .sandboxViolation): expected = true
                default: expected = false
                }
                if !expected, c.unexpected.count < 20 { c.unexpected.append("\(plugin.kind) #\(plugin.index): \(failed)") }
                switch failed {
                case .limitExceeded: c.breachesExpected[plugin.handle.id, default: 0] += 1
                case .protocolViolation, .sandboxViolation: c.failuresPerPlugin[plugin.handle.id, default: 0] += 1
                default: break
                }
            }
        }
        state.pluginLock.withLock { _ in
            plugin.busy = false
            // Hostile and corrupt plugins cost a worker (re)start per call: at most one call per 2 s each.
            plugin.nextAllowed = .now + (plugin.kind.isHostile ? .seconds(2) : .zero)
        }
    }

    var rng = SoakRandom(state: options.seed)
    let start = ContinuousClock.now
    let end = start + .seconds(options.seconds)
    var issued = 0
    var nextKill = start + .seconds(options.killEvery)
    var nextLoadFault = start + .seconds(options.loadFaultEvery)
    var loadFaultIndex = 0
    var nextReport = start + .seconds(60)
    let normals = plugins.filter { $0.kind == .normal }
    var calls: [Task<Void, Never>] = []
    var loadFaultTasks: [Task<Void, Never>] = []

    while ContinuousClock.now < end {
        let now = ContinuousClock.now
        // Calls at a steady rate: catch up to rate × elapsed.
        let due = Int(options.rate * seconds(start.duration(to: now))) - issued
        var attempts = 0
        while issued < Int(options.rate * seconds(start.duration(to: now))), attempts < due * 4 + 8 {
            attempts += 1
            let plugin = plugins[rng.below(plugins.count)]
            let take = state.pluginLock.withLock { _ -> Bool in
                guard !plugin.busy, plugin.nextAllowed <= now else { return false }
                plugin.busy = true
                return true
            }
            guard take else { continue }
            issued += 1
            calls.append(Task { await callOnce(plugin) })
        }
        if calls.count > 4096 { calls.removeFirst(2048) }  // finished tasks need no handle; keep the tail to await

        // SIGKILL a random normal plugin's worker from outside.
        if now >= nextKill, !normals.isEmpty {
            nextKill = now + .seconds(options.killEvery)
            let victim = normals[rng.below(normals.count)]
            if let pid = await victim.handle.workerPIDs().first, kill(pid, SIGKILL) == 0 {
                state.counters.withLock { $0.killedPIDs.append((victim.handle.id, pid)) }
            }
        }

        // A load-time fault: garbage / silence / exit / violation instead of "loaded".
        if now >= nextLoadFault {
            nextLoadFault = now + .seconds(options.loadFaultEvery)
            let fault = SoakKind.loadFaults[loadFaultIndex % SoakKind.loadFaults.count]
            let faultNumber = loadFaultIndex
            loadFaultIndex += 1
            let supervisor = fault == "--violate" ? violating! : corrupt!
            let bytes = fault == "--violate" ? modules["add"]! : Array("cordon-corrupt:\(fault)".utf8)
            loadFaultTasks.append(Task {
                let t0 = ContinuousClock.now
                var label: String
                do throws(CordonError) {
                    let h = try await supervisor.load(manifest: PluginManifest(name: "loadfault-\(faultNumber)"), module: bytes,
                                                      policy: policy, restart: RestartPolicy(mode: .never))
                    label = "LOADED (unexpected)"
                    await h.unload()
                } catch {
                    label = outcomeLabel(error)
                }
                let elapsed = t0.duration(to: .now)
                state.counters.withLock { c in
                    c.loadFaults[fault, default: 0] += 1
                    c.loadFaultOutcomes[fault, default: [:]][label, default: 0] += 1
                    c.loadsSlowest = max(c.loadsSlowest, elapsed)
                    // A failing load may first wait for a pooled worker to be spawned and confined.
                    if elapsed > loadTimeout + slack * 2 {
                        c.hung.append("load \(fault): \(fmt(elapsed))")
                        c.hungByKind["load \(fault)", default: 0] += 1
                    }
                }
            })
        }

        if now >= nextReport {
            nextReport = now + .seconds(60)
            let c = state.counters.withLock { $0 }
            say("  t=\(Int(seconds(start.duration(to: now)))) s: \(c.calls) calls (\(c.ok) ok), \(c.killedPIDs.count) SIGKILLs, "
                  + "\(c.loadFaults.values.reduce(0, +)) load faults, \(ProcessSnapshot.now())")
        }
        try await Task.sleep(for: .milliseconds(10))
    }

    // Drain: every call and load must come back (each is bounded; a stuck one shows as a hang here).
    let drainStart = ContinuousClock.now
    for task in calls { await task.value }
    for task in loadFaultTasks { await task.value }
    let drained = drainStart.duration(to: .now)
    let elapsedTotal = start.duration(to: .now)

    // Unload everything, let the reactor reap, then measure.
    for plugin in plugins { await plugin.handle.unload() }
    plugins.removeAll()
    var after = ProcessSnapshot.now()
    for _ in 0..<50 where after.fds > baseline.fds || after.threads > baseline.threads {
        try await Task.sleep(for: .milliseconds(100))
        after = ProcessSnapshot.now()
    }
    let statsMain = await main!.stats(), statsCorrupt = await corrupt!.stats()
    await main!.shutdown()
    await corrupt!.shutdown()
    await violating!.shutdown()
    main = nil
    corrupt = nil
    violating = nil
    try await Task.sleep(for: .milliseconds(500))
    let afterShutdown = ProcessSnapshot.now()
    try audit.close()

    // Zombies and orphans: children of ours after shutdown, and workers started after us whose parent is gone.
    let procs = ProcEntry.all()
    let pids = Set(procs.map(\.pid))
    let zombies = procs.filter { $0.ppid == me && $0.state == "Z" }
    let leftoverChildren = procs.filter { $0.ppid == me }
    let orphans = procs.filter {
        workerComms.contains($0.comm) && $0.start >= myStart && !orphansBefore.contains($0.pid) && ($0.ppid == 1 || !pids.contains($0.ppid))
    }

    // The audit log: verify the rotated set, then find every injected fault in it.
    let names = (try? FileManager.default.contentsOfDirectory(atPath: auditDir)) ?? []
    let files = names.filter { $0 == "audit.log" || ($0.hasPrefix("audit.log.") && !$0.hasSuffix(".head") && !$0.contains("torn")) }
        .map { auditDir + "/" + $0 }
    let verdict = AuditVerifier.verify(files: files, head: AuditHead.path(forLog: auditPath))
    var records: [[String: Any]] = []
    for file in files {
        guard let data = FileManager.default.contents(atPath: file) else { continue }
        for line in data.split(separator: 0x0A) {
            if let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] { records.append(object) }
        }
    }
    var byType: [String: Int] = [:]
    var exitsByPID = Set<Int32>()
    var perPlugin: [String: [String: Int]] = [:]
    var unknownPluginByTenant: [String: [String: Int]] = [:]
    for r in records {
        let type = r["type"] as? String ?? "?"
        byType[type, default: 0] += 1
        if type == "worker.exit" || type == "worker.kill", let pid = (r["worker"] as? NSNumber)?.int32Value { exitsByPID.insert(pid) }
        if let plugin = r["plugin"] as? String {
            if knownIDs.contains(plugin) {
                perPlugin[plugin, default: [:]][type, default: 0] += 1
            } else {
                unknownPluginByTenant[r["tenant"] as? String ?? "?", default: [:]][type, default: 0] += 1
            }
        }
    }
    let c = state.counters.withLock { $0 }
    var problems: [String] = []

    let killsMissing = c.killedPIDs.filter { !exitsByPID.contains($0.pid) }
    if !killsMissing.isEmpty { problems.append("\(killsMissing.count) external SIGKILLs without a worker.exit/kill record, e.g. pid \(killsMissing[0].pid)") }
    var breachMissing = 0, breachChecked = 0
    for (plugin, n) in c.breachesExpected where n > 0 {
        breachChecked += 1
        if (perPlugin[plugin]?["limit.breach"] ?? 0) < 1 { breachMissing += 1 }
    }
    if breachMissing > 0 { problems.append("\(breachMissing) of \(breachChecked) plugins with limitExceeded errors have no limit.breach record") }
    var violationsMissing = 0
    for (plugin, n) in c.failuresPerPlugin {
        let audited = (perPlugin[plugin]?["protocol.violation"] ?? 0) + (perPlugin[plugin]?["seccomp.violation"] ?? 0)
        if audited < n { violationsMissing += n - audited }
    }
    if violationsMissing > 0 { problems.append("\(violationsMissing) protocol/sandbox violations reported to callers but not audited") }
    // Load-time faults: the error each failed load returned names the record that must exist (a fault can be
    // pre-empted: e.g. the load timer fires before the garbage frame is read — then a worker.kill is due).
    let corruptLoads = unknownPluginByTenant["soak-corrupt"] ?? [:]
    let violateLoads = unknownPluginByTenant["soak-violate"] ?? [:]
    var expectedLoadRecords: [String: [String: Int]] = ["soak-corrupt": [:], "soak-violate": [:]]
    for (fault, outcomes) in c.loadFaultOutcomes {
        let tenant = fault == "--violate" ? "soak-violate" : "soak-corrupt"
        for (label, n) in outcomes {
            let type = label.hasPrefix("protocolViolation") ? "protocol.violation"
                : label.hasPrefix("sandboxViolation") ? "seccomp.violation"
                : label.hasPrefix("workerDied") ? "worker.exit" : "worker.kill"
            expectedLoadRecords[tenant]![type, default: 0] += n
        }
    }
    var loadChecks: [(String, Int, Int)] = []
    for (tenant, types) in expectedLoadRecords.sorted(by: { $0.key < $1.key }) {
        for (type, n) in types.sorted(by: { $0.key < $1.key }) {
            let audited = (tenant == "soak-violate" ? violateLoads : corruptLoads)[type] ?? 0
            loadChecks.append(("failed loads (\(tenant)) needing \(type)", n, audited))
        }
    }
    for (what, injected, audited) in loadChecks where audited < injected {
        problems.append("\(what): \(injected) expected, \(audited) audited")
    }
    if !verdict.isOK { problems.append("audit log does not verify: \(verdict.summaryLine())") }
    if !c.hung.isEmpty { problems.append("\(c.hung.count) calls/loads past their bound, e.g. \(c.hung[0])") }
    if !c.unexpected.isEmpty { problems.append("\(c.unexpected.count)+ unexpected failures, e.g. \(c.unexpected[0])") }
    if c.wrongResults > 0 { problems.append("\(c.wrongResults) wrong results from normal plugins") }
    if !zombies.isEmpty || !leftoverChildren.isEmpty { problems.append("\(leftoverChildren.count) children left (\(zombies.count) zombies)") }
    if !orphans.isEmpty { problems.append("\(orphans.count) orphaned workers, e.g. pid \(orphans[0].pid)") }
    if after.fds > baseline.fds { problems.append("fds \(baseline.fds) → \(after.fds) after unloading everything") }
    if after.threads > baseline.threads + 2 { problems.append("threads \(baseline.threads) → \(after.threads)") }
    if after.rssKiB > baseline.rssKiB + 64 * 1024 { problems.append("RSS grew by \((after.rssKiB - baseline.rssKiB) / 1024) MiB") }

    // Report.
    say("")
    say("ran \(fmt(elapsedTotal)) (drain \(fmt(drained))): \(c.calls) calls, \(c.ok) ok, \(c.killedPIDs.count) external SIGKILLs, "
          + "\(c.loadFaults.values.reduce(0, +)) load-time faults")
    say("longest call \(fmt(c.longestCall)); worst (duration − wall limit) \(fmt(c.worstOvershoot)); slowest failing load \(fmt(c.loadsSlowest)); "
          + "hung: \(c.hung.count)")
    if !c.hungByKind.isEmpty {
        say("past their bound, by kind: " + c.hungByKind.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
    }
    say("outcomes by plugin kind:")
    for (kind, outcomes) in c.outcomes.sorted(by: { $0.key < $1.key }) {
        say("  \(kind): " + outcomes.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
    }
    say("load-time faults:")
    for (fault, outcomes) in c.loadFaultOutcomes.sorted(by: { $0.key < $1.key }) {
        say("  \(fault): " + outcomes.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
    }
    say("audit: \(records.count) records in \(files.count) file(s), verify: \(verdict.summaryLine())")
    say("  by type: " + byType.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    say("  SIGKILLs with a worker.exit/kill record: \(c.killedPIDs.count - killsMissing.count)/\(c.killedPIDs.count); "
          + "plugins with limitExceeded and a limit.breach record: \(breachChecked - breachMissing)/\(breachChecked); "
          + "violations reported and audited: \(c.failuresPerPlugin.values.reduce(0, +) - violationsMissing)/\(c.failuresPerPlugin.values.reduce(0, +))")
    for (what, injected, audited) in loadChecks { say("  \(what): \(injected), audited \(audited)") }
    say("supervisor stats before shutdown: main \(statsMain), corrupt \(statsCorrupt)")
    say("process: baseline \(baseline) | after unloading all \(after) | after shutdown \(afterShutdown)")
    say("children left: \(leftoverChildren.count), zombies: \(zombies.count), orphaned workers: \(orphans.count)")
    if problems.isEmpty {
        say("SOAK PASSED")
        try? FileManager.default.removeItem(atPath: auditDir)
    } else {
        say("SOAK FAILED (audit log kept in \(auditDir)):")
        for p in problems { say("  - \(p)") }
        throw SoakFailure(description: "\(problems.count) check(s) failed")
    }
}

// MARK: - `cordon-bench soak --security-table`

/// The escape catalogue of Tests/CordonPolicyTests/EscapeTests.swift, replayed through a REAL supervisor
/// in the shipped default mode (SCMP_ACT_NOTIFY): CordonCorruptWorker confines itself, then makes the raw
/// syscall (`--violate=NAME,args`). Arguments make conditionally allowed calls forbidden (PROT_EXEC,
/// stdout, FUTEX_REQUEUE); pointers are NULL because seccomp decides before the kernel reads them.
private let escapeReplays: [(attempt: String, syscall: String, args: [Int])] = [
    ("socket", "socket", [2, 1, 0]), ("connect", "connect", [3, 0, 16]), ("open-etc-passwd", "openat", [-100, 0, 0]),
    ("execve", "execve", []), ("fork", "fork", []), ("clone", "clone", [17]), ("clone3", "clone3", [0, 88]),
    ("ptrace", "ptrace", [16, 1]), ("kill-parent", "kill", [1, 9]), ("setuid0", "setuid", [0]), ("mount", "mount", []),
    ("unshare", "unshare", [0x1000_0000]), ("bpf", "bpf", [0]), ("perf_event_open", "perf_event_open", []),
    ("io_uring_setup", "io_uring_setup", [8]), ("userfaultfd", "userfaultfd", [0]), ("keyctl", "keyctl", [0]),
    ("process_vm_readv", "process_vm_readv", [1]), ("mmap-exec", "mmap", [0, 4096, 5, 34, -1, 0]),
    ("mprotect-exec", "mprotect", [0, 4096, 5]), ("memfd_create", "memfd_create", [0, 0]), ("chdir-open", "chdir", [0]),
    ("setrlimit-raise", "setrlimit", [7, 0]), ("capset", "capset", []), ("prctl", "prctl", [4, 1]),
    ("ioctl-tiocsti", "ioctl", [0, 0x5412, 0]), ("reboot", "reboot", [0xFEE1_DEAD, 672_274_793, 0x89AB_CDEF]),
    ("write-stdout", "write", [1, 0, 1]), ("futex-requeue", "futex", [0, 3, 1, 1, 0]), ("chroot", "chroot", [0]),
    ("open-by-handle", "open_by_handle_at", [0, 0, 0]), ("pidfd_open", "pidfd_open", [1, 0]), ("setns", "setns", [0, 0]),
    ("madvise-mergeable", "madvise", [0, 4096, 12]), ("mremap-fixed", "mremap", [0, 4096, 4096, 3, 0]),
]

/// The layer a supervisor-reported failure points at.
private func stoppingLayer(_ error: CordonError) -> String {
    switch error {
    case .sandboxViolation(_, _, let by): "seccomp filter (kernel), reported by \(by)"
    case .limitExceeded(let limit, _, _, _):
        switch limit {
        case .fuel: "fuel metering (WasmKit, in the worker)"
        case .memory, .table: "growth limiter (WasmKit, in the worker)"
        case .wallTime: "supervisor wall-clock timer (SIGKILL)"
        case .cpuTime: "RLIMIT_CPU (kernel)"
        case .reentryDepth: "re-entry depth (worker)"
        case .messageBytes: "supervisor, before the call is sent"
        default: "supervisor host-call accounting"
        }
    case .trapped(_, let kind, _): "interpreter trap (\(kind)), worker stays healthy"
    case .protocolViolation: "supervisor channel validation (worker killed)"
    case .workerDied: "worker crash contained (process boundary)"
    case .timedOut: "supervisor load timer (worker killed)"
    default: "—"
    }
}

/// One call of a bomb: what the caller got, and the layer that stopped it.
private func callBomb(_ h: PluginHandle, bytesInput: Bool, corrupt: Bool) async -> (String, String) {
    do throws(CordonError) {
        if bytesInput {
            let r = try await h.call("run", bytes: [UInt8](repeating: 1, count: 4096))
            return ("returned \(r.count) bytes", "—")
        }
        let r = try await h.call("run", corrupt ? [] : [.i32(1), .i32(2)])
        return ("call returned \(r): the host function answered with an ABI error code", "supervisor host-call checks (the guest sees the code)")
    } catch {
        return ("\(error)", stoppingLayer(error))
    }
}

private func runSecurityTable() async throws {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    let corruptWorker = ProcessInfo.processInfo.environment["CORDON_CORRUPT_WORKER"]
        ?? (exe as NSString).deletingLastPathComponent + "/CordonCorruptWorker"
    let dir = NSTemporaryDirectory() + "cordon-table-\(getpid())"
    try? FileManager.default.removeItem(atPath: dir)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let audit = try AuditLog(configuration: AuditLogConfiguration(path: dir + "/audit.log", durability: .fsyncEachRecord,
                                                                  rotation: .never, hostCallSampling: .deniedOnly))
    /// Audit record types appended since `from` for `tenant`.
    func auditTypes(tenant: String, after seq: UInt64) -> String {
        guard let data = FileManager.default.contents(atPath: dir + "/audit.log") else { return "?" }
        var types: [String] = []
        for line in data.split(separator: 0x0A) {
            guard let r = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                  (r["seq"] as? NSNumber)?.uint64Value ?? 0 > seq, r["tenant"] as? String == tenant,
                  let type = r["type"] as? String, !["worker.spawn", "plugin.load", "plugin.unload", "worker.exit"].contains(type)
            else { continue }
            if !types.contains(type) { types.append(type) }
        }
        return types.isEmpty ? "—" : types.joined(separator: ", ")
    }
    func row(_ fields: [String]) { say((["TABLE"] + fields).map { $0.replacingOccurrences(of: "\t", with: " ") }.joined(separator: "\t")) }
    let add = try wat2wasm(SoakWAT.add)

    // 1. Escapes through the real supervisor.
    for replay in escapeReplays {
        var c = SupervisorConfiguration(workerExecutable: corruptWorker, tenant: "escape-\(replay.attempt)", auditLog: audit,
                                        loadTimeout: .seconds(5))
        c.workerArguments = ["--violate=" + ([replay.syscall] + replay.args.map(String.init)).joined(separator: ",")]
        let supervisor = try Supervisor(configuration: c)
        let seq = audit.lastSequence
        var reported: String
        var layer = "—"
        do throws(CordonError) {
            let h = try await supervisor.load(manifest: PluginManifest(name: "escape"), module: add, restart: RestartPolicy(mode: .never))
            reported = "LOADED: the syscall was not stopped"
            await h.unload()
        } catch {
            reported = "\(error)"
            layer = stoppingLayer(error)
        }
        await supervisor.shutdown()
        row(["escape", replay.attempt, replay.syscall, layer, reported, auditTypes(tenant: "escape-\(replay.attempt)", after: seq)])
    }

    // 2. Resource bombs and protocol attacks.
    let policy = SandboxPolicy.builtinDefault
    var base = ResourceLimits(policy: policy)
    base.maxFuelPerCall = 20_000_000
    base.maxMemoryPages = 64
    base.maxWallTimePerCall = .seconds(2)
    let tableWAT = """
    (module (table 1 funcref)
      (func (export "run") (param i32 i32) (result i32)
        (loop $l (br_if $l (i32.ne (table.grow (ref.null func) (i32.const 1000)) (i32.const -1))))
        unreachable))
    """
    let rateWAT = """
    (module (import "env" "host_now_ms" (func $now (result i64)))
      (func (export "run") (param i32 i32) (result i32)
        (local $i i32)
        (loop $l (drop (call $now)) (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 500))))
        (i32.const 0)))
    """
    let bytesWAT = """
    (module (memory (export "memory") 1)
      (func (export "run") (param i32 i32) (result i64) (i64.const 0)))
    """
    let bigLogWAT = """
    (module (import "env" "host_log" (func $log (param i32 i32 i32) (result i32)))
      (memory (export "memory") 4)
      (func (export "run") (param i32 i32) (result i32) (call $log (i32.const 2) (i32.const 0) (i32.const 150000))))
    """
    let bombs: [(name: String, wat: String?, corruptMode: String?, tweak: (inout ResourceLimits) -> Void)] = [
        ("fuel loop", SoakWAT.spin, nil, { $0.maxFuelPerCall = 5_000_000 }),
        ("memory.grow bomb", SoakWAT.grow, nil, { _ in }),
        ("table.grow bomb", tableWAT, nil, { $0.maxTableElements = 10_000 }),
        ("infinite loop, fuel off (wall time)", SoakWAT.spin, nil, { $0.maxFuelPerCall = 0; $0.maxWallTimePerCall = .milliseconds(300) }),
        ("CPU burn, fuel off (RLIMIT_CPU 1 s)", SoakWAT.spin, nil, { $0.maxFuelPerCall = 0; $0.maxWallTimePerCall = .seconds(15); $0.maxCPUSecondsPerWorker = 1 }),
        ("unbounded recursion", SoakWAT.recursion, nil, { _ in }),
        ("host-call flood (per call)", SoakWAT.flood, nil, { $0.maxHostCallsPerCall = 100 }),
        ("host-call flood (rate)", rateWAT, nil, { $0.maxHostCallsPerSecond = 50; $0.maxHostCallsPerCall = 100_000 }),
        ("huge log (200 KB × 2)", SoakWAT.hugeLog, nil, { _ in }),
        ("oversized host-call input", bigLogWAT, nil, { $0.maxHostCallBytes = 100_000; $0.maxLogBytesPerSecond = 10_000_000 }),
        ("host reply larger than a channel message", SoakWAT.bigReply, nil, { _ in }),
        ("call input larger than maxMessageBytes", bytesWAT, nil, { $0.maxMessageBytes = 1024 }),
    ] + SoakKind.corruptModes.filter { $0 != "honest" }.map { mode in
        ("corrupt worker: \(mode)", nil, mode, { (l: inout ResourceLimits) in l.maxWallTimePerCall = .seconds(1) })
    }
    var real = SupervisorConfiguration(tenant: "bombs", auditLog: audit, loadTimeout: .seconds(5))
    real.passWorkerStderr = false
    let supervisor = try Supervisor(configuration: real)
    var corruptConfiguration = SupervisorConfiguration(workerExecutable: corruptWorker, tenant: "bombs", auditLog: audit,
                                                       loadTimeout: .seconds(5))
    corruptConfiguration.passWorkerStderr = false
    let corrupt = try Supervisor(configuration: corruptConfiguration)
    // A bystander plugin on each supervisor, called every 20 ms during each bomb: its worst latency shows
    // whether the bomb delays OTHER plugins (one reactor thread serves them all).
    let bystander = try await supervisor.load(manifest: PluginManifest(name: "bystander"), module: add, policy: policy, limits: base)
    let corruptBystander = try await corrupt.load(manifest: PluginManifest(name: "bystander"),
                                                  module: Array("cordon-corrupt:honest".utf8), policy: policy, limits: base)
    for bomb in bombs {
        let watching = Mutex((running: true, worst: Duration.zero))
        let victim = bomb.corruptMode == nil ? bystander : corruptBystander
        let arguments: [WasmValue] = bomb.corruptMode == nil ? [.i32(1), .i32(2)] : []
        let watcher = Task {
            while watching.withLock({ $0.running }) {
                let t = ContinuousClock.now
                _ = try? await victim.call("run", arguments)
                let d = t.duration(to: .now)
                watching.withLock { $0.worst = max($0.worst, d) }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        var l = base
        bomb.tweak(&l)
        let module = try bomb.corruptMode.map { Array("cordon-corrupt:\($0)".utf8) } ?? wat2wasm(bomb.wat!)
        let seq = audit.lastSequence
        var reported: String
        var layer = "—"
        let t0 = ContinuousClock.now
        do throws(CordonError) {
            let h = try await (bomb.corruptMode == nil ? supervisor : corrupt).load(
                manifest: PluginManifest(name: "bomb", capabilities: [.timer, .random]), module: module, policy: policy,
                limits: l, restart: RestartPolicy(mode: .never))
            (reported, layer) = await callBomb(h, bytesInput: bomb.name.hasPrefix("call input"), corrupt: bomb.corruptMode != nil)
            await h.unload()
        } catch {
            reported = "load failed: \(error)"
            layer = stoppingLayer(error)
        }
        let elapsed = t0.duration(to: .now)
        watching.withLock { $0.running = false }
        await watcher.value
        let worst = watching.withLock { $0.worst }
        row(["bomb", bomb.name, layer, reported, auditTypes(tenant: "bombs", after: seq), fmt(elapsed), fmt(worst)])
    }
    await bystander.unload()
    await corruptBystander.unload()
    await supervisor.shutdown()
    await corrupt.shutdown()
    try audit.close()
}
