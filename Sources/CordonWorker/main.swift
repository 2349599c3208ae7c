// cordon-worker: one confined process per plugin. It confines itself fully (CordonJail, in the fixed
// order of docs/policies.md) BEFORE it reads a single plugin byte, then runs the module in WasmKit and
// answers the supervisor over the shared-memory channel. Single-threaded and Foundation-free on purpose:
// the seccomp filter allows no thread creation and no file access.
import CordonChannel
import CordonJail
import CordonWorkerRuntime
#if canImport(Glibc)
import Glibc
#endif

/// Exit codes the supervisor classifies (docs/architecture.md).
enum WorkerExitCode {
    static let shutdown: Int32 = 0
    static let confinementFailed: Int32 = 71
    static let channelFailed: Int32 = 74
    static let protocolError: Int32 = 76
}

/// Host calls go to the supervisor and block until its reply; a shutdown request ends the process.
final class ChannelTransport: HostCallTransport {
    let channel: SharedMemoryBuffer
    init(channel: SharedMemoryBuffer) { self.channel = channel }

    func perform(_ request: HostCallRequest) throws -> HostCallReply {
        try channel.send(.hostCall(request), timeout: nil)
        while true {
            switch try channel.receive(timeout: nil) {
            case .hostReply(let reply): return reply
            case .shutdown: exit(WorkerExitCode.shutdown)
            case .heartbeat(let n): try channel.send(.heartbeat(n), timeout: nil)
            default: throw HostTransportFailure(reason: "unexpected message while waiting for a host reply")
            }
        }
    }

    func emit(_ output: OutputChunk) throws {
        try channel.send(.output(output), timeout: nil)
    }
}

func fail(_ channel: SharedMemoryBuffer?, _ code: Int32, _ message: String) -> Never {
    try? channel?.send(.log(WorkerLog(level: 4, message: message)), timeout: .seconds(1))
    exit(code)
}

/// Receives the `moduleChunk` frames that follow the bootstrap until exactly `length` bytes arrived.
/// The length comes from the supervisor, which capped it (`wasm.maxModuleBytes`), so it is allocated
/// up front; a chunk past it, an empty chunk, or any other message is a protocol error (a shutdown
/// still ends the worker cleanly).
func receiveModule(_ channel: SharedMemoryBuffer, length announced: UInt64) throws(ChannelError) -> [UInt8] {
    guard let length = Int(exactly: announced) else {
        fail(channel, WorkerExitCode.protocolError, "module length \(announced) is not addressable")
    }
    var module: [UInt8] = []
    module.reserveCapacity(length)
    while module.count < length {
        switch try channel.receive(timeout: nil) {
        case .moduleChunk(let data):
            guard !data.isEmpty, data.count <= length - module.count else {
                fail(channel, WorkerExitCode.protocolError,
                     "module chunk of \(data.count) bytes after \(module.count) of \(length)")
            }
            module.append(contentsOf: data)
        case .shutdown: exit(WorkerExitCode.shutdown)
        default: fail(channel, WorkerExitCode.protocolError, "expected moduleChunk (\(module.count) of \(length) bytes received)")
        }
    }
    return module
}

/// The longest prefix of `text` that is at most `bytes` UTF-8 bytes, cut between scalars (a cut inside
/// one would make the frame's string invalid UTF-8, which the supervisor refuses).
func utf8Prefix(_ text: String, _ bytes: Int) -> String {
    var out = String.UnicodeScalarView()
    var used = 0
    for scalar in text.unicodeScalars {
        used += UTF8.width(scalar)
        guard used <= bytes else { break }
        out.append(scalar)
    }
    return String(out)
}

