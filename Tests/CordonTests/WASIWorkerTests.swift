import Cordon
import Testing

/// WASI calls the worker serves itself, run in a real confined worker under the default seccomp
/// allow-list: clocks, random, a poll_oneoff sleep, buffered stdout and proc_exit need no system call
/// the policy does not already allow.
@Suite struct WASIWorkerTests {
    static let module = """
    (module
      (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
      (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (data (i32.const 64) "\\00\\01\\00\\00\\06\\00\\00\\00")   ;; iovec (256, 6)
      (data (i32.const 256) "hello\\n")
      ;; Sums the errnos of every call (0 when all succeed), with fd_prestat_get(3) expected to be EBADF.
      (func (export "probe") (result i32) (local $sum i32)
        (local.set $sum (call $clock (i32.const 0) (i64.const 0) (i32.const 0)))
        (local.set $sum (i32.add (local.get $sum) (call $clock (i32.const 1) (i64.const 0) (i32.const 0))))
        (local.set $sum (i32.add (local.get $sum) (call $clock (i32.const 2) (i64.const 0) (i32.const 0))))
        (local.set $sum (i32.add (local.get $sum) (call $clock (i32.const 3) (i64.const 0) (i32.const 0))))
        (local.set $sum (i32.add (local.get $sum) (call $random (i32.const 1024) (i32.const 4096))))
        ;; a 1 ms relative sleep on the monotonic clock
        (i64.store (i32.const 512) (i64.const 7))
        (i32.store8 (i32.const 520) (i32.const 0))
        (i32.store (i32.const 528) (i32.const 1))
        (i64.store (i32.const 536) (i64.const 1000000))
        (local.set $sum (i32.add (local.get $sum) (call $poll (i32.const 512) (i32.const 768) (i32.const 1) (i32.const 8))))
        (local.set $sum (i32.add (local.get $sum) (call $write (i32.const 1) (i32.const 64) (i32.const 1) (i32.const 8))))
        (local.set $sum (i32.add (local.get $sum) (call $yield)))
        (i32.add (local.get $sum) (i32.sub (call $prestat (i32.const 3) (i32.const 16)) (i32.const 8))))
      (func (export "quit") (call $exit (i32.const 4)) unreachable))
    """

    @Test func workerServedCallsPassTheSeccompFilter() async throws {
        let supervisor = try Fixtures.supervisor()
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "wasi-probe"), module: try Fixtures.wasm(Self.module))
        for _ in 0..<3 {
            #expect(try await plugin.call("probe") == [.i32(0)])
        }
        // An exit is not a trap, and the worker keeps serving calls after it.
        #expect(try await plugin.call("quit") == [])
        #expect(try await plugin.call("probe") == [.i32(0)])
        await supervisor.shutdown()
    }
}
