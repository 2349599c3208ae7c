import CCordonShims
import CordonAudit
import CordonChannel
import CordonJail
import CordonPolicy
import Crypto
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The supervisor's state machine. Every method runs on the reactor thread, which is what makes the
/// unchecked Sendable sound: the public types only ever hand it closures through `Reactor.execute`.
final class SupervisorCore: @unchecked Sendable {
    let reactor: Reactor
    let spawner: SpawnThread
    let configuration: SupervisorConfiguration
    let workerExecutable: WorkerBinary
    /// A root supervisor's view of /etc/subuid and /etc/subgid (nil without root).
    let subordinateIDs: SubordinateIDs?
    let hub: EventHub
    let audit: SupervisorAudit
    var plugins: [String: PluginRecord] = [:]
    var cache: ModuleCache
    var uidSlots = UidSlots()
    var pool: [String: [PooledWorker]] = [:]
    var shuttingDown = false
    var shutdownWaiters: [() -> Void] = []
    var stopRecorded = false
    var nextPluginNumber = 0
    var poolTargets: [String: (policy: SandboxPolicy, count: Int)] = [:]
    /// BPF programs by policy digest: libseccomp's build dominates a cold spawn otherwise.
    var filters: [String: [UInt8]] = [:]
    var policyDigests: [SandboxPolicy: String] = [:]
    private var lastPolicyDigest: (policy: SandboxPolicy, digest: String)?
    var nextSpawnTicket: UInt64 = 0
    /// Pool workers being spawned, by policy digest (counted toward the pool's target).
    var poolSpawning: [String: Int] = [:]
    /// Withdraws the pool's queued spawns when it is drained.
    var poolCancellation = SpawnCancellation()
    /// Pool refills waiting for a pause in adoptions: since when, and the timer.
    var refillPending: [String: (since: ContinuousClock.Instant, timer: UInt64)] = [:]
    /// Spawns in flight on the spawn thread; shutdown completes only when they are back.
    var spawnsInFlight = 0
    /// Workers spawned too late to be used, killed and awaiting their reap.
    var discarded: [ObjectIdentifier: WorkerProcess] = [:]
    /// Cumulative counters for `RuntimeStats`.
    var totals = Totals()

    struct Totals {
        let startedAt = ContinuousClock.now
        var loads: UInt64 = 0
        var loadFailures: UInt64 = 0
        var calls: UInt64 = 0
        var callFailures: UInt64 = 0
        var restarts: UInt64 = 0
    }

    /// A confined, idle worker waiting for a module.
    struct PooledWorker {
        var process: WorkerProcess
        var tokens: (doorbell: UInt64?, pidfd: UInt64?, listener: UInt64?)
        var ready: Bool
        /// Log lines it sent before its hello (a few are allowed: a confinement failure's explanation).
        var logLines = 0
    }

    init(reactor: Reactor, spawner: SpawnThread, configuration: SupervisorConfiguration, workerExecutable: WorkerBinary,
         subordinateIDs: SubordinateIDs? = nil, hub: EventHub) {
        self.subordinateIDs = subordinateIDs
        self.reactor = reactor
        self.spawner = spawner
        self.configuration = configuration
        self.workerExecutable = workerExecutable
        self.hub = hub
        self.audit = SupervisorAudit(log: configuration.auditLog, tenant: configuration.tenant)
        self.cache = ModuleCache(budget: configuration.moduleCacheBytes)
    }

    func start() {
        audit.record(.supervisorStart(tenant: configuration.tenant, version: CordonVersion.current, pid: getpid()))
    }

    // MARK: - Slots (a distinct uid per live worker, allocated per uid range: UidSlots)

    func takeSlot(policy: SandboxPolicy) -> UInt32? { uidSlots.take(for: policy) }

    func releaseSlot(_ slot: UInt32, of range: UidRange) { uidSlots.release(slot, of: range) }

    /// Returns the slot `process` ran in.
    func releaseSlot(of process: WorkerProcess) { uidSlots.release(process.slot, of: process.uidRange) }

    // MARK: - Load

