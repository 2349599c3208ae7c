import Cordon
import Foundation
import WASI
import WAT
import WasmKit
import WasmKitWASI

/// `cordon-bench wasi`: the WASI hot paths, each program run by a confined worker (file calls brokered
/// by the supervisor, stdout buffered in the worker) and by in-process WasmKit with its own WASI
/// (`WasmKitWASI`: files opened directly, stdout written to /dev/null), alternating round by round.
func runWASIBenchmark(arguments: [String]) async throws {
    let quick = arguments.contains("--quick")
    let rounds = quick ? 3 : 7
    let fileBytes = quick ? 16 << 20 : 64 << 20
    let lines = quick ? 20_000 : 100_000
    print("Cordon WASI benchmark (\(quick ? "quick" : "full") run, \(ProcessInfo.processInfo.activeProcessorCount) cores, \(rounds) alternating rounds, p50)")
    print("read-only file donation (wasi.donateReadOnlyFiles of the default policy): \(SandboxPolicy.builtinDefault.wasi.donateReadOnlyFiles ? "on" : "off")")
    print("")
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cordon-bench-wasi-\(getpid())").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    // Incompressible content the page cache holds after the first untimed round of each side.
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    var words = [UInt64](repeating: 0, count: fileBytes / 8)
    for i in words.indices {   // xorshift64: cheap, and no page of it compresses or repeats
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        words[i] = state
    }
    let content = words.withUnsafeBytes { Data($0) }
    try content.write(to: URL(fileURLWithPath: directory + "/data.bin"))

    let w = [44, 12, 12, 10, 14]
    print(row(["program", "in-process", "cordon", "ratio", "cordon rate"], widths: w))

    let chunk = arguments.firstIndex(of: "--chunk").flatMap { arguments.indices.contains($0 + 1) ? Int(arguments[$0 + 1]) : nil } ?? 65536
    guard (1...65536).contains(chunk) else { throw BenchmarkArgumentError("--chunk must be 1…65536 bytes") }
    let read = try wat2wasm(readFileWAT(expected: fileBytes, chunk: chunk))
    let (readIn, readOut) = try await alternate(rounds: rounds, module: read, directory: directory)
    let mib = Double(fileBytes) / Double(1 << 20)
    print(row(["read \(Int(mib)) MiB file in \(chunk / 1024) KiB fd_reads", formatTime(readIn), formatTime(readOut),
               String(format: "%.2f×", readOut / readIn), String(format: "%.2f GB/s", Double(fileBytes) / readOut / 1e9)],
              widths: w))
    // The same program under a policy that does not donate (as the built-in strict): every fd_read brokered.
    let (brokeredIn, brokeredOut) = try await alternate(rounds: rounds, module: read, directory: directory, donating: false)
    print(row(["  the same, brokered (no donation)", formatTime(brokeredIn), formatTime(brokeredOut),
               String(format: "%.2f×", brokeredOut / brokeredIn), String(format: "%.2f GB/s", Double(fileBytes) / brokeredOut / 1e9)],
              widths: w))

    let write = try wat2wasm(stdoutLinesWAT(lines: lines))
    let (writeIn, writeOut) = try await alternate(rounds: rounds, module: write, directory: nil, expectedStdout: lines * 8)
    print(row(["\(lines) stdout lines of 8 bytes, one fd_write each", formatTime(writeIn), formatTime(writeOut),
               String(format: "%.2f×", writeOut / writeIn), String(format: "%.1f M lines/s", Double(lines) / writeOut / 1e6)],
              widths: w))
    let seeks = quick ? 20_000 : 100_000
    let (seekIn, seekOut) = try await seekLoop(rounds: rounds, calls: seeks, directory: directory)
    print(row(["host-call loop: \(seeks) fd_seeks, p50", formatTime(seekIn.p50), formatTime(seekOut.p50),
               String(format: "%.2f×", seekOut.p50 / seekIn.p50), "p99 \(formatTime(seekOut.p99))"], widths: w)
          + "  (in-process p99 \(formatTime(seekIn.p99)); brokered, answered on the reactor)")
    print("targets: file read ≥ 1 GB/s; each ratio ≤ 1.5× (cordon time / in-process time); host-call loop p50 ≤ 8 µs")
    print("")
}

/// The default policy with room for a benchmark's program: minutes of wall time, a trillion fuel, and
/// host calls by the million.
private func benchmarkPolicy(hostCallsPerCall: UInt32 = 1_000_000) -> SandboxPolicy {
    var policy = SandboxPolicy.builtinDefault
    policy.limits.maxWallTimeMillisecondsPerCall = 120_000
    policy.limits.maxHostCallsPerCall = hostCallsPerCall
    policy.limits.maxHostCallsPerSecond = 10_000_000
    policy.wasm.maxFuelPerCall = 1_000_000_000_000
    return policy
}

