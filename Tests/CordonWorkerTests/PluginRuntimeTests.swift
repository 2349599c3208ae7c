import CordonChannel
@testable import CordonWorkerRuntime
import Testing
import WAT

/// The worker runtime in process, with a recording transport: the guest ABI's edge cases (bounds,
/// sizes, signatures, re-entry) without a supervisor. Confinement is tested with real workers in
/// CordonTests; this is the interpreter layer only.
@Suite struct PluginRuntimeTests {
    final class Recorder: HostCallTransport {
        var requests: [HostCallRequest] = []
        var reply: (HostCallRequest) -> HostCallReply = { HostCallReply(id: $0.id, status: 0, data: []) }
        var outputs: [OutputChunk] = []
        func perform(_ request: HostCallRequest) throws -> HostCallReply {
            requests.append(request)
            return reply(request)
        }
        func emit(_ output: OutputChunk) throws { outputs.append(output) }
    }

    static let limits = WasmLimits(maxMemoryPages: 4, maxTableElements: 16, maxFuelPerCall: 1_000_000,
                                   maxReentryDepth: 3, maxHostCallBytes: 1024, maxCallDepth: 10_000)

    static func load(_ wat: String, transport: HostCallTransport, custom: [String] = [],
                     limits: WasmLimits = PluginRuntimeTests.limits) throws -> PluginRuntime {
        let module = try wat2wasm(wat)
        let bootstrap = Bootstrap(moduleLength: UInt64(module.count), limits: limits, customFunctions: custom)
        return try PluginRuntime.load(bootstrap, module: module, transport: transport).get()
    }

    static let probe = """
    (module
      (import "env" "host_get_config" (func $get (param i32 i32 i32 i32) (result i32)))
      (import "env" "host_alloc" (func $alloc (param i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 0) "key")
      (func (export "get") (param i32 i32 i32 i32) (result i32)
        (call $get (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
      (func (export "read_out") (param i32) (result i32) (i32.load8_u (local.get 0)))
      ;; cordon_alloc calls host_alloc, which calls cordon_alloc: unbounded re-entry without the cap
      (func (export "cordon_alloc") (param i32) (result i32) (call $alloc (local.get 0))))
    """

    /// `maxCallDepth` bounds recursion from above: the smallest possible frame (no parameters, no
    /// locals, no operands) reaches at most that depth, and every real frame traps sooner.
    @Test func callDepthLimitBoundsRecursion() throws {
        let minimal = """
        (module
          (global $depth (mut i32) (i32.const 0))
          (func $down (global.set $depth (i32.add (global.get $depth) (i32.const 1))) (call $down))
          (func (export "run") (result i32)
            (global.set $depth (i32.const 0))
            (call $down)
            (i32.const -1))
          (func (export "depth") (result i32) (global.get $depth)))
        """
        let counted = """
        (module
          (func $r (export "recurse") (param i32) (result i32)
            (if (result i32) (i32.eqz (local.get 0))
              (then (i32.const 0))
              (else (i32.add (i32.const 1) (call $r (i32.sub (local.get 0) (i32.const 1))))))))
        """
        for depthLimit: UInt32 in [50, 1000] {
            var limits = Self.limits
            limits.maxFuelPerCall = 0
            limits.maxCallDepth = depthLimit
            let runtime = try Self.load(minimal, transport: Recorder(), limits: limits)
            guard case .trap(.stackExhausted, let message) = runtime.call(CallRequest(id: 1, export: "run", arguments: [], fuel: 0)).result else {
                Issue.record("unbounded recursion did not exhaust the stack under maxCallDepth \(depthLimit)")
                continue
            }
            #expect(message.contains("call depth limit \(depthLimit)"), "\(message)")
            guard case .values(let reached) = runtime.call(CallRequest(id: 2, export: "depth", arguments: [], fuel: 0)).result,
                  case .i32(let depth) = reached.first else { Issue.record("no depth"); continue }
            #expect(depth <= depthLimit, "recursion reached \(depth) frames under maxCallDepth \(depthLimit)")
            #expect(depth >= depthLimit / 4, "minimal frames reached only \(depth) of \(depthLimit)")

            let recursive = try Self.load(counted, transport: Recorder(), limits: limits)
            let shallow = depthLimit / 10
            #expect(recursive.call(CallRequest(id: 3, export: "recurse", arguments: [.i32(shallow)], fuel: 0)).result == .values([.i32(shallow)]))
            guard case .trap(.stackExhausted, _) = recursive.call(CallRequest(id: 4, export: "recurse", arguments: [.i32(depthLimit + 1)], fuel: 0)).result else {
                Issue.record("recursion past maxCallDepth \(depthLimit) did not trap")
                continue
            }
        }
    }

