import CordonAudit
import CordonChannel
import CordonPolicy
import CCordonShims
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The warm pool: workers spawned and fully confined ahead of time (seccomp listener already taken),
/// waiting for a module. A load adopts one and pays only the bootstrap.
extension SupervisorCore {
    func prewarm(policy: SandboxPolicy, count: Int, completion: @escaping () -> Void) {
        let key = digest(of: policy)
        poolTargets[key] = (policy, count)
        refillPool(policy: policy, key: key)
        waitForPool(key: key, deadline: .now + configuration.loadTimeout, completion: completion)
    }

    private func waitForPool(key: String, deadline: ContinuousClock.Instant, completion: @escaping () -> Void) {
        let list = pool[key] ?? []
        let settled = poolSpawning[key, default: 0] == 0 && list.allSatisfy({ $0.ready })
        if settled || ContinuousClock.now >= deadline || shuttingDown { return completion() }
        reactor.schedule(at: .now + .milliseconds(2)) { [weak self] in
            self?.waitForPool(key: key, deadline: deadline, completion: completion)
        }
    }

    /// Tops the pool up to its target. Spawns run one after another on the spawn thread, so a refill
    /// never stalls the reactor and takes at most one core from the loads it competes with.
    func refillPool(policy: SandboxPolicy, key: String) {
        guard !shuttingDown, let target = poolTargets[key] else { return }
        let missing = target.count - (pool[key]?.count ?? 0) - poolSpawning[key, default: 0]
        guard missing > 0 else { return }
        for _ in 0..<missing {
            guard let uidSlot = takeSlot(policy: policy) else { break }
            poolSpawning[key, default: 0] += 1
            let request = spawnRequest(policy: policy, digest: key, uidSlot: uidSlot,
                                       cpuSeconds: policy.limits.maxCPUSecondsPerWorker, cancellation: poolCancellation)
            spawn(request) { [weak self] result in
                guard let self else { return }
                self.poolSpawning[key, default: 1] -= 1
                switch result {
                case .failure:
                    self.releaseSlot(uidSlot, of: UidRange(policy.identity))
                case .success(let process) where self.shuttingDown || self.poolTargets[key] == nil:
                    self.discard(process, plugin: "pool", reason: "pool drained while the worker was spawned")
                case .success(let process):
                    self.addToPool(process, key: key)
                }
            }
        }
    }

    private func addToPool(_ process: WorkerProcess, key: String) {
        var pooled = PooledWorker(process: process, tokens: (nil, nil, nil), ready: false)
        pooled.tokens.doorbell = reactor.watch(process.channel.doorbellFD, events: EPOLLIN.rawValue) { [weak self] _ in
            self?.pooledMessage(key: key, process: process)
        }
        pooled.tokens.pidfd = reactor.watch(process.pidfd, events: EPOLLIN.rawValue) { [weak self] _ in
            self?.pooledExit(key: key, process: process)
        }
        pool[key, default: []].append(pooled)
        pooledMessage(key: key, process: process)
    }

    private func pooledMessage(key: String, process: WorkerProcess) {
        var doorbell: UInt64 = 0
        _ = read(process.channel.doorbellFD, &doorbell, 8)
        guard let index = pool[key]?.firstIndex(where: { $0.process === process }) else { return }
        // The same per-turn budget as a plugin's worker: one that never stops talking must not
        // starve the others on this one thread.
        var budget = 64
        while process.exit == nil, process.killReason == nil {
            budget -= 1
            if budget == 0 {
                reactor.execute { [weak self] in self?.pooledMessage(key: key, process: process) }
                return
            }
            let message: ChannelMessage?
            do { message = try process.channel.tryReceive() } catch {
                if case .peerDied = error { return }
                return killPooled(key: key, process: process, reason: "protocol violation: \(error)")
            }
            guard let message else {
                if process.channel.prepareToSleep() { return }
                continue
            }
            switch message {
            case .hello(let hello) where pool[key]?[index].ready == false:
                process.achievedLayers = hello.layers
                process.seccompMode = hello.listenerFD >= 0 ? "notify" : "kill"
                if poolTargets[key]?.policy.seccomp.usesNotify == true, hello.listenerFD < 0 {
                    // As on the cold path: without the listener, denied syscalls would go unaudited.
                    return killPooled(key: key, process: process, reason: "protocol violation: no seccomp listener under a notify policy")
                }
                if hello.listenerFD >= 0 {
                    do { try process.takeListener(workerFD: hello.listenerFD) } catch {
                        return killPooled(key: key, process: process, reason: "could not take the seccomp listener")
                    }
                    // Before adoption a notification means the runtime itself misbehaved: kill.
                    pool[key]?[index].tokens.listener = reactor.watch(process.listenerFD, events: EPOLLIN.rawValue) { [weak self] events in
                        // Receive only on readiness: on a hang-up alone the ioctl would block the reactor.
                        if events & EPOLLIN.rawValue != 0 {
                            var event = cordon_seccomp_event()
                            if cordon_seccomp_notif_recv(process.listenerFD, &event) == 0 {
                                _ = cordon_seccomp_notif_deny(process.listenerFD, event.id, ENOSYS)
                                // The kernel's account is audited as on the cold path, before the kill.
                                self?.auditPooledViolation(process, event)
                            }
                        }
                        self?.killPooled(key: key, process: process, reason: "seccomp violation while pooled")
                    }
                }
                audit.record(.workerSpawn(tenant: configuration.tenant, plugin: "pool", pid: process.pid, uid: hello.uid,
                                          cgroup: configuration.workerCgroup?.name,
                                          requested: Self.requestedLayers(poolTargets[key]?.policy ?? .builtinDefault),
                                          achieved: hello.layers, seccompMode: process.seccompMode))
                try? process.channel.trySend(.listenerTaken)
                pool[key]?[index].ready = true
            case .log(let log) where pool[key]?[index].ready == false && log.message.utf8.count <= 4096
                                     && (pool[key]?[index].logLines ?? 0) < 4:
                // Before its hello a worker may explain a confinement failure, in a few short lines.
                pool[key]?[index].logLines += 1
            default:
                // A pooled worker has nothing to say once confined: no call runs, no heartbeat was asked for.
                return killPooled(key: key, process: process, reason: "protocol violation: unexpected \(message.kindName) while pooled")
            }
        }
    }