/// p50 of in-process and confined runs of the command `module`, alternated so drift favours neither.
private func alternate(rounds: Int, module: [UInt8], directory: String?, expectedStdout: Int? = nil,
                       donating: Bool = SandboxPolicy.builtinDefault.wasi.donateReadOnlyFiles) async throws -> (Double, Double) {
    var configuration = SupervisorConfiguration()
    configuration.loadTimeout = .seconds(60)
    let supervisor = try Supervisor(configuration: configuration)
    var policy = benchmarkPolicy()
    policy.wasi.donateReadOnlyFiles = donating
    let preopens = directory.map { [WASIPreopen(hostPath: $0, guestPath: "/", readOnly: true)] } ?? []
    let handle = try await supervisor.load(manifest: PluginManifest(name: "wasi-bench", capabilities: directory == nil ? [] : [.filesystem]),
                                           module: module, policy: policy, wasi: WASIConfiguration(preopens: preopens))
    let clock = ContinuousClock()
    var inProcess = Samples(), confined = Samples()
    for round in -1..<rounds {
        var start = clock.now
        try runInProcess(module, directory: directory)
        let a = start.duration(to: clock.now)
        start = clock.now
        let output = try await handle.run()
        let b = start.duration(to: clock.now)
        guard output.exitCode == 0 else { throw BenchmarkArgumentError("the confined program exited \(output.exitCode): \(String(decoding: output.stderr, as: UTF8.self))") }
        if let expectedStdout, output.stdout.count != expectedStdout || output.truncated {
            throw BenchmarkArgumentError("stdout was \(output.stdout.count) bytes (truncated: \(output.truncated)), expected \(expectedStdout)")
        }
        // Round -1 warms the page cache, the code and the worker; it is not counted.
        if round >= 0 { inProcess.add(a); confined.add(b) }
    }
    await supervisor.shutdown()
    return (inProcess.p50, confined.p50)
}

