// WASI preview 1 functions the worker serves itself: args, environ, stdio, clocks, random, exit,
// poll_oneoff, commands and reactors, and the link-time signature checks. Real WasmKit, in process.
import CordonChannel
@testable import CordonWorkerRuntime
import Testing

@Suite struct WASIRuntimeTests {
    typealias M = WASIModules

    @Test func argumentsAndEnvironmentAreLaidOutLikeC() throws {
        let broker = Broker()
        let runtime = try M.load(M.all(), wasi: WASIBootstrap(arguments: ["prog", "-x", "ü"], environment: ["A=1", "HOME=/"]),
                                 transport: broker)
        #expect(runtime.errno("args_sizes_get", [i32(M.result), i32(M.result + 4)]) == 0)
        #expect(runtime.u32(at: M.result) == 3)
        #expect(runtime.u32(at: M.result + 4) == 11)   // "prog\0-x\0ü\0" (ü is 2 UTF-8 bytes)
        #expect(runtime.errno("args_get", [i32(M.scratch), i32(M.scratch + 64)]) == 0)
        #expect(runtime.u32(at: M.scratch) == UInt32(M.scratch + 64))
        #expect(runtime.u32(at: M.scratch + 4) == UInt32(M.scratch + 69))
        #expect(runtime.u32(at: M.scratch + 8) == UInt32(M.scratch + 72))
        #expect(runtime.bytes(at: M.scratch + 64, count: 11) == Array("prog\0-x\0ü\0".utf8))
        #expect(runtime.errno("environ_sizes_get", [i32(M.result), i32(M.result + 4)]) == 0)
        #expect(runtime.u32(at: M.result) == 2 && runtime.u32(at: M.result + 4) == 11)
        #expect(runtime.errno("environ_get", [i32(M.scratch), i32(M.scratch + 64)]) == 0)
        #expect(runtime.bytes(at: M.scratch + 64, count: 11) == Array("A=1\0HOME=/\0".utf8))
        #expect(broker.events.isEmpty)
    }

    @Test func stdoutAndStderrAreBufferedAndFlushedBeforeTheOutcome() throws {
        let broker = Broker()
        let runtime = try M.load(M.all(extra: """
          (func (export "twice") (param i32) (result i32)
            (drop (call $fd_write (local.get 0) (i32.const 768) (i32.const 2) (i32.const 2304)))
            (call $fd_write (local.get 0) (i32.const 768) (i32.const 1) (i32.const 2304)))
        """), transport: broker)
        let outcome = runtime.run("twice", [i32(1)])
        #expect(outcome.result == .values([.i32(0)]) && outcome.droppedOutput == 0)
        #expect(runtime.u32(at: M.result) == 5)
        // Two writes, one frame: nothing is sent per write.
        #expect(broker.outputs == [OutputChunk(id: 7, stream: .stdout, data: Array("helloabchello".utf8))])
        _ = runtime.run("twice", [i32(2)])
        #expect(broker.outputs.last == OutputChunk(id: 7, stream: .stderr, data: Array("helloabchello".utf8)))
        // fd 0 is read-only, 1 and 2 write-only.
        #expect(runtime.errno("fd_write", [i32(0), i32(M.iovecs), i32(2), i32(M.result)]) == 8)
        #expect(runtime.errno("fd_read", [i32(1), i32(M.iovecs), i32(2), i32(M.result)]) == 8)
        #expect(runtime.errno("fd_read", [i32(2), i32(M.iovecs), i32(2), i32(M.result)]) == 8)
        #expect(broker.requests.isEmpty)
    }

    @Test func a64KiBBufferIsSentDuringTheCall() throws {
        let broker = Broker()
        // Writes 40,000 bytes `n` times to fd 1 (iovec at 0 → (4096, 40000)).
        let runtime = try M.load(M.all(extra: """
          (func (export "flood") (param i32) (local i32)
            (i32.store (i32.const 0) (i32.const 4096)) (i32.store (i32.const 4) (i32.const 40000))
            (loop $l
              (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
              (local.set 1 (i32.add (local.get 1) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get 1) (local.get 0)))))
        """), transport: broker)
        let outcome = runtime.run("flood", [i32(3)])
        #expect(outcome.droppedOutput == 0)
        #expect(broker.outputs.map(\.data.count) == [65_536, 120_000 - 65_536])
        #expect(broker.outputs.allSatisfy { $0.id == 7 && $0.stream == .stdout })
    }