func runWorker() -> Never {
    let channel: SharedMemoryBuffer
    do { channel = try SharedMemoryBuffer.attach(memfd: 3, doorbell: 4) } catch {
        exit(WorkerExitCode.channelFailed)
    }
    guard let planBytes = ConfinementPlan.readInherited() else { fail(channel, WorkerExitCode.confinementFailed, "cannot read the confinement plan (fd 5)") }
    let plan: ConfinementPlan, report: ConfinementReport
    do {
        plan = try ConfinementPlan.decode(planBytes)
        report = try Confinement.apply(plan, sigsysSlot: nil)
    } catch {
        fail(channel, WorkerExitCode.confinementFailed, "confinement failed: \(error)")
    }
    // Confined from here on: only the allow-listed syscalls work.
    do {
        try channel.send(.hello(WorkerHello(protocolVersion: 1, pid: getpid(), uid: report.uid,
                                            layers: report.layers, listenerFD: report.listenerFD)), timeout: nil)
        // The supervisor acknowledges every hello with listenerTaken, whether or not there was a listener.
        guard case .listenerTaken = try channel.receive(timeout: nil) else {
            fail(channel, WorkerExitCode.protocolError, "expected listenerTaken")
        }
        // Keeping it would let a compromised worker answer its own notifications.
        if report.listenerFD >= 0 { close(report.listenerFD) }
        do { try Confinement.finishAfterHandOver(plan) } catch {
            fail(channel, WorkerExitCode.confinementFailed, "confinement failed: \(error)")
        }
        // A cold spawn finds its bootstrap already queued behind listenerTaken; only a worker that
        // waits (in the warm pool) spends the time faulting in the interpreter ahead of its load.
        var first = try channel.tryReceive()
        if first == nil { PluginRuntime.warmUp() }
        var bootstrap: Bootstrap?
        while bootstrap == nil {
            let message: ChannelMessage
            if let queued = first { message = queued; first = nil } else { message = try channel.receive(timeout: nil) }
            switch message {
            case .bootstrap(let b): bootstrap = b
            case .shutdown: exit(WorkerExitCode.shutdown)
            case .heartbeat(let n): try channel.send(.heartbeat(n), timeout: nil)
            default: fail(channel, WorkerExitCode.protocolError, "expected bootstrap")
            }
        }
        var module = try receiveModule(channel, length: bootstrap!.moduleLength)
        let transport = ChannelTransport(channel: channel)
        let runtime: PluginRuntime
        let loaded = PluginRuntime.load(bootstrap!, module: module, transport: transport)
        // WasmKit keeps what it parsed, not the bytes: the only copy of the module goes now.
        module = []
        switch loaded {
        case .success(let loaded): runtime = loaded
        case .failure(let failure):
            try channel.send(.loadFailed(failure), timeout: nil)
            // Wait to be told to go (or killed): exiting first would race the report.
            while true { if case .shutdown = try channel.receive(timeout: nil) { exit(WorkerExitCode.shutdown) } }
        }
        let idleRelease: Duration? = bootstrap!.idleReleaseMilliseconds == 0 ? nil : .milliseconds(bootstrap!.idleReleaseMilliseconds)
        bootstrap = nil
        try channel.send(.loaded(runtime.report), timeout: nil)
        // Once idle for `idleRelease` the worker stops mapping the binary's code and read-only data
        // (docs/performance.md): the page cache keeps them, and the next call faults back what it uses.
        // The idle time counts from the last call, whatever else arrives in between; nil: nothing to release.
        let clock = ContinuousClock()
        var releaseAt = idleRelease.map { clock.now + $0 }
        while true {
            let message: ChannelMessage
            do { message = try channel.receive(timeout: releaseAt.map { max(.zero, clock.now.duration(to: $0)) }) } catch .timedOut {
                releaseAt = nil
                do { _ = try ImagePages.release() } catch let failure {
                    // Not fatal: the worker only keeps more memory. The supervisor keeps the last log line.
                    try channel.send(.log(WorkerLog(level: 3, message: failure.description)), timeout: nil)
                }
                continue
            }
            switch message {
            case .call(let request):
                try channel.send(.callOutcome(runtime.call(request)), timeout: nil)
                releaseAt = idleRelease.map { clock.now + $0 }
            case .heartbeat(let n): try channel.send(.heartbeat(n), timeout: nil)
            case .shutdown:
                // The plugin's cordon_cleanup runs first; its failure is reported, not fatal.
                if let problem = runtime.cleanup() {
                    try channel.send(.cleanupFailed(utf8Prefix(problem, FrameLimits.maxCleanupReasonBytes)), timeout: nil)
                }
                exit(WorkerExitCode.shutdown)
            default: fail(channel, WorkerExitCode.protocolError, "unexpected message")
            }
        }
    } catch {
        exit(WorkerExitCode.channelFailed)
    }
}

runWorker()
