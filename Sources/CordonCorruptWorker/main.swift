// CordonCorruptWorker: a deliberately hostile worker for the soak test and the security report.
//
// It starts exactly like cordon-worker — attaches the channel at fds 3/4, reads the confinement plan at
// fd 5, applies `Confinement.apply` (so everything below runs CONFINED, under the real seccomp filter),
// sends a valid hello — and then misbehaves. What it does is chosen by the "module" the supervisor
// bootstraps it with: the module bytes are the UTF-8 text `cordon-corrupt:<mode>` (they are never parsed
// as WebAssembly), so a test decides the fault per plugin. Unknown text means `garbage`.
//
// Flags (SupervisorConfiguration.workerArguments):
//   --violate      ignore the module: right after the bootstrap, attempt socket(2) (forbidden by every
//                  shipped policy). The supervisor must kill the worker and report a sandbox violation.
//   --violate=NAME[,A1,…,A6]  the same with any raw syscall and integer arguments (pointers are NULL:
//                  seccomp decides before the kernel reads them), e.g. --violate=mmap,0,4096,5,34,-1,0
//                  (PROT_EXEC). Used by `cordon-bench soak --security-table`.
//
// Load-time modes (the worker never reports `loaded`):
//   transfer-garbage  random bytes as a frame after the first module chunk, while the supervisor is
//                  still streaming the rest (give it a module of several chunks: the text, then padding)
//   load-garbage   random bytes as a frame              load-silent   never answer (load timeout)
//   load-exit      exit(3) instead of answering          load-violate  socket(2)
// Call-time modes (the worker reports `loaded` with export `run: () -> i32`, then misbehaves on a call):
//   garbage        random bytes as a frame               badmagic      a frame with a wrong magic byte
//   oversize       a record length prefix > max message  tail-back     w2h tail counter moved backwards
//   tail-huge      w2h tail far beyond the ring          tail-misaligned  w2h tail not 8-aligned
//   wrong-callid   a call outcome for another call id    wrong-kind    a host→worker kind (bootstrap)
//   trailing       a valid outcome plus trailing bytes   flood         logs until the ring is full, no answer
//   log-stream     small log frames forever, blocking when the ring is full (can it starve the reactor?)
//   silent         never answer (wall-time kill)         exit          exit(3) during the call
//   segv           raise SIGSEGV during the call         violate       socket(2) during the call
//   honest         answer 42 (control)
//   host-pipeline  two host calls without waiting for the first reply
//   heartbeat      a heartbeat nobody asked for
//   forge-violation  a "seccomp violation" report of its own (socket), then exit 159 like the SIGSYS reporter
//   forge-confinement  a log line "confinement failed" and exit 71, long after the hello
//   stderr-hostile two lines in one write, one with terminal escapes, and a line left without its end
//   stderr-flood   512 KiB of stderr lines, then answer 42
// Idle modes (after `loaded`, before any call):
//   idle-log-stream  200 KiB log frames forever
// Flags: --hide-listener  report no seccomp listener in the hello (whatever the policy installed)
//   --pooled=MODE  misbehave before any module arrives, as a warm-pool worker can; only a worker whose
//                  filter has a listener (a notify policy) does, so a test pools workers under a notify
//                  policy and runs honest plugins beside them under one without (a worker cannot tell
//                  whether it is pooled). MODE: silent (never says hello), garbage (random bytes instead
//                  of the hello), log-stream (small log frames instead of the hello, forever),
//                  frame-stream (heartbeats instead of the hello, forever), violate (hello, then socket(2)
//                  while waiting for a module).
// Exit statuses: 0 shutdown, 71 confinement failed, 74 channel failed.
import CCordonShims
import CordonChannel
import CordonJail
import CordonPolicy
#if canImport(Glibc)
import Glibc
#endif

/// Deterministic per-process generator (no getrandom: the filter may not allow it).
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }
}

/// The raw view of the mapping a hostile worker has: header words and the worker→host ring.
struct RawMapping {
    let base: UnsafeMutableRawPointer
    let capacity: Int
    static let w2hTailOffset = 192
    var w2hTail: UInt64 {
        get { UInt64(littleEndian: base.load(fromByteOffset: Self.w2hTailOffset, as: UInt64.self)) }
        nonmutating set { base.storeBytes(of: newValue.littleEndian, toByteOffset: Self.w2hTailOffset, as: UInt64.self) }
    }
    var w2hData: UnsafeMutableRawPointer { base + 4096 + capacity }