/// Latency per host call, seen by the guest: a loop of `fd_seek`s on a file beneath the preopen, each
/// timed with the monotonic clock (1 ns resolution: the plugin holds `timer`) into a histogram the
/// program prints, the two sides alternating round by round. A seek from the start is brokered by the
/// supervisor (it moves the offset of the broker's file), and answered on the reactor.
private func seekLoop(rounds: Int, calls: Int, directory: String) async throws -> (LatencyHistogram, LatencyHistogram) {
    let module = try wat2wasm(seekLoopWAT(calls: calls))
    let supervisor = try Supervisor(configuration: SupervisorConfiguration())
    let policy = benchmarkPolicy(hostCallsPerCall: UInt32(calls + 16))
    let handle = try await supervisor.load(manifest: PluginManifest(name: "wasi-seek-bench", capabilities: [.filesystem, .timer]),
                                           module: module, policy: policy,
                                           wasi: WASIConfiguration(preopens: [WASIPreopen(hostPath: directory, guestPath: "/", readOnly: true)]))
    var inProcess = LatencyHistogram(), confined = LatencyHistogram()
    let capture = directory + "/histogram.out"
    for round in -1..<rounds {
        let fd = open(capture, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        defer { close(fd) }
        try runInProcess(module, directory: directory, stdout: fd)
        let a = try LatencyHistogram(FileManager.default.contents(atPath: capture).map { [UInt8]($0) } ?? [])
        let output = try await handle.run()
        guard output.exitCode == 0 else { throw BenchmarkArgumentError("the confined seek loop exited \(output.exitCode)") }
        let b = try LatencyHistogram(output.stdout)
        if round >= 0 { inProcess.add(a); confined.add(b) }
    }
    await supervisor.shutdown()
    return (inProcess, confined)
}

/// The seek loop's output: how many calls took 0–99 ns, 100–199 ns, …; the last bucket is ≥ 100 µs.
private struct LatencyHistogram {
    static let buckets = 1001
    var counts = [UInt64](repeating: 0, count: buckets)

    init() {}

    init(_ bytes: [UInt8]) throws {
        guard bytes.count == Self.buckets * 4 else { throw BenchmarkArgumentError("the seek loop printed \(bytes.count) bytes, expected \(Self.buckets * 4)") }
        for i in 0..<Self.buckets {
            counts[i] = (0..<4).reduce(UInt64(0)) { $0 | UInt64(bytes[i * 4 + $1]) << (8 * UInt64($1)) }
        }
    }

    mutating func add(_ other: LatencyHistogram) { for i in counts.indices { counts[i] += other.counts[i] } }

    /// The midpoint of the bucket holding the `q` quantile, in seconds.
    func quantile(_ q: Double) -> Double {
        let total = counts.reduce(0, +)
        var seen: UInt64 = 0
        for (i, n) in counts.enumerated() {
            seen += n
            if Double(seen) >= q * Double(total) { return (Double(i) * 100 + 50) / 1e9 }
        }
        return 100e-6
    }
    var p50: Double { quantile(0.5) }
    var p99: Double { quantile(0.99) }
}

/// Opens `data.bin` beneath preopen fd 3, then `calls` times: clock, `fd_seek(fd, i mod 4096, SET)`,
/// clock, and counts the difference into 100 ns buckets (1001 u32s at 1024, printed at the end).
private func seekLoopWAT(calls: Int) -> String {
    #"""
    (module
      (import "wasi_snapshot_preview1" "path_open"
        (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_seek" (func $fd_seek (param i32 i64 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "data.bin")
      (func (export "_start")
        (local $fd i32) (local $i i32) (local $bucket i64) (local $slot i32)
        ;; rights: fd_read (bit 1) | fd_seek (bit 2) | fd_tell (bit 5)
        (if (call $path_open (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 8) (i32.const 0)
                             (i64.const 38) (i64.const 0) (i32.const 0) (i32.const 0))
          (then (call $exit (i32.const 2))))
        (local.set $fd (i32.load (i32.const 0)))
        (loop $next
          (drop (call $clock (i32.const 1) (i64.const 1) (i32.const 48)))
          (if (call $fd_seek (local.get $fd) (i64.extend_i32_u (i32.and (local.get $i) (i32.const 4095)))
                             (i32.const 0) (i32.const 8))
            (then (call $exit (i32.const 3))))
          (drop (call $clock (i32.const 1) (i64.const 1) (i32.const 56)))
          (local.set $bucket (i64.div_u (i64.sub (i64.load (i32.const 56)) (i64.load (i32.const 48))) (i64.const 100)))
          (if (i64.gt_u (local.get $bucket) (i64.const 1000)) (then (local.set $bucket (i64.const 1000))))
          (local.set $slot (i32.add (i32.const 1024) (i32.shl (i32.wrap_i64 (local.get $bucket)) (i32.const 2))))
          (i32.store (local.get $slot) (i32.add (i32.load (local.get $slot)) (i32.const 1)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $next (i32.lt_u (local.get $i) (i32.const \#(calls)))))
        (i32.store (i32.const 64) (i32.const 1024))
        (i32.store (i32.const 68) (i32.const 4004))
        (if (call $fd_write (i32.const 1) (i32.const 64) (i32.const 1) (i32.const 72))
          (then (call $exit (i32.const 4))))))
    """#
}

/// The same module in this process: WasmKit's own WASI with the directory preopened at `/` and
/// stdout on `stdout` (/dev/null by default); the engine configured as the worker configures its own.
private func runInProcess(_ module: [UInt8], directory: String?, stdout: Int32? = nil) throws {
    let null = open("/dev/null", O_WRONLY)
    defer { close(null) }
    let bridge = try WASIBridgeToHost(preopens: directory.map { [WASIBridgeToHost.Preopen(guestPath: "/", hostPath: $0)] } ?? [],
                                      stdout: stdout ?? null, stderr: 2)
    try bridge.runAndClose { bridge in
        let engine = Engine(configuration: EngineConfiguration(compilationMode: .eager, memoryBoundsChecking: .software))
        let store = Store(engine: engine)
        var imports = Imports()
        bridge.link(to: &imports, store: store)
        let instance = try parseWasm(bytes: module).instantiate(store: store, imports: imports)
        let code = try bridge.start(instance)
        guard code == 0 else { throw BenchmarkArgumentError("the in-process program exited \(code)") }
    }
}

/// Opens `data.bin` beneath preopen fd 3 and reads it to the end in 64 KiB `fd_read`s; exits 0 when
/// the byte count is `expected`, 2–4 on an error.
private func readFileWAT(expected: Int, chunk: Int) -> String {
    #"""
    (module
      (import "wasi_snapshot_preview1" "path_open"
        (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 2)
      (data (i32.const 16) "data.bin")
      (func (export "_start")
        (local $fd i32) (local $n i32) (local $total i64)
        ;; rights: fd_read (bit 1) | fd_seek (bit 2)
        (if (call $path_open (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 8) (i32.const 0)
                             (i64.const 6) (i64.const 0) (i32.const 0) (i32.const 0))
          (then (call $exit (i32.const 2))))
        (local.set $fd (i32.load (i32.const 0)))
        (i32.store (i32.const 32) (i32.const 65536))
        (i32.store (i32.const 36) (i32.const \#(chunk)))
        (loop $next
          (if (call $fd_read (local.get $fd) (i32.const 32) (i32.const 1) (i32.const 8))
            (then (call $exit (i32.const 3))))
          (local.set $n (i32.load (i32.const 8)))
          (local.set $total (i64.add (local.get $total) (i64.extend_i32_u (local.get $n))))
          (br_if $next (local.get $n)))
        (if (i64.ne (local.get $total) (i64.const \#(expected)))
          (then (call $exit (i32.const 4))))))
    """#
}

/// Writes `lines` lines of 8 bytes to stdout, one `fd_write` each (no buffering in the guest: the
/// worker's own buffering is what is measured).
private func stdoutLinesWAT(lines: Int) -> String {
    #"""
    (module
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (data (i32.const 64) "line 42\n")
      (func (export "_start")
        (local $i i32)
        (i32.store (i32.const 32) (i32.const 64))
        (i32.store (i32.const 36) (i32.const 8))
        (loop $next
          (if (call $fd_write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 8))
            (then (call $exit (i32.const 2))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $next (i32.lt_u (local.get $i) (i32.const \#(lines)))))))
    """#
}