    @Test func outputOverTheCapIsCountedNotSent() throws {
        let broker = Broker()
        let runtime = try M.load(M.all(), wasi: WASIBootstrap(maxOutputBytes: 10), transport: broker)
        let write: [WasmValue] = [i32(1), i32(M.iovecs), i32(2), i32(M.result)]
        #expect(runtime.errno("fd_write", write) == 0)
        // The guest is told everything was written (or libc would retry forever)…
        #expect(runtime.u32(at: M.result) == 8)
        let outcome = runtime.call(CallRequest(id: 9, export: "call_fd_write", arguments: [i32(1), i32(M.iovecs), i32(2), i32(M.result)],
                                               fuel: 0))
        // …and the cap is per call: each call forwards 8 of its 8 bytes.
        #expect(outcome.droppedOutput == 0)
        // Three writes of 8 in one call against a cap of 10: 10 sent, 14 dropped.
        let many = try M.load(M.all(extra: """
          (func (export "three") (result i32)
            (drop (call $fd_write (i32.const 2) (i32.const 768) (i32.const 2) (i32.const 2304)))
            (drop (call $fd_write (i32.const 2) (i32.const 768) (i32.const 2) (i32.const 2304)))
            (call $fd_write (i32.const 2) (i32.const 768) (i32.const 2) (i32.const 2304)))
        """), wasi: WASIBootstrap(maxOutputBytes: 10), transport: broker)
        let capped = many.run("three")
        #expect(capped.result == .values([.i32(0)]))
        #expect(capped.droppedOutput == 14)
        #expect(broker.outputs.last == OutputChunk(id: 7, stream: .stderr, data: Array("helloabchel".utf8.prefix(10))))
    }

    @Test func stdinIsTheCallsInputScatteredAcrossIOVecs() throws {
        let broker = Broker()
        let runtime = try M.load(M.all(extra: """
          (func (export "read2") (result i32)
            (drop (call $fd_read (i32.const 0) (i32.const 768) (i32.const 2) (i32.const 2304)))
            (i32.add (i32.load (i32.const 2304))
              (i32.mul (i32.const 100)
                (block (result i32)
                  (drop (call $fd_read (i32.const 0) (i32.const 768) (i32.const 2) (i32.const 2304)))
                  (i32.load (i32.const 2304))))))
        """), transport: broker)
        // First read fills 5 + 3 bytes, the second gets the last 2.
        #expect(runtime.run("read2", stdin: Array("0123456789".utf8)).result == .values([.i32(8 + 200)]))
        #expect(runtime.bytes(at: 1024, count: 5) == Array("89234".utf8))
        // Each call has its own stdin; none is end of file at once.
        #expect(runtime.errno("fd_read", [i32(0), i32(M.iovecs), i32(2), i32(M.result)]) == 0)
        #expect(runtime.u32(at: M.result) == 0)
        #expect(broker.requests.isEmpty)
    }

    @Test func stdioLooksLikeACharacterDevice() throws {
        let broker = Broker()
        let runtime = try M.load(M.all(), transport: broker)
        for fd in 0...2 {
            #expect(runtime.errno("fd_fdstat_get", [i32(fd), i32(M.scratch)]) == 0)
            #expect(runtime.bytes(at: M.scratch, count: 1) == [2])
            let rights = runtime.u64(at: M.scratch + 8) ?? 0
            #expect(rights & (1 << 2) == 0)   // no FD_SEEK
            #expect(rights & (fd == 0 ? 1 << 1 : 1 << 6) != 0)
            #expect(runtime.errno("fd_filestat_get", [i32(fd), i32(M.scratch)]) == 0)
            #expect(runtime.bytes(at: M.scratch + 16, count: 1) == [2])
            #expect(runtime.errno("fd_seek", [i32(fd), i64(0), i32(0), i32(M.result)]) == 70)
            #expect(runtime.errno("fd_tell", [i32(fd), i32(M.result)]) == 70)
            #expect(runtime.errno("fd_prestat_get", [i32(fd), i32(M.scratch)]) == 8)
            #expect(runtime.errno("path_open", [i32(fd), i32(0), i32(M.path), i32(12), i32(0), i64(0), i64(0), i32(0), i32(M.result)]) == 54)
        }
        #expect(broker.requests.isEmpty)
    }

