// Helpers shared by the channel tests: a seeded generator, a real peer process, random messages.
import CCordonShims
@testable import CordonChannel

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Deterministic generator so every randomized case is reproducible from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }
}

/// Failure of the test harness itself (not of the code under test).
struct HarnessError: Error, CustomStringConvertible {
    let description: String
}

/// A CordonTestPeer child process with the channel fds at 3 and 4 (or a socket at 3).
struct PeerProcess {
    let pid: pid_t
    let pidfd: CInt

    /// The test peer executable, built next to the test bundle.
    static var executablePath: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let exe = n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            : CommandLine.arguments[0]
        var dir = exe
        while let last = dir.last, last != "/" { dir.removeLast() }
        // The test binary is .../debug/CordonPackageTests.xctest (a file on Linux); the peer sits beside it.
        return dir + "CordonTestPeer"
    }

    /// Spawns the peer with `arguments`; `fds[i]` becomes fd i in the child.
    static func spawn(_ arguments: [String], fds: [CInt]) throws -> PeerProcess {
        let path = executablePath
        guard access(path, X_OK) == 0 else { throw HarnessError(description: "no test peer at \(path)") }
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = [nil]
        defer { for p in argv { free(p) } }
        let result = argv.withUnsafeBufferPointer { argvBuffer in
            envp.withUnsafeBufferPointer { envBuffer in
                fds.withUnsafeBufferPointer { fdBuffer in
                    var request = cordon_spawn_request(
                        path: argvBuffer[0], argv: argvBuffer.baseAddress, envp: envBuffer.baseAddress,
                        fds: fdBuffer.baseAddress, nfds: Int32(fds.count), clone_flags: 0, death_signal: 0)
                    return cordon_spawn(&request)
                }
            }
        }
        guard result.pid > 0 else {
            throw HarnessError(description: "spawn failed at \(result.step.map { String(cString: $0) } ?? "?"): errno \(result.err)")
        }
        return PeerProcess(pid: result.pid, pidfd: result.pidfd)
    }

    /// Spawns a peer attached to `channel`.
    static func spawn(_ arguments: [String], channel: SharedMemoryBuffer) throws -> PeerProcess {
        let peer = try spawn(arguments, fds: [0, 1, 2, channel.memfd, channel.doorbellFD])
        channel.setPeer(pidfd: peer.pidfd)
        return peer
    }

    /// Sends SIGKILL.
    func kill() { _ = Glibc.kill(pid, SIGKILL) }

    /// Waits for the exit and returns the raw wait status; closes the pidfd.
    @discardableResult
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        Glibc.close(pidfd)
        return status
    }

    /// Whether it exited normally with status 0.
    static func exitedCleanly(_ status: Int32) -> Bool { status & 0x7f == 0 && (status >> 8) & 0xff == 0 }
}

/// Monotonic milliseconds, for bounding how long a wait took.
func nowMilliseconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1_000_000
}

/// Random message generator covering every case and field of the protocol.
enum RandomMessages {
    static func string(_ rng: inout SplitMix64, maxLength: Int = 24) -> String {
        let alphabet: [Character] = ["a", "Z", "_", "0", " ", "é", "λ", "中", "🙂", "\u{0}"]
        return String((0..<rng.below(maxLength + 1)).map { _ in alphabet[rng.below(alphabet.count)] })
    }
    static func value(_ rng: inout SplitMix64) -> WasmValue {
        switch rng.below(4) {
        case 0: .i32(UInt32(truncatingIfNeeded: rng.next()))
        case 1: .i64(rng.next())
        case 2: .f32(UInt32(truncatingIfNeeded: rng.next()))
        default: .f64(rng.next())
        }
    }
    static func types(_ rng: inout SplitMix64) -> [WasmType] {
        let all: [WasmType] = [.i32, .i64, .f32, .f64]
        return (0..<rng.below(5)).map { _ in all[rng.below(4)] }
    }
    static func blob(_ rng: inout SplitMix64, max: Int = 40) -> [UInt8] { rng.bytes(rng.below(max + 1)) }

