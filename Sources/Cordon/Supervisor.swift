import CordonAudit
import CordonChannel
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// How a `Supervisor` runs: where the worker binary is, the audit log, pools and caches.
public struct SupervisorConfiguration: Sendable {
    /// Path of `cordon-worker`; nil finds it next to the running executable (or `CORDON_WORKER`).
    public var workerExecutable: String?
    /// Tenant name stamped on audit records.
    public var tenant: String
    /// The audit log; nil runs without one (development only: nothing is recorded).
    public var auditLog: AuditLog?
    /// What to do while the audit log cannot be written.
    public var auditFailurePolicy: AuditFailurePolicy
    /// Confined, idle workers kept ready per policy, so a load does not pay process start.
    public var warmPoolSize: Int
    /// Time a worker has from spawn to "module loaded" before it is killed.
    public var loadTimeout: Duration
    /// Byte budget of the content-addressed module cache.
    public var moduleCacheBytes: Int
    /// Forward what workers write to their stderr (a pipe) to the supervisor's, prefixed with the pid (diagnostics; off by default).
    public var passWorkerStderr: Bool
    /// Each ring's capacity in the worker channel (power of two).
    public var channelRingCapacity: Int
    /// Where the supervisor logs lifecycle changes, kills, denials and violations (swift-log; silent by default).
    public var logger: Logger = Logger(label: "cordon.supervisor", factory: { _ in SwiftLogNoOpLogHandler() })
    /// Where forwarded worker stderr goes (with `passWorkerStderr`): the supervisor's fd 2 by default,
    /// or another descriptor the application keeps open for the supervisor's lifetime.
    public var workerStderrDestination: Int32 = 2
    /// Forwarded stderr bytes each worker may write per second (with `passWorkerStderr`); beyond it its
    /// lines are dropped and counted, and the drop is said once. A worker must not flood our stderr.
    public var workerStderrBytesPerSecond: UInt32 = 64 * 1024
    /// Extra argv for the worker executable (diagnostics and tests, e.g. a deliberately corrupt worker).
    public var workerArguments: [String] = []
    /// How long the reactor polls for the next event before it sleeps, after a turn that did work.
    /// A reply that lands within it costs no wake-up (tens of µs on a VM); zero never spins.
    public var reactorBusyPoll: Duration = .microseconds(50)
    /// After this long without a call a loaded worker drops its mappings of the worker binary's code
    /// and read-only data: a lone idle worker holds ~2 MiB instead of ~7 MiB, and its next call pays
    /// ~0.1–0.2 ms to fault back what it runs (docs/performance.md). Nil keeps them mapped.
    public var workerIdleRelease: Duration? = .seconds(5)
    /// Where a root supervisor reads the subordinate uid and gid ranges delegated to users. At start
    /// it refuses (`.invalidConfiguration`) when the built-in default policy's worker uids overlap
    /// one, and each load refuses a policy whose range does (docs/policies.md "identity"). A missing
    /// file delegates nothing; an empty list turns the check off.
    public var subordinateIDFiles: [String] = ["/etc/subuid", "/etc/subgid"]
    /// The cgroup each worker joins right after clone, before it gets a module (nil: the supervisor's own).
    /// Failing to join fails the spawn; the name is in each `worker.spawn` audit record.
    public var workerCgroup: WorkerCgroup? = nil

    public init(workerExecutable: String? = nil, tenant: String = "default", auditLog: AuditLog? = nil,
                auditFailurePolicy: AuditFailurePolicy = .refuseNewLoads, warmPoolSize: Int = 0,
                loadTimeout: Duration = .seconds(10), moduleCacheBytes: Int = 64 << 20,
                passWorkerStderr: Bool = false, channelRingCapacity: Int = 512 * 1024) {
        self.workerExecutable = workerExecutable
        self.tenant = tenant
        self.auditLog = auditLog
        self.auditFailurePolicy = auditFailurePolicy
        self.warmPoolSize = warmPoolSize
        self.loadTimeout = loadTimeout
        self.moduleCacheBytes = moduleCacheBytes
        self.passWorkerStderr = passWorkerStderr
        self.channelRingCapacity = channelRingCapacity
    }