    func load(_ request: LoadRequest, completion caller: @escaping (Result<String, CordonError>) -> Void) {
        let completion = { [weak self] (result: Result<String, CordonError>) in
            switch result {
            case .success: self?.totals.loads += 1
            case .failure: self?.totals.loadFailures += 1
            }
            caller(result)
        }
        guard !shuttingDown else { return completion(.failure(.shuttingDown)) }
        // One plugin per manifest name: a second load is refused, not run beside the first (reload
        // replaces a plugin). A plugin being unloaded no longer holds its name.
        if let loaded = plugins.values.first(where: { $0.manifest.name == request.manifest.name && !$0.unloading }) {
            return completion(.failure(.alreadyLoaded(name: request.manifest.name, id: loaded.id)))
        }
        if configuration.auditFailurePolicy == .refuseNewLoads, let reason = audit.failure {
            return completion(.failure(.audit("\(reason); new loads are refused until the audit log writes again")))
        }
        // Before hashing, spawning or recording anything: the limit is the supervisor's own, so a module
        // over it is the caller's error, never the worker's.
        if let refusal = Self.moduleSizeRefusal(request.module.count, policy: request.policy) {
            return completion(.failure(refusal))
        }
        let digest = request.moduleSHA256
        if let known = cache.lookup(ModuleCache.key(digest: digest, format: request.moduleFormat)),
           case .rejected(let stage, let message) = known.outcome {
            return completion(.failure(.invalidModule(stage: stage, message: message)))
        }
        if let conflict = uidSlots.conflict(for: request.policy) { return completion(.failure(.invalidPolicy(conflict))) }
        if let overlap = subordinateIDs?.overlap(with: UidRange(request.policy.identity), policy: request.policy.name) {
            return completion(.failure(.invalidPolicy(overlap)))
        }
        var request = request
        // A host call and its reply must fit one channel message, whatever the policy says.
        let channelLimit = UInt32(max(4096, configuration.channelRingCapacity / 2 - 4096))
        request.limits.maxHostCallBytes = min(request.limits.maxHostCallBytes, channelLimit)
        request.limits.maxMessageBytes = min(request.limits.maxMessageBytes, channelLimit)
        nextPluginNumber += 1
        let id = "\(request.manifest.name)-\(nextPluginNumber)"
        let record = PluginRecord(id: id, request: request, moduleSHA256: digest,
                                  policySHA256: self.digest(of: request.policy))
        record.sequence = nextPluginNumber
        plugins[id] = record
        record.loadWaiters.append(completion)
        audit.record(.pluginLoad(tenant: configuration.tenant, plugin: id, manifestName: request.manifest.name,
                                 manifestVersion: request.manifest.version, moduleSHA256: digest,
                                 policyName: request.policy.name, policySHA256: record.policySHA256,
                                 capabilities: request.granted.map(\.description).sorted(),
                                 limits: request.limits.auditDescription,
                                 seccompSkipped: request.policy.seccomp.skippedSyscalls.map(\.name)))
        setState(record, .starting)
        for _ in 0..<max(1, request.manifest.workers) {
            let slot = WorkerSlot()
            record.workers.append(slot)
            startWorker(record, slot)
        }
    }

    /// The error for a module larger than the policy's `wasm.maxModuleBytes`, or nil when it fits.
    static func moduleSizeRefusal(_ size: Int, policy: SandboxPolicy) -> CordonError? {
        let limit = policy.wasm.maxModuleBytes
        guard UInt64(size) > limit else { return nil }
        return .invalidModule(stage: "size", message: "the module is \(size) bytes; policy '\(policy.name)' allows at most \(limit) (wasm.maxModuleBytes)")
    }

    /// `SandboxPolicy.sha256` (for audit records, the pool and the filter cache), memoized: serializing and hashing a whole policy costs more than a warm load
    /// should — the last policy seen is compared first, which is nearly free when it
    /// shares storage with the one asked about (every load of `.builtinDefault` does).
    func digest(of policy: SandboxPolicy) -> String {
        if let last = lastPolicyDigest, last.policy == policy { return last.digest }
        if let known = policyDigests[policy] {
            lastPolicyDigest = (policy, known)
            return known
        }
        let digest = policy.sha256
        if policyDigests.count > 64 { policyDigests.removeAll() }
        policyDigests[policy] = digest
        lastPolicyDigest = (policy, digest)
        return digest
    }

    /// Starts (or restarts) the worker of `slot`: from the warm pool when one is ready, else a spawn.
    func startWorker(_ record: PluginRecord, _ slot: WorkerSlot) {
        slot.phase = .spawning
        slot.current = nil
        slot.lastWorkerLog = nil
        slot.helloReceived = false
        slot.pendingFailure = nil
        let key = record.policySHA256
        // Pooled workers carry the policy's rlimits; a plugin with its own CPU budget spawns fresh.
        let poolFits = record.limits.maxCPUSecondsPerWorker == record.policy.limits.maxCPUSecondsPerWorker
        if poolFits, var list = pool[key], let index = list.firstIndex(where: { $0.ready }) {
            let pooled = list.remove(at: index)
            pool[key] = list
            adopt(pooled, into: slot, record: record)
            scheduleRefill(policy: record.policy, key: key)
            return
        }
        guard let uidSlot = takeSlot(policy: record.policy) else {
            failStart(record, slot, .spawnFailed(step: "uid range exhausted (\(record.policy.identity.uidRangeCount) slots in use)", errno: EAGAIN))
            return
        }
        nextSpawnTicket += 1
        let ticket = nextSpawnTicket
        slot.spawnTicket = ticket
        let request = spawnRequest(policy: record.policy, digest: record.policySHA256, uidSlot: uidSlot,
                                   cpuSeconds: record.limits.maxCPUSecondsPerWorker)
        spawn(request) { [weak self] result in
            self?.spawned(record, slot, ticket: ticket, uidSlot: uidSlot, result)
        }
    }

    /// A cold spawn came back. The slot may have moved on meanwhile (unload, reload, shutdown): then
    /// the worker is not wanted and is discarded.
    private func spawned(_ record: PluginRecord, _ slot: WorkerSlot, ticket: UInt64, uidSlot: UInt32,
                         _ result: Result<WorkerProcess, CordonError>) {
        let wanted = slot.spawnTicket == ticket && slot.phase == .spawning && !record.unloading && !shuttingDown
        switch result {
        case .failure(let error):
            releaseSlot(uidSlot, of: UidRange(record.policy.identity))
            if wanted { failStart(record, slot, error) }
        case .success(let process) where !wanted:
            discard(process, plugin: record.id, reason: "spawned for a slot that no longer wants it")
        case .success(let process):
            slot.process = process
            CordonMetrics.liveWorkers(liveWorkerCount())
            slot.phase = .confining
            watch(process, slot: slot, record: record)
            armLoadTimer(record, slot, process)
        }
    }