    /// A random message of the given kind.
    static func message(kind: FrameKind, _ rng: inout SplitMix64) -> ChannelMessage {
        switch kind {
        case .hello:
            .hello(WorkerHello(protocolVersion: UInt16(truncatingIfNeeded: rng.next()),
                               pid: Int32(truncatingIfNeeded: rng.next()), uid: UInt32(truncatingIfNeeded: rng.next()),
                               layers: (0..<rng.below(5)).map { _ in string(&rng) },
                               listenerFD: Int32(truncatingIfNeeded: rng.next())))
        case .loaded:
            .loaded(ModuleReport(exports: (0..<rng.below(4)).map { _ in
                ExportedFunction(name: string(&rng), parameters: types(&rng), results: types(&rng))
            }, memoryPages: UInt32(truncatingIfNeeded: rng.next()),
               unsupported: (0..<rng.below(3)).map { _ in UnsupportedExport(name: string(&rng), type: string(&rng, maxLength: 8)) }))
        case .loadFailed:
            .loadFailed(LoadFailure(stage: LoadFailure.Stage(rawValue: UInt8(1 + rng.below(7)))!, message: string(&rng)))
        case .callOutcome:
            .callOutcome(CallOutcome(id: UInt32(truncatingIfNeeded: rng.next()), result: {
                switch rng.below(4) {
                case 0: return .values((0..<rng.below(5)).map { _ in value(&rng) })
                case 1: return .bytes(blob(&rng))
                case 2: return .exited(Int32(truncatingIfNeeded: rng.next()))
                default: return .trap(TrapKind(rawValue: UInt8(1 + rng.below(12)))!, string(&rng))
                }
            }(), fuelUsed: rng.next(), memoryPages: UInt32(truncatingIfNeeded: rng.next()), droppedOutput: rng.next()))
        case .hostCall:
            .hostCall(HostCallRequest(id: UInt32(truncatingIfNeeded: rng.next()), function: string(&rng),
                                      integers: (0..<rng.below(4)).map { _ in Int64(bitPattern: rng.next()) },
                                      blobs: (0..<rng.below(4)).map { _ in blob(&rng) }))
        case .log:
            .log(WorkerLog(level: UInt8(truncatingIfNeeded: rng.next()), message: string(&rng)))
        case .violation:
            .violation(ViolationReport(syscall: Int32(truncatingIfNeeded: rng.next()),
                                       arch: UInt32(truncatingIfNeeded: rng.next())))
        case .output:
            .output(OutputChunk(id: UInt32(truncatingIfNeeded: rng.next()), stream: rng.below(2) == 0 ? .stdout : .stderr,
                                data: blob(&rng, max: 200)))
        case .cleanupFailed: .cleanupFailed(string(&rng))
        case .listenerTaken: .listenerTaken
        case .bootstrap:
            .bootstrap(Bootstrap(moduleLength: rng.next(), limits: WasmLimits(
                maxMemoryPages: UInt32(truncatingIfNeeded: rng.next()), maxTableElements: UInt32(truncatingIfNeeded: rng.next()),
                maxFuelPerCall: rng.next(), maxReentryDepth: UInt32(truncatingIfNeeded: rng.next()),
                maxHostCallBytes: UInt32(truncatingIfNeeded: rng.next()), maxCallDepth: UInt32(truncatingIfNeeded: rng.next())),
                customFunctions: (0..<rng.below(4)).map { _ in string(&rng) },
                idleReleaseMilliseconds: UInt32(truncatingIfNeeded: rng.next()),
                wasi: WASIBootstrap(arguments: (0..<rng.below(4)).map { _ in string(&rng) },
                                    environment: (0..<rng.below(4)).map { _ in string(&rng) + "=" + string(&rng) },
                                    preopens: (0..<rng.below(3)).map { _ in "/" + string(&rng) },
                                    clockResolutionNanoseconds: 1 + rng.next() % 1_000_000_000,
                                    randomSeed: rng.bytes(FrameLimits.wasiRandomSeedBytes),
                                    maxOutputBytes: UInt32(truncatingIfNeeded: rng.next())),
                moduleFormat: rng.below(2) == 0 ? .binary : .text))
        case .moduleChunk: .moduleChunk(blob(&rng))
        case .call:
            .call(CallRequest(id: UInt32(truncatingIfNeeded: rng.next()), export: string(&rng),
                              arguments: (0..<rng.below(5)).map { _ in value(&rng) },
                              input: rng.below(2) == 0 ? nil : blob(&rng), fuel: rng.next(), stdin: blob(&rng)))
        case .hostReply:
            .hostReply(HostCallReply(id: UInt32(truncatingIfNeeded: rng.next()), status: Int64(bitPattern: rng.next()),
                                     data: blob(&rng)))
        case .shutdown: .shutdown
        case .heartbeat: .heartbeat(rng.next())
        }
    }
}