    /// Throws `.invalidConfiguration` naming the first field the supervisor cannot use.
    public func validate() throws(CordonError) {
        func fail(_ field: String, _ reason: String) -> CordonError { .invalidConfiguration(field: field, reason: reason) }
        guard warmPoolSize >= 0 else { throw fail("warmPoolSize", "\(warmPoolSize) is negative") }
        guard loadTimeout > .zero else { throw fail("loadTimeout", "\(loadTimeout) is not positive") }
        guard moduleCacheBytes >= 0 else { throw fail("moduleCacheBytes", "\(moduleCacheBytes) is negative") }
        guard reactorBusyPoll >= .zero else { throw fail("reactorBusyPoll", "\(reactorBusyPoll) is negative") }
        if let idle = workerIdleRelease {
            // The worker gets it in milliseconds, as a u32 (0 means never).
            guard idle >= .zero, idle <= .milliseconds(UInt32.max) else {
                throw fail("workerIdleRelease", "\(idle) is outside 0…\(UInt32.max) ms (nil turns the release off)")
            }
        }
        do { try ChannelConfiguration(ringCapacity: channelRingCapacity).validate() } catch {
            throw fail("channelRingCapacity", "\(error)")
        }
    }
}

/// Hosts untrusted WebAssembly plugins, one confined worker process each, from one event-loop
/// thread: loads, calls, limits, kills, restarts, events and audit records.
public final class Supervisor: Sendable {
    let reactor: Reactor
    let spawner: SpawnThread
    let core: SupervisorCore
    let hub: EventHub

    /// Starts the supervisor's reactor thread. Throws if the configuration is invalid or the worker
    /// executable cannot be found.
    public init(configuration: SupervisorConfiguration = SupervisorConfiguration()) throws(CordonError) {
        try configuration.validate()
        let root = geteuid() == 0
        let executable = try WorkerBinary(path: try Self.locateWorker(configuration.workerExecutable), runningAsRoot: root)
        // Worker uids matter only to a root supervisor (otherwise every worker runs as its own uid).
        var subordinateIDs: SubordinateIDs?
        if root {
            let ids = try SubordinateIDs(files: configuration.subordinateIDFiles)
            let builtin = SandboxPolicy.builtinDefault
            if let overlap = ids.overlap(with: UidRange(builtin.identity), policy: builtin.name) {
                throw .invalidConfiguration(field: "subordinateIDFiles", reason: overlap)
            }
            subordinateIDs = ids
        }
        Self.raiseFileLimit()
        reactor = try Reactor(busyPoll: configuration.reactorBusyPoll)
        spawner = SpawnThread()
        hub = EventHub()
        core = SupervisorCore(reactor: reactor, spawner: spawner, configuration: configuration,
                              workerExecutable: executable, subordinateIDs: subordinateIDs, hub: hub)
        let core = self.core
        reactor.execute { core.start() }
    }

    deinit {
        let core = self.core
        // Spawns in flight finish and hand their workers to the reactor first, so that
        // terminateAll finds (and reaps) every one.
        spawner.stop()
        reactor.execute { core.terminateAll(reason: "supervisor released") }
        reactor.stop()
        hub.finish()
    }

    /// The supervisor's event-loop thread, as a task executor. A task that prefers it
    /// (`withTaskExecutorPreference(supervisor.executor) { … }`) makes its calls without the two
    /// thread hand-offs between the caller's thread and the supervisor's, which are most of the fixed
    /// cost of a short call (docs/performance.md). The price: the task's own code then runs on the
    /// thread that serves every worker, so it must not block or compute at length — only call and
    /// await, as with `HostExecution.reactor`.
    public var executor: any TaskExecutor { reactor }

    /// Every lifecycle change, call outcome, breach, denial, violation, kill and restart. Each access
    /// is a new subscription; every subscription ends when `shutdown()` returns (one made after it
    /// is empty).
    public var events: AsyncStream<PluginEvent> { hub.subscribe() }