    /// The runtime remembers the export it called last: calls that alternate between exports, repeat
    /// one, or name one that does not exist each reach exactly the function they name.
    @Test func eachCallReachesTheExportItNames() throws {
        let runtime = try Self.load("""
        (module
          (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
          (func (export "sub") (param i32 i32) (result i32) (i32.sub (local.get 0) (local.get 1)))
          (func (export "one") (result i64) (i64.const 1)))
        """, transport: Recorder())
        let plan: [(String, [WasmValue], [WasmValue])] = [
            ("add", [.i32(5), .i32(3)], [.i32(8)]), ("add", [.i32(1), .i32(1)], [.i32(2)]),
            ("sub", [.i32(5), .i32(3)], [.i32(2)]), ("one", [], [.i64(1)]), ("add", [.i32(2), .i32(2)], [.i32(4)]),
        ]
        for (index, (export, arguments, expected)) in plan.enumerated() {
            #expect(runtime.call(CallRequest(id: UInt32(index), export: export, arguments: arguments, fuel: 0)).result == .values(expected))
        }
        guard case .trap(_, let message) = runtime.call(CallRequest(id: 9, export: "ad", arguments: [.i32(1), .i32(1)], fuel: 0)).result else {
            Issue.record("a call of a missing export did not fail"); return
        }
        #expect(message.contains("no exported function 'ad'"), "\(message)")
        // Wrong arguments for the export called last are refused, not passed on.
        guard case .trap = runtime.call(CallRequest(id: 10, export: "add", arguments: [.i32(1)], fuel: 0)).result else {
            Issue.record("one argument for a two-argument export was accepted"); return
        }
    }

    @Test func guestPointersAreBoundsCheckedBeforeAnythingLeavesTheWorker() throws {
        let recorder = Recorder()
        let runtime = try Self.load(Self.probe, transport: recorder)
        func get(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32) -> WasmValue? {
            guard case .values(let v) = runtime.call(CallRequest(id: 1, export: "get", arguments: [.i32(a), .i32(b), .i32(c), .i32(d)], fuel: 0)).result else { return nil }
            return v.first
        }
        let invalid = WasmValue.i32(UInt32(bitPattern: ABIErrorCode.invalidArgument.rawValue))
        #expect(get(0xFFFF_FFFF, 2, 100, 8) == invalid)          // ptr + len wraps in 32 bits
        #expect(get(65535, 2, 100, 8) == invalid)                // one byte past the end
        #expect(get(0, 3, 65530, 64) == invalid)                 // output buffer past the end
        #expect(get(0, 2000, 100, 8) == .i32(UInt32(bitPattern: ABIErrorCode.tooLarge.rawValue)))
        #expect(recorder.requests.isEmpty, "a bad (ptr, len) reached the supervisor")
        #expect(get(0, 3, 100, 8) == .i32(0))
        #expect(recorder.requests.first?.blobs == [Array("key".utf8)])
        #expect(recorder.requests.first?.integers == [8])
    }

    @Test func repliesAreWrittenOnlyWhenTheyFit() throws {
        let recorder = Recorder()
        recorder.reply = { HostCallReply(id: $0.id, status: 0, data: Array("value!".utf8)) }
        let runtime = try Self.load(Self.probe, transport: recorder)
        let small = runtime.call(CallRequest(id: 1, export: "get", arguments: [.i32(0), .i32(3), .i32(100), .i32(2)], fuel: 0))
        #expect(small.result == .values([.i32(6)]))              // full length, nothing written
        #expect(runtime.call(CallRequest(id: 2, export: "read_out", arguments: [.i32(100)], fuel: 0)).result == .values([.i32(0)]))
        let fits = runtime.call(CallRequest(id: 3, export: "get", arguments: [.i32(0), .i32(3), .i32(100), .i32(6)], fuel: 0))
        #expect(fits.result == .values([.i32(6)]))
        #expect(runtime.call(CallRequest(id: 4, export: "read_out", arguments: [.i32(100)], fuel: 0)).result == .values([.i32(UInt32(UInt8(ascii: "v")))]))
    }