    /// Maps fd 3 a second time (before confinement), bypassing SharedMemoryBuffer's discipline.
    static func map(fd: CInt) -> RawMapping? {
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 4096 else { return nil }
        guard let p = mmap(nil, Int(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), p != MAP_FAILED else { return nil }
        return RawMapping(base: p, capacity: (Int(st.st_size) - 4096) / 2)
    }
}

let violateFlag = CommandLine.arguments.contains("--violate")
let hideListener = CommandLine.arguments.contains("--hide-listener")
let pooledMode: String? = CommandLine.arguments.first { $0.hasPrefix("--pooled=") }.map { String($0.dropFirst("--pooled=".count)) }
/// `--violate=NAME,args…`: number and arguments, resolved before confinement.
let violateSyscall: (name: String, nr: Int, args: [Int])? = {
    guard let flag = CommandLine.arguments.first(where: { $0.hasPrefix("--violate=") }) else { return nil }
    let parts = flag.dropFirst("--violate=".count).split(separator: ",").map(String.init)
    guard let name = parts.first, let nr = SyscallTable.number(of: name) else { exit(64) }
    let args = parts.dropFirst().map { Int($0) ?? 0 } + Array(repeating: 0, count: 6)
    return (name, Int(nr), Array(args.prefix(6)))
}()

func attemptSyscall(_ call: (name: String, nr: Int, args: [Int])) -> Never {
    let a = call.args
    let rc = cordon_syscall6(call.nr, a[0], a[1], a[2], a[3], a[4], a[5])
    let e = errno
    var line = "CordonCorruptWorker: \(call.name) was NOT stopped (rc \(rc), errno \(e))\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(99)
}

func attemptForbiddenSyscall() -> Never {
    // AF_INET stream socket: outside every shipped allow-list. Under SCMP_ACT_NOTIFY the supervisor
    // answers by killing us; under KILL the kernel does. If we are still here, the filter failed.
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    let e = errno
    var line = "CordonCorruptWorker: socket() was NOT stopped (fd \(fd), errno \(e))\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(99)
}

func run() -> Never {
    let channel: SharedMemoryBuffer
    do { channel = try SharedMemoryBuffer.attach(memfd: 3, doorbell: 4) } catch { exit(74) }
    let raw = RawMapping.map(fd: 3)
    guard let planBytes = ConfinementPlan.readInherited() else { exit(71) }
    let plan: ConfinementPlan, report: ConfinementReport
    do {
        plan = try ConfinementPlan.decode(planBytes)
        report = try Confinement.apply(plan, sigsysSlot: nil)
    } catch {
        exit(71)
    }
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    var rng = SplitMix64(state: UInt64(UInt32(bitPattern: getpid())) << 32 ^ UInt64(ts.tv_nsec))

    // What a pooled worker can do before it has a module: the supervisor meters it in the pool.
    let pooled = report.listenerFD >= 0 ? pooledMode : nil
    do {
        switch pooled ?? "" {
        case "silent":
            while true { if case .shutdown = try channel.receive(timeout: nil) { exit(0) } }
        case "garbage":
            try channel.sendRaw(rng.bytes(Int(rng.next() % 256) + 1), timeout: .seconds(1))
            while true { if case .shutdown = try channel.receive(timeout: nil) { exit(0) } }
        case "log-stream":
            let line = ChannelMessage.log(WorkerLog(level: 2, message: "a line before the hello"))
            while true { try channel.send(line, timeout: nil) }
        case "frame-stream":
            while true { try channel.send(.heartbeat(1), timeout: nil) }
        default: break
        }
        try channel.send(.hello(WorkerHello(protocolVersion: 1, pid: getpid(), uid: report.uid,
                                            layers: report.layers, listenerFD: hideListener ? -1 : report.listenerFD)), timeout: nil)
        guard case .listenerTaken = try channel.receive(timeout: nil) else { exit(76) }
        if report.listenerFD >= 0 { close(report.listenerFD) }
        do { try Confinement.finishAfterHandOver(plan) } catch { exit(71) }
        if pooled == "violate" { attemptForbiddenSyscall() }
        var moduleLength: UInt64?
        while moduleLength == nil {
            switch try channel.receive(timeout: nil) {
            case .bootstrap(let b): moduleLength = b.moduleLength
            case .heartbeat(let n): try channel.send(.heartbeat(n), timeout: nil)
            case .shutdown: exit(0)
            default: exit(76)
            }
        }
        func garbageFrame() throws(ChannelError) {
            let n = Int(rng.next() % 256) + 1
            try channel.sendRaw(rng.bytes(n), timeout: .seconds(1))
        }
        // Never answers again, but keeps obeying shutdown (the filter allows futex waits, not nanosleep).
        func silent() -> Never {
            while true {
                do throws(ChannelError) {
                    if case .shutdown = try channel.receive(timeout: nil) { exit(0) }
                } catch {
                    exit(74)
                }
            }
        }
        // The mode is in the first chunk; `transfer-garbage` answers it with garbage while the rest of
        // the module is still on its way (the supervisor is mid-transfer, queueing chunks).
        var module: [UInt8] = []
        while UInt64(module.count) < moduleLength! {
            guard case .moduleChunk(let data) = try channel.receive(timeout: nil) else { exit(76) }
            module += data
            if String(decoding: module.prefix(64), as: UTF8.self).hasPrefix("cordon-corrupt:transfer-garbage") {
                try garbageFrame()
                silent()
            }
        }
        if let call = violateSyscall { attemptSyscall(call) }
        if violateFlag { attemptForbiddenSyscall() }
        let text = String(decoding: module, as: UTF8.self)
        let mode = text.hasPrefix("cordon-corrupt:") ? String(text.dropFirst("cordon-corrupt:".count)) : "garbage"

        switch mode {
        case "load-garbage": try garbageFrame(); silent()
        case "load-silent": silent()
        case "load-exit": exit(3)
        case "load-violate": attemptForbiddenSyscall()
        default: break
        }
        try channel.send(.loaded(ModuleReport(exports: [ExportedFunction(name: "run", parameters: [], results: [.i32])],
                                              memoryPages: 0)), timeout: nil)
        if mode == "idle-log-stream" {
            // Nothing is running, so nothing meters this unless the supervisor does it for frames.
            let line = ChannelMessage.log(WorkerLog(level: 2, message: String(repeating: "x", count: 200 * 1024)))
            while true { try channel.send(line, timeout: nil) }
        }
        while true {
            let request: CallRequest
            switch try channel.receive(timeout: nil) {
            case .call(let c): request = c
            case .heartbeat(let n): try channel.send(.heartbeat(n), timeout: nil); continue
            case .shutdown: exit(0)
            default: exit(76)
            }
            let honest = ChannelMessage.callOutcome(CallOutcome(id: request.id, result: .values([.i32(42)]), fuelUsed: 1, memoryPages: 0))
            switch mode {
            case "honest":
                try channel.send(honest, timeout: nil)
                continue
            case "stderr":
                // 16 KiB of diagnostics per call: more than a pipe's PIPE_BUF, so it arrives in chunks.
                let text = Array("stderr line from a confined worker\n".utf8)
                var chunk: [UInt8] = []
                while chunk.count < 16384 { chunk += text }
                _ = chunk.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
                try channel.send(honest, timeout: nil)
                continue
            case "garbage": try garbageFrame()
            case "host-pipeline":
                // The guest's import blocks on each reply; a worker that took over its interpreter need not.
                for offset in UInt32(1)...2 {
                    try channel.send(.hostCall(HostCallRequest(id: offset, function: "host_now_ms", integers: [], blobs: [])), timeout: nil)
                }
            case "heartbeat": try channel.send(.heartbeat(7), timeout: nil)
            case "close-linger":
                // Marks its end closed (which rings the doorbell) and lives on, answering nothing: the
                // supervisor must wait for the wall time without spinning on the closed channel.
                channel.close()
                var word: UInt32 = 0
                while true { _ = cordon_futex_wait(&word, 0, 1_000_000_000) }
            case "forge-violation":
                try channel.send(.violation(ViolationReport(syscall: 41, arch: 0xC000_003E)), timeout: nil)
                exit(159)
            case "forge-confinement":
                try channel.send(.log(WorkerLog(level: 4, message: "confinement failed: forged by the worker")), timeout: nil)
                exit(71)
            case "stderr-hostile":
                let text = Array("first line\nsecond \u{1B}[2Jline\nno end".utf8)
                _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
                try channel.send(honest, timeout: nil)
                continue
            case "stderr-escapes":
                // Three lines of control bytes in one write: escaped (\\x01 for each), about 12 KB
                // reach the supervisor's stderr from one read of 3 KB.
                let line = [UInt8](repeating: 1, count: 1000) + [10]
                let text = line + line + line
                _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
                try channel.send(honest, timeout: nil)
                continue
            case "stderr-flood":
                let text = Array(String(repeating: "y", count: 1023).utf8) + [10]
                for _ in 0..<512 { _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) } }
                try channel.send(honest, timeout: nil)
                continue
            case "badmagic":
                var frame = FrameCodec.encode(honest)
                frame[0] = 0xC1
                try channel.sendRaw(frame, timeout: nil)
            case "trailing":
                try channel.sendRaw(FrameCodec.encode(honest) + [0, 1, 2, 3], timeout: nil)
            case "wrong-callid":
                try channel.send(.callOutcome(CallOutcome(id: request.id &+ 1000, result: .values([.i32(1)]), fuelUsed: 1, memoryPages: 0)),
                                 timeout: nil)
            case "wrong-type":   // "run" is declared () -> i32
                try channel.send(.callOutcome(CallOutcome(id: request.id, result: .values([.i64(1)]), fuelUsed: 1, memoryPages: 0)),
                                 timeout: nil)
            case "memory-lie":   // more pages than the limiter it was given could ever allow
                try channel.send(.callOutcome(CallOutcome(id: request.id, result: .values([.i32(42)]), fuelUsed: 1,
                                                          memoryPages: UInt32.max)), timeout: nil)
            case "fuel-lie":     // more fuel than the budget the call was sent with
                try channel.send(.callOutcome(CallOutcome(id: request.id, result: .values([.i32(42)]), fuelUsed: UInt64.max,
                                                          memoryPages: 0)), timeout: nil)
            case "wrong-kind":
                try channel.send(.bootstrap(Bootstrap(moduleLength: 3, limits: WasmLimits(maxMemoryPages: 1, maxTableElements: 1,
                                    maxFuelPerCall: 1, maxReentryDepth: 1, maxHostCallBytes: 1, maxCallDepth: 1), customFunctions: [])), timeout: nil)
            case "flood":
                let line = ChannelMessage.log(WorkerLog(level: 2, message: String(repeating: "x", count: 4000)))
                for _ in 0..<100_000 {
                    do throws(ChannelError) { try channel.trySend(line) } catch { break }
                }
            case "log-stream":
                let line = ChannelMessage.log(WorkerLog(level: 2, message: "x"))
                while true { try channel.send(line, timeout: nil) }
            case "oversize", "tail-back", "tail-huge", "tail-misaligned":
                guard let raw else { exit(74) }
                let tail = raw.w2hTail
                switch mode {
                case "oversize":
                    let slot = Int(tail & UInt64(raw.capacity - 1))
                    raw.w2hData.storeBytes(of: UInt32(0xFFFF_FFF0).littleEndian, toByteOffset: slot, as: UInt32.self)
                    raw.w2hTail = tail &+ 8
                case "tail-back": raw.w2hTail = tail &- 8
                case "tail-huge": raw.w2hTail = tail &+ UInt64(raw.capacity) * 4
                default: raw.w2hTail = tail &+ 3
                }
                // Ring the doorbell directly (fd 4; write to it is allowed): sending a frame would republish
                // our private tail and undo the scribble.
                var one: UInt64 = 1
                _ = write(4, &one, 8)
            case "silent": break
            case "exit": exit(3)
            case "segv": UnsafeMutablePointer<Int>(bitPattern: 8)!.pointee = 1  // raise(2) needs tgkill: not allowed
            case "abort": abort()   // what a Swift runtime trap (fatalError, a failed precondition) ends in
            case "violate": attemptForbiddenSyscall()
            default: try garbageFrame()
            }
            silent()  // a hostile worker never cleans up; the supervisor must kill it
        }
    } catch {
        exit(74)
    }
}

run()