    /// Loads `module` into a fresh confined worker and waits until it is ready for calls.
    /// - Parameters:
    ///   - manifest: the plugin's name (at most one loaded plugin per name), the capabilities it asks
    ///     for, its configuration and its number of workers.
    ///   - module: the WebAssembly binary; one over the policy's `wasm.maxModuleBytes` is refused
    ///     before any worker is spawned.
    ///   - policy: the confinement: seccomp filter, namespaces, rlimits and WebAssembly limits.
    ///   - host: the application's functions that serve the guest's host calls.
    ///   - grant: capabilities the application grants; the effective set is `grant ∩ manifest.capabilities`
    ///     (nil grants what the manifest asks).
    ///   - limits: per-plugin limits, used as given (not clamped to the policy's); nil takes the policy's.
    ///   - restart: when a dead worker is replaced, and how soon.
    ///   - wasi: a WASI program's arguments, environment and preopened directories (docs/wasi.md);
    ///     preopens need `filesystem` in the grant, or the load fails naming it.
    /// - Returns: the handle through which the application calls the plugin.
    public func load(manifest: PluginManifest, module: [UInt8], policy: SandboxPolicy = .builtinDefault,
                     host: any HostFunctions = InMemoryHost(), grant: Set<PluginCapability>? = nil,
                     limits: ResourceLimits? = nil, restart: RestartPolicy = RestartPolicy(),
                     wasi: WASIConfiguration = WASIConfiguration()) async throws(CordonError) -> PluginHandle {
        try await load(manifest: manifest, module: module, format: .binary, policy: policy, host: host, grant: grant,
                       limits: limits, restart: restart, wasi: wasi)
    }

    /// Loads the module in the file at `path`, like `load(manifest:module:…)`: a WebAssembly binary
    /// (it starts with `\0asm`), otherwise WebAssembly text (`.wat`); an empty file, or a `.wasm` one
    /// without the magic, is `.invalidModule(stage: "parse", …)` before any worker is spawned.
    /// Text is not parsed here: it goes to the confined worker as it is, and the worker assembles it
    /// after confinement; invalid text fails with `.invalidModule(stage: "wat", …)`. The policy's
    /// `wasm.maxModuleBytes` bounds the file, text or binary, before any worker is spawned. A file
    /// that cannot be read is `.fileNotFound(path:)` or `.unreadableFile(path:errno:)`.
    public func load(manifest: PluginManifest, path: String, policy: SandboxPolicy = .builtinDefault,
                     host: any HostFunctions = InMemoryHost(), grant: Set<PluginCapability>? = nil,
                     limits: ResourceLimits? = nil, restart: RestartPolicy = RestartPolicy(),
                     wasi: WASIConfiguration = WASIConfiguration()) async throws(CordonError) -> PluginHandle {
        let file = try ModuleFile.read(path: path, policy: policy)
        return try await load(manifest: manifest, module: file.bytes, format: file.format, policy: policy, host: host,
                              grant: grant, limits: limits, restart: restart, wasi: wasi)
    }

    private func load(manifest: PluginManifest, module: [UInt8], format: ModuleFormat, policy: SandboxPolicy,
                      host: any HostFunctions, grant: Set<PluginCapability>?, limits: ResourceLimits?,
                      restart: RestartPolicy, wasi: WASIConfiguration) async throws(CordonError) -> PluginHandle {
        // Refused here, before the reactor, a worker or a hash is involved: the limit is the caller's.
        if let refusal = SupervisorCore.moduleSizeRefusal(module.count, policy: policy) { throw refusal }
        let granted = grant.map { $0.intersection(manifest.capabilities) } ?? manifest.capabilities
        try wasi.validate(granted: granted)
        // Hashed on the caller's thread, once per load: 20 MB take tens of milliseconds the reactor
        // (every worker's event loop) must not spend.
        let request = LoadRequest(manifest: manifest, module: module, moduleFormat: format,
                                  moduleSHA256: ModuleCache.digest(module), policy: policy, host: host,
                                  granted: granted,
                                  limits: limits ?? ResourceLimits(policy: policy), restart: restart, wasi: wasi)
        let core = self.core
        let id: String = try await withCheckedContinuation { (continuation: CheckedContinuation<Result<String, CordonError>, Never>) in
            reactor.execute { core.load(request) { continuation.resume(returning: $0) } }
        }.get()
        return PluginHandle(id: id, manifest: manifest, supervisor: self)
    }

