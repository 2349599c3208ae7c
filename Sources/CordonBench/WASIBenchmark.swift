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
    print("targets: file read ≥ 1 GB/s; each ratio ≤ 1.5× (cordon time / in-process time)")
    print("")
}

/// p50 of in-process and confined runs of the command `module`, alternated so drift favours neither.
private func alternate(rounds: Int, module: [UInt8], directory: String?, expectedStdout: Int? = nil,
                       donating: Bool = SandboxPolicy.builtinDefault.wasi.donateReadOnlyFiles) async throws -> (Double, Double) {
    var configuration = SupervisorConfiguration()
    configuration.loadTimeout = .seconds(60)
    let supervisor = try Supervisor(configuration: configuration)
    var policy = SandboxPolicy.builtinDefault
    policy.limits.maxWallTimeMillisecondsPerCall = 120_000
    policy.limits.maxHostCallsPerCall = 1_000_000
    policy.limits.maxHostCallsPerSecond = 10_000_000
    policy.wasm.maxFuelPerCall = 1_000_000_000_000
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

/// The same module in this process: WasmKit's own WASI with the directory preopened at `/` and
/// stdout on /dev/null; the engine configured as the worker configures its own.
private func runInProcess(_ module: [UInt8], directory: String?) throws {
    let null = open("/dev/null", O_WRONLY)
    defer { close(null) }
    let bridge = try WASIBridgeToHost(preopens: directory.map { [WASIBridgeToHost.Preopen(guestPath: "/", hostPath: $0)] } ?? [],
                                      stdout: null, stderr: 2)
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