    /// Everything a spawn needs, computed on the reactor and carried to the spawn thread.
    struct SpawnRequest: @unchecked Sendable {
        let executable: WorkerBinary
        let policy: SandboxPolicy
        let uidSlot: UInt32
        let channel: ChannelConfiguration
        let cpuSeconds: UInt64
        let passStderr: Bool
        let arguments: [String]
        let filter: [UInt8]?
        /// Set by the reactor when the spawn is no longer wanted; checked before the spawn starts.
        var cancellation: SpawnCancellation? = nil
    }

    /// A spawn of a worker for `policy` in `uidSlot`, with the executable, channel, stderr and
    /// arguments of this supervisor's configuration and the policy's cached BPF program.
    func spawnRequest(policy: SandboxPolicy, digest: String, uidSlot: UInt32, cpuSeconds: UInt64,
                      cancellation: SpawnCancellation? = nil) -> SpawnRequest {
        SpawnRequest(executable: workerExecutable, policy: policy, uidSlot: uidSlot, channel: channelConfiguration(),
                     cpuSeconds: cpuSeconds, passStderr: configuration.passWorkerStderr,
                     arguments: configuration.workerArguments, filter: filter(for: policy, digest: digest),
                     cancellation: cancellation)
    }

    /// Lets the reactor withdraw spawns still queued on the spawn thread (a drained pool's refill).
    final class SpawnCancellation: Sendable {
        let cancelled = Atomic<Bool>(false)
        func cancel() { cancelled.store(true, ordering: .releasing) }
    }

    /// Spawns on the spawn thread; `completion` runs on the reactor. The WorkerProcess crosses
    /// threads once, whole, before the reactor first touches it.
    func spawn(_ request: SpawnRequest, completion: @escaping (Result<WorkerProcess, CordonError>) -> Void) {
        struct Outcome: @unchecked Sendable { let result: Result<WorkerProcess, CordonError> }
        let reactor = self.reactor
        let cgroup = configuration.workerCgroup
        spawnsInFlight += 1
        spawner.execute {
            let result = Result { () throws(CordonError) -> WorkerProcess in
                if request.cancellation?.cancelled.load(ordering: .acquiring) == true {
                    throw .spawnFailed(step: "withdrawn before it started", errno: ECANCELED)
                }
                let process = try WorkerProcess.spawn(executable: request.executable, policy: request.policy, slot: request.uidSlot,
                                        channelConfiguration: request.channel, cpuSeconds: request.cpuSeconds,
                                        passStderr: request.passStderr, arguments: request.arguments, filter: request.filter)
                if let failure = cgroup?.admit(pid: process.pid) {
                    // Not yet watched by the reactor: kill and reap it here (SIGKILL makes the wait short).
                    process.kill(SIGKILL, reason: "cgroup placement failed")
                    var info = siginfo_t()
                    _ = waitid(idtype_t(rawValue: 3) /* P_PIDFD */, id_t(process.pidfd), &info, WEXITED)
                    process.closeResources()
                    throw failure
                }
                return process
            }
            let outcome = Outcome(result: result)
            reactor.execute { [weak self] in
                if case .success(let process) = outcome.result { self?.forwardStderr(of: process) }
                self?.spawnsInFlight -= 1
                completion(outcome.result)
                self?.checkShutdownComplete()
            }
        }
    }