    /// Keeps `count` confined idle workers ready for `policy`.
    public func prewarm(policy: SandboxPolicy = .builtinDefault, count: Int) async {
        let core = self.core
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            reactor.execute { core.prewarm(policy: policy, count: count) { continuation.resume() } }
        }
    }

    /// Stops every plugin: asks workers to exit, kills those still alive after `gracePeriod`, reaps all.
    /// Then every `events` sequence ends (after the events of the shutdown itself), so a
    /// `for await event in supervisor.events` loop finishes.
    public func shutdown(gracePeriod: Duration = .seconds(2)) async {
        let core = self.core
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            reactor.execute { core.shutdown(grace: gracePeriod) { continuation.resume() } }
        }
        hub.finish()
    }

    /// A snapshot of the supervisor.
    public func stats() async -> RuntimeStats {
        let core = self.core
        return await withCheckedContinuation { continuation in
            reactor.execute { continuation.resume(returning: core.stats()) }
        }
    }

    /// Every loaded plugin (starting, ready, paused, failed: all but those being unloaded), in load order.
    public func plugins() async -> [PluginInfo] {
        await registry { $0.map(\.info) }
    }

    /// The plugins whose effective grant includes `capability`, in load order.
    public func plugins(granting capability: PluginCapability) async -> [PluginInfo] {
        await registry { $0.filter { $0.granted.contains(capability) }.map(\.info) }
    }

    /// The handle of the plugin loaded under `id`, or nil when there is none (never loaded, unloaded,
    /// or its load failed).
    public func plugin(id: String) async -> PluginHandle? {
        let found = await registry { records in records.first { $0.id == id }.map { ($0.id, $0.manifest) } }
        return found.map { PluginHandle(id: $0.0, manifest: $0.1, supervisor: self) }
    }

    /// Runs `body` on the reactor over the plugins not being unloaded, oldest load first.
    private func registry<T: Sendable>(_ body: @escaping ([PluginRecord]) -> T) async -> T {
        let core = self.core
        return await withCheckedContinuation { continuation in
            reactor.execute {
                let records = core.plugins.values.filter { !$0.unloading }.sorted { $0.sequence < $1.sequence }
                continuation.resume(returning: body(records))
            }
        }
    }

    /// Empties the module cache (the bytes it keeps and the rejections it remembers); the next load of
    /// any module is a miss. Loaded plugins keep their own copy of their module and are not affected.
    public func clearModuleCache() async {
        let core = self.core
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            reactor.execute {
                core.cache.clear()
                continuation.resume()
            }
        }
    }

    private static func locateWorker(_ explicit: String?) throws(CordonError) -> String {
        var candidates: [String] = []
        if let explicit { candidates.append(explicit) }
        if let env = ProcessInfo.processInfo.environment["CORDON_WORKER"] { candidates.append(env) }
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            let dir = (exe as NSString).deletingLastPathComponent
            candidates.append(dir + "/cordon-worker")
            // A test bundle sits next to the products: .build/debug/CordonPackageTests.xctest
            candidates.append((dir as NSString).deletingLastPathComponent + "/cordon-worker")
        }
        for candidate in candidates where access(candidate, X_OK) == 0 {
            return candidate.hasPrefix("/") ? candidate : FileManager.default.currentDirectoryPath + "/" + candidate
        }
        throw .fileNotFound(path: explicit ?? "cordon-worker (looked next to the running executable; set CORDON_WORKER)")
    }

    /// Each worker holds three supervisor fds (pidfd, doorbell, listener): 1,000 workers need more
    /// than the usual soft limit of 1,024.
    private static func raiseFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = min(limit.rlim_max, 1 << 20)
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}

/// A loaded plugin. Calls are serialized per worker; a manifest may ask for several workers.
public struct PluginHandle: Sendable, Hashable {
    /// Unique id of this load (a reload keeps it).
    public let id: String
    public let manifest: PluginManifest
    let supervisor: Supervisor