    @Test func clocksAreRoundedToThePolicyResolution() throws {
        let broker = Broker()
        let resolution: UInt64 = 1_000_000
        let runtime = try M.load(M.all(), wasi: WASIBootstrap(clockResolutionNanoseconds: resolution), transport: broker)
        for clock in 0...3 {
            #expect(runtime.errno("clock_res_get", [i32(clock), i32(M.result)]) == 0)
            #expect(runtime.u64(at: M.result) == resolution)
            #expect(runtime.errno("clock_time_get", [i32(clock), i64(1), i32(M.result)]) == 0)
            #expect((runtime.u64(at: M.result) ?? 1) % resolution == 0)
        }
        #expect(runtime.errno("clock_time_get", [i32(0), i64(0), i32(M.result)]) == 0)
        #expect((runtime.u64(at: M.result) ?? 0) > 1_700_000_000 * 1_000_000_000)   // realtime is wall-clock time
        #expect(runtime.errno("clock_time_get", [i32(4), i64(0), i32(M.result)]) == 28)
        #expect(runtime.errno("clock_res_get", [i32(-1), i32(M.result)]) == 28)
        // An odd resolution: still a multiple.
        let odd = try M.load(M.all(), wasi: WASIBootstrap(clockResolutionNanoseconds: 7_777), transport: broker)
        #expect(odd.errno("clock_time_get", [i32(1), i64(0), i32(M.result)]) == 0)
        #expect((odd.u64(at: M.result) ?? 1) % 7_777 == 0)
    }

    @Test func randomIsTheChaCha20StreamOfTheSeed() throws {
        let broker = Broker()
        let seed = (0..<32).map { UInt8($0 * 7 & 0xFF) }
        func draw(_ seed: [UInt8]) throws -> [UInt8] {
            let runtime = try M.load(M.all(), wasi: WASIBootstrap(randomSeed: seed), transport: broker)
            #expect(runtime.errno("random_get", [i32(M.scratch), i32(40)]) == 0)
            #expect(runtime.errno("random_get", [i32(M.scratch + 40), i32(60)]) == 0)
            return runtime.bytes(at: M.scratch, count: 100)
        }
        let first = try draw(seed)
        var reference = ChaCha20(key: seed)
        #expect(first == reference.next(100))
        #expect(try draw(seed) == first)
        #expect(try draw([UInt8](repeating: 1, count: 32)) != first)
        #expect(broker.events.isEmpty)
    }

    @Test func procExitEndsTheCallWithItsCodeAfterFlushingOutput() throws {
        let broker = Broker()
        let runtime = try M.load(M.all(extra: """
          (func (export "say_and_exit") (param i32)
            (drop (call $fd_write (i32.const 1) (i32.const 768) (i32.const 1) (i32.const 2304)))
            (call $proc_exit (local.get 0))
            unreachable)
        """), transport: broker)
        for code in [0, 3, 255, -1] {
            let outcome = runtime.run("say_and_exit", [i32(code)])
            #expect(outcome.result == .exited(Int32(code)))
        }
        #expect(broker.text(.stdout) == String(repeating: "hello", count: 4))
        // The instance is usable after an exit.
        #expect(runtime.errno("sched_yield", []) == 0)
        #expect(runtime.errno("proc_raise", [i32(9)]) == 52)
    }

    @Test func startRunsOnAFreshInstanceEachTime() throws {
        let broker = Broker()
        let runtime = try M.load(M.all(extra: """
          (global $runs (mut i32) (i32.const 0))
          (func (export "_start")
            (global.set $runs (i32.add (global.get $runs) (i32.const 1)))
            (i32.store (i32.const 4000) (i32.add (i32.load (i32.const 4000)) (i32.const 1))))
          (func (export "runs") (result i32) (i32.add (global.get $runs) (i32.load (i32.const 4000))))
        """), transport: broker)
        #expect(runtime.run("runs").result == .values([.i32(0)]))
        #expect(runtime.run("_start").result == .values([]))
        #expect(runtime.run("runs").result == .values([.i32(2)]))
        #expect(runtime.run("_start").result == .values([]))
        #expect(runtime.run("runs").result == .values([.i32(2)]))   // not 4: a fresh global and memory
        #expect(runtime.run("_start").result == .values([]))
        #expect(runtime.run("runs").result == .values([.i32(2)]))
    }