    @Test func reentryIsCapped() throws {
        let runtime = try Self.load(Self.probe, transport: Recorder())
        let outcome = runtime.call(CallRequest(id: 1, export: "cordon_alloc", arguments: [.i32(16)], fuel: 0))
        guard case .trap(let kind, _) = outcome.result else { Issue.record("\(outcome)"); return }
        #expect(kind == .reentryLimit)
    }

    @Test func importsAreLinkedOnlyWithTheirDocumentedShapes() throws {
        let cases: [(String, String)] = [
            (#"(module (import "env" "host_get_config" (func (param i32 i32) (result i32))))"#, "link"),
            (#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32) (result i32))))"#, "link"),
            (#"(module (import "wasi_unstable" "fd_write" (func (param i32 i32 i32 i32) (result i32))))"#, "link"),
            (#"(module (import "env" "memory" (memory 1)))"#, "link"),
            (#"(module (import "env" "my_tool" (func (param i32 i32 i32 i32) (result i32))))"#, "link"),
        ]
        for (wat, stage) in cases {
            let module = try wat2wasm(wat)
            let bootstrap = Bootstrap(moduleLength: UInt64(module.count), limits: Self.limits, customFunctions: [])
            switch PluginRuntime.load(bootstrap, module: module, transport: Recorder()) {
            case .success: Issue.record("linked: \(wat)")
            case .failure(let failure): #expect("\(failure.stage)" == stage, "\(wat): \(failure.message)")
            }
        }
        // A registered custom function with the custom shape links.
        _ = try Self.load(#"(module (import "env" "my_tool" (func (param i32 i32 i32 i32) (result i32))))"#,
                          transport: Recorder(), custom: ["my_tool"])
        // host_log is accepted with or without a status result (the seed declared it without).
        _ = try Self.load(#"(module (import "env" "host_log" (func (param i32 i32 i32))))"#, transport: Recorder())
        _ = try Self.load(#"(module (import "env" "host_log" (func (param i32 i32 i32) (result i32))))"#, transport: Recorder())
    }

    @Test func growthBombsAreBlamedOnTheRightLimit() throws {
        let runtime = try Self.load("""
        (module
          (memory 1)
          (table 1 funcref)
          (func (export "memory") (loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) unreachable)
          (func (export "table") (loop $l (br_if $l (i32.ne (table.grow (ref.null func) (i32.const 4)) (i32.const -1)))) unreachable))
        """, transport: Recorder())
        for (export, kind) in [("memory", TrapKind.memoryLimit), ("table", .tableLimit)] {
            guard case .trap(let got, _) = runtime.call(CallRequest(id: 1, export: export, arguments: [], fuel: 0)).result else {
                Issue.record("\(export) did not trap"); continue
            }
            #expect(got == kind, "\(export)")
        }
    }

    @Test func trapsAreClassifiedFromThePinnedWasmKitTexts() throws {
        let runtime = try Self.load("""
        (module
          (memory 1 1)
          (func (export "oob") (result i32) (i32.load (i32.const 70000)))
          (func (export "conv") (result i32) (i32.trunc_f32_s (f32.const nan)))
          (func (export "ovf") (result i32) (i32.div_s (i32.const -2147483648) (i32.const -1)))
          (func (export "spin") (loop $l (br $l))))
        """, transport: Recorder())
        for (export, kind) in [("oob", TrapKind.outOfBounds), ("conv", .invalidConversion), ("ovf", .integerOverflow), ("spin", .outOfFuel)] {
            guard case .trap(let got, _) = runtime.call(CallRequest(id: 1, export: export, arguments: [], fuel: 0)).result else {
                Issue.record("\(export) did not trap"); continue
            }
            #expect(got == kind, "\(export)")
        }
    }
}