    public static func == (a: PluginHandle, b: PluginHandle) -> Bool { a.id == b.id }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }

    /// Calls an export with typed values; results come back typed.
    public func call(_ export: String, _ arguments: [WasmValue] = []) async throws(CordonError) -> [WasmValue] {
        switch try await submit(export: export, arguments: arguments, input: nil) {
        case .values(let values): return values
        case .bytes, .command: throw .protocolViolation("bytes returned for a value call")
        }
    }

    /// Calls an export under the bytes convention (docs/abi.md): bytes in, bytes out.
    public func call(_ export: String, bytes: [UInt8]) async throws(CordonError) -> [UInt8] {
        switch try await submit(export: export, arguments: [], input: bytes) {
        case .bytes(let bytes): return bytes
        case .values, .command: throw .protocolViolation("values returned for a bytes call")
        }
    }

    /// Runs the module as a WASI command: calls `_start` with `stdin` as fd 0, and returns the exit
    /// status and what the program wrote to stdout and stderr (docs/wasi.md). Arguments,
    /// environment and preopens are the load's `WASIConfiguration`.
    public func run(stdin: [UInt8] = []) async throws(CordonError) -> CommandOutput {
        let core = supervisor.core
        let id = self.id
        let value = try await withCheckedContinuation { (continuation: CheckedContinuation<Result<CallValue, CordonError>, Never>) in
            supervisor.reactor.execute {
                core.call(plugin: id, export: "_start", arguments: [], input: nil, stdin: stdin) { result, _ in continuation.resume(returning: result) }
            }
        }.get()
        guard case .command(let output) = value else { throw .protocolViolation("a value result for a WASI command") }
        return output
    }

    /// `call(_:_:)` with the fuel the call used and its duration.
    package func callWithReport(_ export: String, _ arguments: [WasmValue] = []) async throws(CordonError) -> CallReport<[WasmValue]> {
        let (value, cost) = try await submitReporting(export: export, arguments: arguments, input: nil)
        guard case .values(let values) = value else { throw .protocolViolation("bytes returned for a value call") }
        return CallReport(output: values, fuelUsed: cost.fuelUsed, duration: cost.duration)
    }

    /// `callWithReport` for a caller that is not a task: the call starts on the reactor, and
    /// `completion` runs exactly once, on the reactor thread, so it must only hand the outcome on
    /// (`cordon serve`'s event-loop call path gives it to the connection's event loop). `input`
    /// non-nil: the bytes convention.
    package func startCall(_ export: String, _ arguments: [WasmValue], input: [UInt8]?,
                           completion: @escaping @Sendable (Result<CallReport<CallValue>, CordonError>) -> Void) {
        let core = supervisor.core
        let id = self.id
        supervisor.reactor.execute {
            core.call(plugin: id, export: export, arguments: arguments, input: input) { result, cost in
                completion(result.map { CallReport(output: $0, fuelUsed: cost.fuelUsed, duration: cost.duration) })
            }
        }
    }

    private func submit(export: String, arguments: [WasmValue], input: [UInt8]?) async throws(CordonError) -> CallValue {
        try await submitReporting(export: export, arguments: arguments, input: input).0
    }

    private func submitReporting(export: String, arguments: [WasmValue], input: [UInt8]?) async throws(CordonError) -> (CallValue, CallCost) {
        let core = supervisor.core
        let reactor = supervisor.reactor
        let id = self.id
        // Unsafe, not checked: `core.call` completes exactly once (`PendingCall.finish` drops its
        // completion as it runs it), and the checked wrapper's allocation and atomics were a visible
        // part of the fixed cost of a call.
        let (result, cost) = await withUnsafeContinuation { (continuation: UnsafeContinuation<(Result<CallValue, CordonError>, CallCost), Never>) in
            // A caller on `Supervisor.executor` is already on the reactor thread: the call starts now,
            // and its completion resumes the caller on the same thread, with no hand-off either way.
            // A local function, not a closure for `runNowOrQueue`: called directly it needs no context
            // allocation, which only the hand-off to another thread makes.
            func start() {
                core.call(plugin: id, export: export, arguments: arguments, input: input) { continuation.resume(returning: ($0, $1)) }
            }
            if reactor.isCurrent { start() } else { reactor.execute(start) }
        }
        return (try result.get(), cost)
    }

    /// The plugin's state now.
    public func state() async -> PluginState { await query { $0.state } ?? .stopped }
    /// The plugin's counters now.
    public func metrics() async -> PluginMetrics { await query { $0.metricsSnapshot() } ?? PluginMetrics() }
    /// The exports the module reported, with their signatures.
    public func exports() async -> [ExportedFunction] { await query { $0.exports } ?? [] }
    /// Exported functions that cannot be called (a `v128` or reference-typed parameter or result),
    /// each with the type that prevents it; a call to one throws `.unsupportedSignature`.
    public func unsupportedExports() async -> [UnsupportedExport] { await query { $0.unsupportedExports } ?? [] }
    /// Pids of the live workers serving this plugin.
    public func workerPIDs() async -> [Int32] { await query { $0.workers.compactMap { $0.process?.pid } } ?? [] }
    /// The isolation layers the first worker achieved.
    public func isolationLayers() async -> [String] { (await query { $0.workers.first?.process?.achievedLayers ?? [] }) ?? [] }

    private func query<T: Sendable>(_ body: @escaping (PluginRecord) -> T) async -> T? {
        let core = supervisor.core
        let id = self.id
        return await withCheckedContinuation { continuation in
            supervisor.reactor.execute { continuation.resume(returning: core.plugins[id].map(body)) }
        }
    }

    /// Stops the plugin's workers (SIGSTOP) so that they use no CPU, and refuses its calls with
    /// `.unavailable(state: .paused)` until `resume()`: refused rather than queued, so a paused plugin
    /// holds no callers and no memory for them. Calls queued now fail the same way; a call already
    /// running finishes first (within its wall time), and `pause` returns once none runs. Workers that
    /// restart or reload meanwhile are stopped as soon as they are loaded. Unload, reload and shutdown
    /// work on a paused plugin. Throws `.unavailable` for a plugin that is not loaded (or failed).
    public func pause() async throws(CordonError) {
        let core = supervisor.core
        let id = self.id
        try await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, CordonError>, Never>) in
            supervisor.reactor.execute { core.pause(plugin: id) { continuation.resume(returning: $0) } }
        }.get()
    }

    /// Continues a paused plugin's workers (SIGCONT); calls are taken again. A no-op for a plugin
    /// that is not paused.
    public func resume() async throws(CordonError) {
        let core = supervisor.core
        let id = self.id
        try await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, CordonError>, Never>) in
            supervisor.reactor.execute { core.resume(plugin: id) { continuation.resume(returning: $0) } }
        }.get()
    }

    /// Stops the plugin's workers and forgets it; pending calls fail with `.unavailable`.
    public func unload() async {
        let core = supervisor.core
        let id = self.id
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            supervisor.reactor.execute { core.unload(plugin: id, reason: "unloaded by the application") { continuation.resume() } }
        }
    }

    /// Replaces the plugin's workers with fresh ones (optionally running a new module), resetting
    /// its restart budget. Plugin state never survives a reload.
    public func reload(module: [UInt8]? = nil) async throws(CordonError) {
        let core = supervisor.core
        let id = self.id
        // As in `load`: the digest is computed here, not on the reactor.
        let replacement = module.map { (bytes: $0, sha256: ModuleCache.digest($0)) }
        try await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, CordonError>, Never>) in
            supervisor.reactor.execute { core.reload(plugin: id, module: replacement) { continuation.resume(returning: $0) } }
        }.get()
    }
}

/// What a call returned: values, bytes (the bytes convention), or a WASI command's output.
package enum CallValue: Sendable { case values([WasmValue]), bytes([UInt8]), command(CommandOutput) }

/// Everything `load` needs, bundled to cross to the reactor thread.
struct LoadRequest: @unchecked Sendable {
    var manifest: PluginManifest
    var module: [UInt8]
    /// Binary or WebAssembly text (which only the worker parses).
    var moduleFormat: ModuleFormat = .binary
    /// `ModuleCache.digest(module)`, computed before the hop to the reactor.
    var moduleSHA256: String
    var policy: SandboxPolicy
    var host: any HostFunctions
    var granted: Set<PluginCapability>
    var limits: ResourceLimits
    var restart: RestartPolicy
    var wasi: WASIConfiguration = WASIConfiguration()
}