    /// Copies what the worker writes to its stderr pipe to the supervisor's stderr (or
    /// `workerStderrDestination`) as prefixed, escaped, rate-limited lines (`WorkerStderrLines`),
    /// until the pipe's end of file (the worker's exit). At most 4000 bytes are read per event, and
    /// output is written only while fd 2 can take it at once: a chatty worker or a stalled reader of
    /// our stderr must never block the reactor, so output that cannot be written now is dropped.
    func forwardStderr(of process: WorkerProcess) {
        let fd = process.stderrFD
        let destination = configuration.workerStderrDestination
        guard fd >= 0 else { return }
        var lines = WorkerStderrLines(pid: process.pid, bytesPerSecond: configuration.workerStderrBytesPerSecond)
        func write(_ output: [UInt8]) {
            // POLLOUT on a pipe promises room for one page (PIPE_BUF), not for all of `output`, which
            // escaping makes up to four times the bytes read; a larger write to a blocking pipe would
            // wait for our stderr's reader. So: a page at a time, each after its own poll.
            let page = 4096
            var offset = 0
            while offset < output.count {
                var ready = pollfd(fd: destination, events: Int16(POLLOUT), revents: 0)
                guard poll(&ready, 1, 0) == 1, ready.revents & Int16(POLLOUT) != 0 else { return }
                let count = min(page, output.count - offset)
                let written = output.withUnsafeBytes { Glibc.write(destination, $0.baseAddress! + offset, count) }
                guard written > 0 else { return }
                offset += written
            }
        }
        var token: UInt64?
        token = reactor.watch(fd, events: EPOLLIN.rawValue) { [weak self] _ in
            var buffer = [UInt8](repeating: 0, count: 4000)
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                write(lines.feed(buffer[0..<n]))
                return
            }
            if n < 0, errno == EAGAIN || errno == EINTR { return }
            // End of file (every copy of the write end is closed: the worker is gone) or an error.
            write(lines.finish())
            self?.reactor.unwatch(fd, token: token)
            close(fd)
            process.stderrFD = -1
        }
        process.stderrForwarded = token != nil
    }

    /// Kills a worker nobody wants any more and reaps it; the uid slot is free again after the reap.
    /// Shutdown waits for these reaps too (no zombie outlives the supervisor).
    func discard(_ process: WorkerProcess, plugin: String, reason: String) {
        process.kill(SIGKILL, reason: reason)
        audit.record(.workerKill(tenant: configuration.tenant, plugin: plugin, pid: process.pid, signal: SIGKILL, reason: reason))
        let id = ObjectIdentifier(process)
        let finish = { [weak self] in
            guard let self, self.discarded.removeValue(forKey: id) != nil else { return }
            self.audit.record(.workerExit(tenant: self.configuration.tenant, plugin: plugin, pid: process.pid,
                                          classification: "killed", status: nil, signal: SIGKILL))
            self.releaseSlot(of: process)
            process.closeResources()
            self.checkShutdownComplete()
        }
        var token: UInt64?
        token = reactor.watch(process.pidfd, events: EPOLLIN.rawValue) { [weak self] _ in
            guard let self, process.reap() != nil else { return }
            self.reactor.unwatch(process.pidfd, token: token)
            finish()
        }
        discarded[id] = process
        if token == nil {
            // epoll refused the pidfd: wait here; SIGKILL makes this short.
            var info = siginfo_t()
            _ = waitid(idtype_t(rawValue: 3) /* P_PIDFD */, id_t(process.pidfd), &info, WEXITED)
            finish()
        }
    }

    /// Refills the pool once adoptions pause for 20 ms, and at the latest 250 ms after the first
    /// adoption it has not yet replaced: each spawn takes a core for about 3 ms, which would otherwise
    /// land on the loads of a burst that the pool is serving.
    func scheduleRefill(policy: SandboxPolicy, key: String) {
        let now = ContinuousClock.now
        let first = refillPending[key]?.since ?? now
        if let timer = refillPending[key]?.timer { reactor.cancel(timer: timer) }
        let at = min(now + .milliseconds(20), first + .milliseconds(250))
        let timer = reactor.schedule(at: at) { [weak self] in
            guard let self else { return }
            self.refillPending[key] = nil
            self.refillPool(policy: policy, key: key)
        }
        refillPending[key] = (first, timer)
    }

    /// A worker gets `loadTimeout` from spawn (or adoption) to "module loaded", then it is killed.
    func armLoadTimer(_ record: PluginRecord, _ slot: WorkerSlot, _ process: WorkerProcess) {
        slot.loadTimer = reactor.schedule(at: .now + configuration.loadTimeout) { [weak self, weak slot] in
            guard let self, let slot, slot.process === process, slot.phase == .confining || slot.phase == .loading else { return }
            self.kill(record, slot, process, reason: "load timeout",
                      failure: .timedOut("worker did not load the module within \(self.configuration.loadTimeout)"))
        }
    }

    /// The policy's BPF program, built once per policy.
    func filter(for policy: SandboxPolicy, digest: String) -> [UInt8]? {
        if let cached = filters[digest] { return cached }
        guard let built = try? PolicyCompiler.compileFilter(for: policy, runningAsRoot: geteuid() == 0) else {
            return nil   // compile reports the error
        }
        filters[digest] = built
        return built
    }

    func channelConfiguration() -> ChannelConfiguration {
        // The channel's own frame limit stays the ring's; the policy's message limit is enforced per
        // call by the supervisor (and load() keeps it below this), so a tiny policy value cannot
        // produce a channel that refuses its own protocol frames.
        ChannelConfiguration(ringCapacity: configuration.channelRingCapacity)
    }

    /// Watches the worker's doorbell, pidfd and listener for `slot`. An adopted pool worker's fds are
    /// already in epoll: `adopting` re-points their handlers instead of re-registering them.
    func watch(_ process: WorkerProcess, slot: WorkerSlot, record: PluginRecord,
               adopting tokens: (doorbell: UInt64?, pidfd: UInt64?, listener: UInt64?)? = nil) {
        let onDoorbell: (UInt32) -> Void = { [weak self, weak slot] events in
            guard let self, let slot else { return }
            // No events: the reactor found input by polling the ring (`expectReply`), not the doorbell.
            self.drain(record, slot, process, doorbellRang: events != 0)
        }
        let onExit: (UInt32) -> Void = { [weak self, weak slot] _ in
            guard let self, let slot else { return }
            self.workerExited(record, slot, process)
        }
        slot.doorbellToken = reactor.replaceHandler(tokens?.doorbell, handler: onDoorbell)
            ? tokens?.doorbell : reactor.watch(process.channel.doorbellFD, events: EPOLLIN.rawValue, handler: onDoorbell)
        slot.pidfdToken = reactor.replaceHandler(tokens?.pidfd, handler: onExit)
            ? tokens?.pidfd : reactor.watch(process.pidfd, events: EPOLLIN.rawValue, handler: onExit)
        if process.listenerFD >= 0, !watchListener(process, slot: slot, record: record, adopting: tokens?.listener) { return }
        // Messages may already be waiting (the doorbell only rings for a sleeping host).
        drain(record, slot, process)
    }

    /// Watches the worker's seccomp listener; false (and the worker killed) when epoll refuses it.
    func watchListener(_ process: WorkerProcess, slot: WorkerSlot, record: PluginRecord, adopting token: UInt64? = nil) -> Bool {
        let handler: (UInt32) -> Void = { [weak self, weak slot] events in
            guard let self, let slot else { return }
            self.seccompNotification(record, slot, process, events: events)
        }
        slot.listenerToken = reactor.replaceHandler(token, handler: handler)
            ? token : reactor.watch(process.listenerFD, events: EPOLLIN.rawValue, handler: handler)
        guard slot.listenerToken == nil else { return true }
        kill(record, slot, process, reason: "cannot watch the seccomp listener",
             failure: .confinementFailed(detail: "cannot watch the seccomp listener"))
        return false
    }

    private func failStart(_ record: PluginRecord, _ slot: WorkerSlot, _ error: CordonError) {
        slot.phase = .stopped
        emit(record, nil, .error(error))
        if record.state == .starting {
            resolveLoad(record, .failure(error))
            removePlugin(record, reason: "load failed: \(error)")
        } else {
            considerRestart(record, slot, failure: error)
        }
    }

    func resolveLoad(_ record: PluginRecord, _ result: Result<String, CordonError>) {
        let waiters = record.loadWaiters
        record.loadWaiters = []
        for waiter in waiters { waiter(result) }
    }

    func setState(_ record: PluginRecord, _ state: PluginState) {
        // Paused stays paused through restarts and reloads; only an end (failed, stopped) ends it.
        if record.paused {
            guard state == .failed || state == .stopped else { return }
            record.paused = false
            resolvePause(record, .failure(.unavailable(plugin: record.manifest.name, state: state)))
        }
        guard record.state != state else { return }
        let old = record.state
        record.state = state
        emit(record, nil, .stateChanged(from: old, to: state))
    }

    func emit(_ record: PluginRecord, _ pid: Int32?, _ kind: PluginEvent.Kind) {
        let level: Logger.Level = switch kind {
        case .callCompleted, .stateChanged: .debug
        case .callFailed, .workerExited, .workerSpawned, .restarting: .info
        default: .warning
        }
        let logs = configuration.logger.logLevel <= level
        // A call emits three events; with no subscriber and no log line to write, building them was
        // a measurable part of the call's fixed cost.
        guard logs || hub.hasSubscribers else { return }
        let event = PluginEvent(pluginID: record.id, pluginName: record.manifest.name, workerPID: pid, kind: kind)
        if logs { configuration.logger.log(level: level, "\(event)") }
        hub.emit(event)
    }

    // MARK: - Messages from a worker (hostile input)

    func drain(_ record: PluginRecord, _ slot: WorkerSlot, _ process: WorkerProcess, doorbellRang: Bool = true) {
        // Read first, whatever follows: a drain that returns early (a closed channel, a killed
        // worker, the budget) must not leave the doorbell readable, or epoll (level-triggered) would
        // report it on every turn, and a worker that closes its end and lives on would keep the
        // reactor spinning. A drain the reactor's polling started skips the read: a doorbell that
        // did ring meanwhile is still readable, and epoll starts a drain that reads it.
        if doorbellRang {
            var doorbell: UInt64 = 0
            _ = read(process.channel.doorbellFD, &doorbell, 8)
        }
        var budget = 64
        // Once killed, a worker's words no longer count (a late hello must not rewrite why it died).
        while slot.process === process, process.exit == nil, process.killReason == nil {
            // A worker that never stops talking must not starve the others on this one thread.
            budget -= 1
            if budget == 0 {
                reactor.execute { [weak self, weak slot] in
                    guard let self, let slot else { return }
                    self.drain(record, slot, process)
                }
                return
            }
            let message: ChannelMessage?
            do {
                message = try process.channel.tryReceive()
            } catch let error {
                switch error {
                case .peerDied, .closed: return   // the pidfd will tell us how it ended
                default:
                    protocolViolation(record, slot, process, "\(error)")
                    return
                }
            }
            guard let message else {
                // The worker consumed since we last looked (that is what rang the doorbell, when
                // nothing arrived): hand the ring what is queued for it.
                guard flushOutbox(record, slot, process) else { return }
                // A worker running a call owes an answer, usually within microseconds: polled.
                if slot.phase == .busy, process.outbox.isEmpty { return expectReply(slot, process) }
                // The doorbell was read at the top of this drain (and is read at the top of the next).
                if process.channel.prepareToSleep(drainingDoorbell: false) {
                    // hostWaiting is set now, so a worker that frees room from here on rings; room
                    // it freed before that is seen by this last look.
                    guard !process.outbox.isEmpty, flushOutbox(record, slot, process, progress: true) else { return }
                }
                continue
            }
            handle(message, record, slot, process)
        }
    }

    private func handle(_ message: ChannelMessage, _ record: PluginRecord, _ slot: WorkerSlot, _ process: WorkerProcess) {
        switch message {
        case .hello(let hello):
            guard slot.phase == .confining else { return protocolViolation(record, slot, process, "hello after confinement") }
            slot.helloReceived = true
            process.achievedLayers = hello.layers
            process.seccompMode = hello.listenerFD >= 0 ? "notify" : "kill"
            if record.policy.seccomp.usesNotify, hello.listenerFD < 0 {
                // Without the listener, denied syscalls would fail silently and go unaudited.
                return protocolViolation(record, slot, process, "no seccomp listener under a notify policy")
            }
            if hello.listenerFD >= 0 {
                do { try process.takeListener(workerFD: hello.listenerFD) } catch {
                    return kill(record, slot, process, reason: "could not take the seccomp listener", failure: error)
                }
                guard watchListener(process, slot: slot, record: record) else { return }
            }
            audit.record(.workerSpawn(tenant: configuration.tenant, plugin: record.id, pid: process.pid, uid: hello.uid,
                                      cgroup: configuration.workerCgroup?.name,
                                      requested: Self.requestedLayers(record.policy), achieved: hello.layers,
                                      seccompMode: process.seccompMode))
            emit(record, process.pid, .workerSpawned(layers: hello.layers, uid: hello.uid))
            send(.listenerTaken, record, slot, process)
            slot.phase = .loading
            sendBootstrap(record, slot, process)
        case .loaded(let report):
            guard slot.phase == .loading else { return protocolViolation(record, slot, process, "unexpected 'loaded'") }
            // It cannot have loaded what it has not been sent.
            guard process.outbox.isEmpty else { return protocolViolation(record, slot, process, "'loaded' before the module was sent") }
            cancelLoadTimers(slot)
            let missing = record.manifest.exports.filter { name in !report.exports.contains { $0.name == name } }
            if !missing.isEmpty {
                // Not cached: it is this manifest's promise that fails, not the module bytes.
                let error = CordonError.invalidModule(stage: "link", message: "manifest promises exports the module lacks: \(missing.joined(separator: ", "))")
                record.unloading = true
                resolveLoad(record, .failure(error))
                return kill(record, slot, process, reason: "module rejected", failure: error)
            }
            guard acceptMemoryReport(record, slot, process, pages: report.memoryPages, atLoad: true) else { return }
            record.exports = report.exports
            record.unsupportedExports = report.unsupported
            cache.store(record.cacheKey, bytes: record.module, outcome: .loaded(report.exports))
            slot.phase = .idle
            if record.state != .ready && record.state != .running { setState(record, .ready) }
            // A worker of a paused plugin (a restart, a reload) stops as soon as it is ready.
            stopWorker(record, slot)
            // A load (or reload) is complete when every worker the manifest asked for can take calls.
            if record.workers.allSatisfy({ $0.phase == .idle || $0.phase == .busy }) {
                resolveLoad(record, .success(record.id))
            }
            dispatch(record)
        case .loadFailed(let failure):
            guard slot.phase == .loading else { return protocolViolation(record, slot, process, "unexpected 'loadFailed'") }
            guard process.outbox.isEmpty else { return protocolViolation(record, slot, process, "'loadFailed' before the module was sent") }
            // Only text has a WAT stage: a worker naming it for a binary chooses how its module's
            // rejection is recorded (and cached).
            if failure.stage == .wat, record.moduleFormat != .text {
                return protocolViolation(record, slot, process, "a 'wat' load failure for a binary module")
            }
            cancelLoadTimers(slot)
            let error = loadFailure(record, process, failure)
            record.unloading = true   // the same module under the same host and policy fails every time: no restart
            resolveLoad(record, .failure(error))
            kill(record, slot, process, reason: "module rejected", failure: error)
        case .callOutcome(let outcome):
            guard slot.phase == .busy, let call = slot.current, call.id == outcome.id else {
                return protocolViolation(record, slot, process, "outcome for a call that is not running (id \(outcome.id))")
            }
            completeCall(record, slot, process, call, outcome)
        case .hostCall(let request):
            guard slot.phase == .busy, let call = slot.current else {
                return protocolViolation(record, slot, process, "host call outside a call")
            }
            // The worker blocks on each host call's reply: a second one while the first is served is
            // a worker pipelining calls to multiply the supervisor's work and memory.
            if let outstanding = call.hostCallOutstanding {
                return protocolViolation(record, slot, process, "host call \(request.id) while host call \(outstanding) is outstanding")
            }
            hostCall(record, slot, process, call, request)
        case .output(let chunk):
            // WASI stdout/stderr of the running call, kept for its `CommandOutput`.
            guard slot.phase == .busy, let call = slot.current, call.id == chunk.id else {
                return protocolViolation(record, slot, process, "output for a call that is not running (id \(chunk.id))")
            }
            acceptOutput(record, slot, process, call, chunk)
        case .log(let log):
            // Diagnostics are welcome in every phase (a confinement failure, a failed idle release),
            // but never for free: they draw on the plugin's log byte budget like host_log does.
            let size = log.message.utf8.count
            guard record.logBucket.take(Double(size)) else {
                breach(record, process.pid, .logRate, value: Int64(record.limits.maxLogBytesPerSecond), measured: Int64(size), export: slot.current?.export)
                return protocolViolation(record, slot, process, "log frames over the log byte budget (\(size) bytes, \(record.limits.maxLogBytesPerSecond) bytes/s)")
            }
            slot.lastWorkerLog = String(log.message.prefix(2000))
        case .cleanupFailed(let reason):
            // Only a worker told to stop runs cordon_cleanup, and it reports once, then exits: a
            // report at any other time, or a second one, is a worker choosing what gets recorded.
            guard process.shutdownSent, !process.cleanupReported else {
                return protocolViolation(record, slot, process, "cleanupFailed \(process.shutdownSent ? "twice" : "before a shutdown")")
            }
            process.cleanupReported = true
            let event = AuditEvent.pluginCleanupFailed(tenant: configuration.tenant, plugin: record.id, pid: process.pid, reason: reason)
            audit.record(event)
            guard case .string(let shown)? = event.data["reason"] else { return }
            emit(record, process.pid, .cleanupFailed(reason: shown))
            configuration.logger.warning("[\(record.manifest.name)#\(record.id) pid \(process.pid)] while stopping, worker-reported: \(shown)")
        case .violation:
            // Only the kernel names a denied syscall (the seccomp listener, the pidfd's exit status);
            // a worker that claims one is trying to choose how its death is recorded.
            protocolViolation(record, slot, process, "worker sent a seccomp violation report")
        case .heartbeat:
            // The supervisor sends no heartbeats, so no answer to one is ever due.
            protocolViolation(record, slot, process, "unsolicited heartbeat")
        case .listenerTaken, .bootstrap, .moduleChunk, .call, .hostReply, .shutdown:
            protocolViolation(record, slot, process, "worker sent a supervisor-only message")
        }
    }

    /// In the hello's vocabulary (`RequestedLayers`), for this supervisor's privilege.
    static func requestedLayers(_ policy: SandboxPolicy) -> [String] {
        RequestedLayers.of(policy, runningAsRoot: geteuid() == 0)
    }

    /// Sends `message` behind whatever the outbox holds; the reactor never waits for ring space. A
    /// worker that stops reading keeps its messages queued until its load or call deadline kills it.
    func send(_ message: ChannelMessage, _ record: PluginRecord, _ slot: WorkerSlot, _ process: WorkerProcess) {
        let frame = FrameCodec.encode(message)
        // Nearly always nothing is queued ahead of it: straight into the ring, without the queue.
        if process.outbox.isEmpty {
            // A busy worker will answer this (a call, a host call's reply): "not waiting" is said
            // before the worker can see the frame, or it would ring as it takes it (`expectReply`).
            let expecting = slot.phase == .busy
            if expecting { process.channel.stopWaiting() }
            do {
                try process.channel.trySendRaw(frame)
                if expecting { expectReply(slot, process) }
                return
            } catch .full {
                // The ring is full: the outbox keeps it until the worker frees room.
            } catch {
                channelFailed(record, slot, process, error)
                return
            }
        }
        process.outbox.append(frame: frame)
        guard flushOutbox(record, slot, process) else { return }
        if !process.outbox.isEmpty {
            // What is still queued goes when the worker frees room, which it says through the
            // doorbell only to a host that waits.
            _ = process.channel.prepareToSleep(drainingDoorbell: false)
        } else if slot.phase == .busy {
            // The worker freed room between the two tries and took it all: its answer is due, and
            // "not waiting" may already be said above, so it is polled like the first try's.
            expectReply(slot, process)
        }
    }

    /// Has the reactor poll the ring of a worker that owes an answer (a call, or the rest of one after
    /// a host call's reply) until the reactor next sleeps, instead of waiting for its doorbell. The
    /// worker, told the host is not waiting, publishes without ringing: per call that saves the worker
    /// two system calls (one for the call it consumed, one for its answer) and the reactor two
    /// wake-ups and drains. Before the reactor sleeps it arms the doorbell again (`prepareToSleep`),
    /// so an answer that comes later still wakes it.
    func expectReply(_ slot: WorkerSlot, _ process: WorkerProcess) {
        process.channel.stopWaiting()
        let probes = process.answerProbes
        // Not polled (a worker whose fds are no longer watched): the doorbell is armed again at once,
        // so "not waiting" is never left behind without someone looking.
        guard let token = slot.doorbellToken, slot.process === process,
              reactor.poll(token, ready: probes.ready, arm: probes.arm) else { _ = probes.arm(); return }
    }

    /// Sends the bootstrap, then the module in `moduleChunk` frames as fast as the worker reads them.
    func sendModule(_ bootstrap: Bootstrap, _ record: PluginRecord, _ slot: WorkerSlot, _ process: WorkerProcess) {
        process.outbox.append(frame: FrameCodec.encode(.bootstrap(bootstrap)))
        process.outbox.append(module: record.module, chunkBytes: Self.moduleChunkBytes(process.channel.configuration))
        flushOutbox(record, slot, process)
    }

    /// Bytes of module per chunk: a quarter of the ring, so the worker can copy one chunk out while the
    /// next ones are written, and never more than a message may carry (header and length prefix
    /// included, with room to spare).
    static func moduleChunkBytes(_ channel: ChannelConfiguration) -> Int {
        max(1, min(channel.maxMessageSize, channel.ringCapacity / 4) - 64)
    }

    /// Hands queued frames to the ring. Returns false when the worker is being killed for a channel
    /// error; with `progress`, also false when nothing could be sent.
    @discardableResult
    func flushOutbox(_ record: PluginRecord, _ slot: WorkerSlot, _ process: WorkerProcess, progress: Bool = false) -> Bool {
        guard !process.outbox.isEmpty else { return !progress }
        do {
            let sent = try process.outbox.flush(into: process.channel)
            return sent || !progress
        } catch {
            channelFailed(record, slot, process, error)
            return false
        }
    }

    /// A send that failed for another reason than a full ring: nothing more is sent to this worker.
    private func channelFailed(_ record: PluginRecord, _ slot: WorkerSlot, _ process: WorkerProcess, _ error: ChannelError) {
        process.outbox.removeAll()
        switch error {
        case .closed, .peerDied: return   // the pidfd will tell us how it ended
        default: protocolViolation(record, slot, process, "cannot send to worker: \(error)")
        }
    }

    func protocolViolation(_ record: PluginRecord, _ slot: WorkerSlot, _ process: WorkerProcess, _ reason: String) {
        guard process.killReason == nil else { return }
        audit.record(.protocolViolation(tenant: configuration.tenant, plugin: record.id, pid: process.pid, reason: reason))
        emit(record, process.pid, .protocolViolation(reason: reason))
        kill(record, slot, process, reason: "protocol violation: \(reason)", failure: .protocolViolation(reason))
    }

    /// Kills a worker through its pidfd and audits it; the exit is handled when the pidfd fires.
    /// `failure` is what the running call and the exit are reported as. The first cause stands: a
    /// worker already being killed runs on until SIGKILL lands, and a second cause found meanwhile (a
    /// further seccomp notification, a timer) neither kills again nor renames its death.
    func kill(_ record: PluginRecord, _ slot: WorkerSlot, _ process: WorkerProcess, reason: String, failure: CordonError? = nil) {
        guard process.exit == nil, process.killReason == nil else { return }
        if let failure { slot.pendingFailure = failure }
        process.kill(SIGKILL, reason: reason)
        audit.record(.workerKill(tenant: configuration.tenant, plugin: record.id, pid: process.pid, signal: SIGKILL, reason: reason))
        emit(record, process.pid, .workerKilled(signal: SIGKILL, reason: reason))
        // Fail the running call now: nothing waits for the reaper.
        if let call = slot.current {
            slot.current = nil
            failRunningCall(record, process.pid, call, slot.pendingFailure ?? .workerDied("killed: \(reason)"))
        }
    }

    // MARK: - Seccomp notifications (the kernel's account of a denied syscall)

    private func seccompNotification(_ record: PluginRecord, _ slot: WorkerSlot, _ process: WorkerProcess, events: UInt32) {
        var event = cordon_seccomp_event()
        guard events & EPOLLIN.rawValue != 0, cordon_seccomp_notif_recv(process.listenerFD, &event) == 0 else {
            if events & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0, let token = slot.listenerToken {
                reactor.unwatch(process.listenerFD, token: token)
                slot.listenerToken = nil
            }
            return
        }
        // Refuse first (the thread is blocked in the kernel until we answer), then kill.
        _ = cordon_seccomp_notif_deny(process.listenerFD, event.id, ENOSYS)
        let name = SyscallTable.name(of: event.nr, arch: event.arch) ?? "syscall_\(event.nr)"
        let args = withUnsafeBytes(of: event.args) { Array($0.bindMemory(to: UInt64.self)) }
        audit.record(.seccompViolation(tenant: configuration.tenant, plugin: record.id, pid: process.pid, syscall: name,
                                       nr: event.nr, arch: Self.archName(event.arch), args: args, reportedBy: .kernel))
        emit(record, process.pid, .sandboxViolation(syscall: name, number: event.nr, reportedBy: "kernel"))
        // A worker already being killed may still be heard from (abort() goes on to rt_sigaction
        // after its refused tgkill): audited above, but `kill` keeps the first cause.
        if Self.isSelfAbort(name: name, args: args) {
            // abort() (every Swift runtime trap ends there) raises SIGABRT with tgkill, which the filter
            // refuses. The audit record above keeps the kernel's fact; the caller learns what it means.
            kill(record, slot, process, reason: "worker aborted (\(name) SIGABRT refused)",
                 failure: .workerDied("crashed: the worker aborted (a runtime trap in the worker; its tgkill(SIGABRT) was refused by the filter)"))
            return
        }
        kill(record, slot, process, reason: "seccomp violation: \(name)",
             failure: .sandboxViolation(syscall: name, number: event.nr, reportedBy: "kernel"))
    }

    /// tgkill(_, _, SIGABRT) or tkill(_, SIGABRT): a process raising SIGABRT, i.e. abort(). Which
    /// thread it names does not matter: the call was refused and the worker is killed either way.
    static func isSelfAbort(name: String, args: [UInt64]) -> Bool {
        switch name {
        case "tgkill": args.count > 2 && args[2] == UInt64(SIGABRT)
        case "tkill": args.count > 1 && args[1] == UInt64(SIGABRT)
        default: false
        }
    }

    static func archName(_ arch: UInt32) -> String {
        switch arch {
        case 0xC000_003E: "x86_64"
        case 0x4000_0003: "x86"
        case 0xC000_00B7: "aarch64"
        default: String(format: "0x%08x", arch)
        }
    }
}

/// Cordon's version, stamped on audit records.
enum CordonVersion {
    static let current = "0.1.0"
}