    @Test func initializeRunsOnceBeforeLoaded() throws {
        let broker = Broker()
        let runtime = try M.load(M.all(extra: """
          (global $inits (mut i32) (i32.const 0))
          (func (export "_initialize") (global.set $inits (i32.add (global.get $inits) (i32.const 1))))
          (func (export "inits") (result i32) (global.get $inits))
        """), transport: broker)
        #expect(runtime.run("inits").result == .values([.i32(1)]))
        #expect(runtime.run("inits").result == .values([.i32(1)]))
        let trapping = try M.failure("(module (func (export \"_initialize\") unreachable))")
        #expect(trapping?.stage == .start)
        let exiting = try M.failure("""
        (module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (func (export "_initialize") (call $exit (i32.const 2))))
        """)
        #expect(exiting?.stage == .start && exiting?.message.contains("proc_exit(2)") == true)
    }

    @Test func pollOneoffSleepsOnClocksAndReportsFdsAtOnce() throws {
        let broker = Broker()
        let runtime = try M.load(M.all(extra: """
          ;; one relative clock subscription at 3072 (userdata 42, monotonic, 1 ms) → event at 3584
          (func (export "sleep1ms") (result i32)
            (i64.store (i32.const 3072) (i64.const 42))
            (i32.store8 (i32.const 3080) (i32.const 0))
            (i32.store (i32.const 3088) (i32.const 1))
            (i64.store (i32.const 3096) (i64.const 1000000))
            (i32.store16 (i32.const 3112) (i32.const 0))
            (call $poll_oneoff (i32.const 3072) (i32.const 3584) (i32.const 1) (i32.const 2304)))
          ;; a clock far away and an fd_read on stdin: the fd is ready, nothing sleeps
          (func (export "stdin_ready") (result i32)
            (i64.store (i32.const 3072) (i64.const 1))
            (i32.store8 (i32.const 3080) (i32.const 0))
            (i32.store (i32.const 3088) (i32.const 1))
            (i64.store (i32.const 3096) (i64.const 3600000000000))
            (i64.store (i32.const 3120) (i64.const 2))
            (i32.store8 (i32.const 3128) (i32.const 1))
            (i32.store (i32.const 3136) (i32.const 0))
            (call $poll_oneoff (i32.const 3072) (i32.const 3584) (i32.const 2) (i32.const 2304)))
        """), transport: broker)
        #expect(runtime.run("sleep1ms").result == .values([.i32(0)]))
        #expect(runtime.u32(at: M.result) == 1)
        #expect(runtime.u64(at: 3584) == 42)
        #expect(runtime.bytes(at: 3584 + 8, count: 3) == [0, 0, 0])   // errno 0, type clock
        #expect(runtime.run("stdin_ready", stdin: [1, 2, 3]).result == .values([.i32(0)]))
        #expect(runtime.u32(at: M.result) == 1)
        #expect(runtime.u64(at: 3584) == 2)
        #expect(runtime.bytes(at: 3584 + 8, count: 3) == [0, 0, 1])
        #expect(runtime.u64(at: 3584 + 16) == 3)   // stdin bytes left
        #expect(runtime.errno("poll_oneoff", [i32(3072), i32(3584), i32(0), i32(M.result)]) == 28)
    }

