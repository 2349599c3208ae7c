// libFuzzer target: module bytes a tenant uploads, loaded into a REAL confined worker by a REAL
// Supervisor running in this (ASan-instrumented) process. Containment is the property:
//   - a crash or hang of the WORKER is fine (it must surface as a typed CordonError);
//   - the SUPERVISOR must return from `load` (and from calls to whatever exports the module has) within
//     its bound — load timeout + slack — never crash, never leak fds or children.
// The worker binary is the ordinary, uninstrumented cordon-worker (CORDON_WORKER, set by run.sh).
// Every 100 inputs the harness checks that open fds and child processes are back near their baseline.
@testable import Cordon
import CordonChannel
import Foundation
#if canImport(Glibc)
import Glibc
#endif

let loadTimeout: Duration = .seconds(2)
let wallPerCall: Duration = .milliseconds(300)
/// Load + up to three calls + unload; anything beyond this bound is a supervisor hang.
let bound: Duration = loadTimeout + wallPerCall * 3 + .seconds(8)

let supervisor: Supervisor = {
    var configuration = SupervisorConfiguration()
    configuration.workerExecutable = ProcessInfo.processInfo.environment["CORDON_WORKER"]
    configuration.loadTimeout = loadTimeout
    configuration.warmPoolSize = 2
    configuration.passWorkerStderr = ProcessInfo.processInfo.environment["CORDON_WORKER_STDERR"] != nil
    do { return try Supervisor(configuration: configuration) } catch { fatalError("supervisor: \(error)") }
}()

let policy: SandboxPolicy = {
    var p = SandboxPolicy.builtinDefault
    p.wasm.maxFuelPerCall = 2_000_000
    p.wasm.maxMemoryPages = 256
    p.limits.maxWallTimeMillisecondsPerCall = 300
    return p
}()

final class Stats: @unchecked Sendable {
    var execs = 0
    var loaded = 0
    var outcomes: [String: Int] = [:]
    var slowest: Duration = .zero
    var baselineFDs = -1
}
let stats = Stats()

func fdCount() -> Int { ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count }

/// Children of this process (any state) and how many of them are zombies.
func children() -> (all: Int, zombies: Int) {
    let me = getpid()
    var all = 0, zombies = 0
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where entry.first?.isNumber == true {
        guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { continue }
        let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        guard fields.count > 2, Int32(fields[1]) == me else { continue }
        all += 1
        if fields[0] == "Z" { zombies += 1 }
    }
    return (all, zombies)
}

func label(_ error: CordonError) -> String {
    switch error {
    case .invalidModule(let stage, _): "invalidModule(\(stage))"
    case .limitExceeded(let limit, _, _, _): "limitExceeded(\(limit.rawValue))"
    case .trapped(_, let kind, _): "trapped(\(kind))"
    default: String("\(error)".prefix(60))
    }
}

func zeros(_ types: [WasmType]) -> [WasmValue] {
    types.map { t -> WasmValue in
        switch t {
        case .i32: .i32(0)
        case .i64: .i64(0)
        case .f32: .f32(0)
        case .f64: .f64(0)
        }
    }
}

func runOne(_ module: [UInt8]) async -> String {
    do throws(CordonError) {
        let handle = try await supervisor.load(manifest: PluginManifest(name: "fuzz"), module: module, policy: policy,
                                               restart: RestartPolicy(mode: .never))
        stats.loaded += 1
        var outcome = "loaded"
        for export in await handle.exports().prefix(3) {
            do throws(CordonError) {
                _ = try await handle.call(export.name, zeros(export.parameters))
            } catch {
                outcome = "loaded+call:" + label(error)
            }
        }
        await handle.unload()
        return outcome
    } catch {
        switch error {
        case .spawnFailed, .confinementFailed, .shuttingDown, .audit:
            fatalError("module bytes broke the supervisor itself: \(error)")
        default:
            return label(error)
        }
    }
}

final class Box: @unchecked Sendable { var value = "" }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let module = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    if stats.baselineFDs < 0 {
        _ = supervisor
        stats.baselineFDs = fdCount()
        atexit {
            let s = stats
            let summary = s.outcomes.sorted { $0.value > $1.value }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            FileHandle.standardError.write(Data("FuzzModuleLoading: \(s.execs) loads, \(s.loaded) succeeded, slowest \(s.slowest); \(summary)\n".utf8))
        }
    }
    let start = ContinuousClock.now
    let box = Box()
    let done = DispatchSemaphore(value: 0)
    Task {
        box.value = await runOne(module)
        done.signal()
    }
    let seconds = Double(bound.components.seconds) + Double(bound.components.attoseconds) / 1e18
    if done.wait(timeout: .now() + seconds) == .timedOut {
        fatalError("supervisor hang: load/call/unload did not return within \(bound)")
    }
    let elapsed = start.duration(to: .now)
    stats.execs += 1
    stats.slowest = max(stats.slowest, elapsed)
    stats.outcomes[box.value, default: 0] += 1
    if stats.execs % 100 == 0 {
        // Unloads reap asynchronously: give the reactor a moment before judging.
        var fds = fdCount(), kids = children()
        for _ in 0..<50 where fds > stats.baselineFDs + 16 || kids.zombies > 0 || kids.all > 8 {
            usleep(20_000)
            fds = fdCount()
            kids = children()
        }
        if fds > stats.baselineFDs + 16 { fatalError("supervisor fd leak: \(fds) open, baseline \(stats.baselineFDs)") }
        if kids.zombies > 0 || kids.all > 8 { fatalError("supervisor child leak: \(kids.all) children, \(kids.zombies) zombies") }
    }
    return 0
}