    private func auditPooledViolation(_ process: WorkerProcess, _ event: cordon_seccomp_event) {
        let name = SyscallTable.name(of: event.nr, arch: event.arch) ?? "syscall_\(event.nr)"
        let args = withUnsafeBytes(of: event.args) { Array($0.bindMemory(to: UInt64.self)) }
        audit.record(.seccompViolation(tenant: configuration.tenant, plugin: "pool", pid: process.pid, syscall: name,
                                       nr: event.nr, arch: Self.archName(event.arch), args: args, reportedBy: .kernel))
    }

    private func killPooled(key: String, process: WorkerProcess, reason: String) {
        guard process.killReason == nil else { return }
        process.kill(SIGKILL, reason: reason)
        audit.record(.workerKill(tenant: configuration.tenant, plugin: "pool", pid: process.pid, signal: SIGKILL, reason: reason))
    }

    private func pooledExit(key: String, process: WorkerProcess) {
        guard let index = pool[key]?.firstIndex(where: { $0.process === process }), process.reap() != nil,
              let pooled = pool[key]?.remove(at: index) else { return }
        reactor.unwatch(process.channel.doorbellFD, token: pooled.tokens.doorbell)
        reactor.unwatch(process.pidfd, token: pooled.tokens.pidfd)
        if process.listenerFD >= 0 { reactor.unwatch(process.listenerFD, token: pooled.tokens.listener) }
        audit.record(.workerExit(tenant: configuration.tenant, plugin: "pool", pid: process.pid,
                                 classification: process.killReason == nil ? "exited" : "killed",
                                 status: nil, signal: nil))
        releaseSlot(of: process)
        process.closeResources()
        checkShutdownComplete()
    }

    /// Moves a ready pooled worker into a plugin's slot and sends it the module.
    func adopt(_ pooled: PooledWorker, into slot: WorkerSlot, record: PluginRecord) {
        let process = pooled.process
        slot.process = process
        slot.helloReceived = true   // its hello came while it was pooled
        CordonMetrics.liveWorkers(liveWorkerCount())
        slot.phase = .loading
        watch(process, slot: slot, record: record, adopting: pooled.tokens)
        emit(record, process.pid, .workerSpawned(layers: process.achievedLayers, uid: process.uid))
        // The pool's spawn record names no plugin: this one ties the worker (and its later exit,
        // kill and violation records) to the plugin that adopted it.
        audit.record(.workerSpawn(tenant: configuration.tenant, plugin: record.id, pid: process.pid, uid: process.uid,
                                  requested: Self.requestedLayers(record.policy), achieved: process.achievedLayers,
                                  seccompMode: process.seccompMode))
        armLoadTimer(record, slot, process)
        sendBootstrap(record, slot, process)
    }

    func drainPool(reason: String) {
        poolTargets = [:]
        poolCancellation.cancel()
        poolCancellation = SpawnCancellation()
        for (_, pending) in refillPending { reactor.cancel(timer: pending.timer) }
        refillPending = [:]
        for (key, list) in pool {
            for worker in list {
                try? worker.process.channel.trySend(.shutdown)
                killPooled(key: key, process: worker.process, reason: reason)
            }
        }
    }
}

extension ChannelMessage {
    /// The frame kind's name, for violation reasons (never the payload, which the worker chose).
    var kindName: String {
        switch self {
        case .hello: "hello"
        case .loaded: "loaded"
        case .loadFailed: "loadFailed"
        case .callOutcome: "callOutcome"
        case .hostCall: "hostCall"
        case .log: "log"
        case .output: "output"
        case .violation: "violation"
        case .cleanupFailed: "cleanupFailed"
        case .listenerTaken: "listenerTaken"
        case .bootstrap: "bootstrap"
        case .call: "call"
        case .hostReply: "hostReply"
        case .shutdown: "shutdown"
        case .moduleChunk: "moduleChunk"
        case .heartbeat: "heartbeat"
        }
    }
}