    @Test func badPointersAreErrnosNotTraps() throws {
        let broker = Broker()
        let runtime = try M.load(M.all(), wasi: WASIBootstrap(arguments: ["a"], preopens: ["/"]), transport: broker)
        let end = 65_536, beyond = 0xFFFF_FFF0
        let fault: UInt32 = 21
        #expect(runtime.errno("args_sizes_get", [i32(end - 2), i32(0)]) == fault)
        #expect(runtime.errno("args_get", [i32(beyond), i32(0)]) == fault)
        #expect(runtime.errno("environ_get", [i32(0), i32(beyond)]) == fault)
        #expect(runtime.errno("clock_time_get", [i32(0), i64(0), i32(end - 4)]) == fault)
        #expect(runtime.errno("clock_res_get", [i32(0), i32(beyond)]) == fault)
        #expect(runtime.errno("random_get", [i32(end - 10), i32(11)]) == fault)
        #expect(runtime.errno("random_get", [i32(beyond), i32(0x20)]) == fault)
        #expect(runtime.errno("fd_write", [i32(1), i32(beyond), i32(1), i32(0)]) == fault)
        #expect(runtime.errno("fd_write", [i32(1), i32(M.iovecs), i32(0x2000_0000), i32(0)]) == fault)   // iovec array past the end
        #expect(runtime.errno("fd_write", [i32(1), i32(M.iovecs), i32(2), i32(beyond)]) == fault)
        // An iovec whose buffer is out of range.
        #expect(runtime.run("store32", [i32(3000), i32(end - 2)]).result == .values([]))
        #expect(runtime.run("store32", [i32(3004), i32(4)]).result == .values([]))
        #expect(runtime.errno("fd_write", [i32(1), i32(3000), i32(1), i32(M.result)]) == fault)
        #expect(runtime.errno("fd_read", [i32(0), i32(3000), i32(1), i32(M.result)], stdin: [1, 2, 3, 4]) == fault)
        #expect(runtime.errno("fd_fdstat_get", [i32(1), i32(end - 23)]) == fault)
        #expect(runtime.errno("fd_filestat_get", [i32(1), i32(end - 63)]) == fault)
        #expect(runtime.errno("poll_oneoff", [i32(end - 47), i32(0), i32(1), i32(M.result)]) == fault)
        #expect(runtime.errno("poll_oneoff", [i32(0), i32(end - 31), i32(1), i32(M.result)]) == fault)
        // Brokered calls check their pointers before asking: nothing reaches the supervisor.
        #expect(runtime.errno("fd_prestat_get", [i32(3), i32(end - 7)]) == fault)
        #expect(runtime.errno("path_open", [i32(3), i32(0), i32(beyond), i32(64), i32(0), i64(0), i64(0), i32(0), i32(M.result)]) == fault)
        #expect(runtime.errno("path_open", [i32(3), i32(0), i32(M.path), i32(12), i32(0), i64(0), i64(0), i32(0), i32(end - 3)]) == fault)
        #expect(runtime.errno("fd_write", [i32(5), i32(3000), i32(1), i32(M.result)]) == fault)
        #expect(runtime.errno("fd_readdir", [i32(5), i32(end - 10), i32(100), i64(0), i32(M.result)]) == fault)
        #expect(runtime.errno("path_unlink_file", [i32(3), i32(end - 1), i32(2)]) == fault)
        #expect(broker.requests.isEmpty)
    }

    @Test func importsAreCheckedAgainstThePreview1Signatures() throws {
        let wrong = try M.failure("""
        (module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32) (result i32))))
        """)
        #expect(wrong?.stage == .link)
        #expect(wrong?.message.contains("wasi_snapshot_preview1.fd_write") == true)
        #expect(wrong?.message.contains("(i32, i32, i32, i32) -> i32") == true)
        let wideFd = try M.failure("""
        (module (import "wasi_snapshot_preview1" "fd_close" (func (param i64) (result i32))))
        """)
        #expect(wideFd?.stage == .link && wideFd?.message.contains("(i32) -> i32") == true)
        let exitWithResult = try M.failure("""
        (module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32) (result i32))))
        """)
        #expect(exitWithResult?.stage == .link && exitWithResult?.message.contains("(i32) -> ()") == true)
        let unknown = try M.failure("""
        (module (import "wasi_snapshot_preview1" "fd_frobnicate" (func (param i32) (result i32))))
        """)
        #expect(unknown?.stage == .link && unknown?.message.contains("fd_frobnicate") == true)
        let memory = try M.failure("(module (import \"wasi_snapshot_preview1\" \"memory\" (memory 1)))")
        #expect(memory?.stage == .link)
        let otherModule = try M.failure("(module (import \"wasi_unstable\" \"fd_write\" (func (param i32 i32 i32 i32) (result i32))))")
        #expect(otherModule?.stage == .link && otherModule?.message.contains("wasi_unstable") == true)
        // All 46 functions at once, beside Cordon's own ABI.
        #expect(WASIFunction.allCases.count == 46)
        let both = try WASIModules.load(M.all(imports: """
          (import "env" "host_log" (func $log (param i32 i32 i32) (result i32)))
        """), transport: Broker())
        #expect(both.report.exports.contains { $0.name == "call_fd_write" })
    }
}
