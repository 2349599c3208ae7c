import CordonAudit
import CordonChannel
import CordonPolicy
import CCordonShims
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension SupervisorCore {
    // MARK: - Exit, classification, restart

    func workerExited(_ record: PluginRecord, _ slot: WorkerSlot, _ process: WorkerProcess) {
        guard slot.process === process else { return }
        // Its last words may still be in the ring (an outcome, a worker-reported SIGSYS).
        drain(record, slot, process)
        let cpuSeconds = Self.cpuSeconds(of: process.pid)
        guard let exit = process.reap() else { return }
        unwatchAll(slot, process)
        cancelLoadTimers(slot)

        let (failure, classification) = classify(record, slot, process, exit, cpuSeconds: cpuSeconds)
        var status: Int32?
        var signal: Int32?
        switch exit {
        case .exited(let code): status = code
        case .signaled(let sig, _): signal = sig
        }
        audit.record(.workerExit(tenant: configuration.tenant, plugin: record.id, pid: process.pid,
                                 classification: classification, status: status, signal: signal))
        emit(record, process.pid, .workerExited(description: "\(exit) (\(classification))"))
        if let call = slot.current {
            slot.current = nil
            failRunningCall(record, process.pid, call, failure)
        }
        releaseSlot(of: process)
        process.closeResources()
        slot.process = nil
        slot.stopped = false
        recordMemory(record, slot, pages: 0)
        CordonMetrics.liveWorkers(liveWorkerCount())

        if !record.loadWaiters.isEmpty, record.state == .starting {
            resolveLoad(record, .failure(failure))
            record.unloading = true
        }
        if slot.reloadPending, !shuttingDown {
            slot.reloadPending = false
            startWorker(record, slot)
            return
        }
        if record.unloading || shuttingDown {
            slot.phase = .stopped
            finishStopIfDone(record)
            return
        }
        considerRestart(record, slot, failure: failure, ranFor: process.spawnedAt.duration(to: .now))
        // The call a pause waited for may have died with its worker.
        finishPauseIfDone(record)
    }

    /// Names what ended the worker: the supervisor's own decision first, then the kernel's exit status.
    private func classify(_ record: PluginRecord, _ slot: WorkerSlot, _ process: WorkerProcess, _ exit: WorkerExit,
                          cpuSeconds: Double?) -> (CordonError, String) {
        if let failure = slot.pendingFailure {
            let kind: String
            switch failure {
            case .sandboxViolation: kind = "seccomp_violation"
            case .workerDied(let why) where why.hasPrefix("crashed"): kind = "crashed"
            case .protocolViolation: kind = "protocol_violation"
            case .limitExceeded(let limit, _, _, _): kind = "limit_\(limit.rawValue)"
            case .invalidModule: kind = "module_rejected"
            case .timedOut: kind = "load_timeout"
            default: kind = "killed"
            }
            return (failure, kind)
        }
        if let reason = process.killReason { return (.workerDied("killed: \(reason)"), "killed") }
        // After the hello the worker runs guest code: its exit code and its words are its own choice,
        // so they name nothing. Only the kernel's account (the signal in the pidfd's exit status, the
        // seccomp listener) does; the worker's last log line is shown, marked as its own.
        let said = slot.lastWorkerLog.map { " (worker-reported: \($0))" } ?? ""
        switch exit {
        case .signaled(SIGSYS, _):
            // Kill mode: the kernel ended it for a denied syscall; which one only a listener could say.
            audit.record(.seccompViolation(tenant: configuration.tenant, plugin: record.id, pid: process.pid, syscall: "unknown",
                                           nr: -1, arch: Self.archName(0xC000_003E), args: [], reportedBy: .kernel))
            emit(record, process.pid, .sandboxViolation(syscall: "unknown", number: -1, reportedBy: "exit status"))
            return (.sandboxViolation(syscall: "unknown", number: -1, reportedBy: "exit status"), "seccomp_violation")
        case .signaled(SIGXCPU, _):
            return cpuBreach(record, process, cpuSeconds)
        case .signaled(SIGKILL, _):
            let limit = Double(record.limits.maxCPUSecondsPerWorker)
            if let cpuSeconds, limit > 0, cpuSeconds >= limit { return cpuBreach(record, process, cpuSeconds) }
            return (.workerDied("killed by SIGKILL from outside the supervisor"), "killed_externally")
        case .exited(71) where !slot.helloReceived:
            // Before the hello the worker runs only Cordon's confinement code, which exits 71 on failure.
            return (.confinementFailed(detail: slot.lastWorkerLog.map { "worker-reported: \($0)" }
                        ?? "the worker could not confine itself (exit 71)"), "confinement_failed")
        case .exited(let code):
            return (.workerDied("exited with status \(code)" + said), "exited")
        case .signaled(let sig, _):
            return (.workerDied("crashed: \(WorkerExit.signalName(sig))" + said), "crashed")
        }
    }

    private func cpuBreach(_ record: PluginRecord, _ process: WorkerProcess, _ cpuSeconds: Double?) -> (CordonError, String) {
        let limit = record.limits.maxCPUSecondsPerWorker
        breach(record, process.pid, .cpuTime, value: Int64(limit), measured: Int64((cpuSeconds ?? Double(limit)).rounded(.up)), export: nil)
        return (.limitExceeded(limit: .cpuTime, value: "\(limit) s", measured: String(format: "%.2f s", cpuSeconds ?? Double(limit)), export: nil), "limit_cpu_time")
    }

    /// utime + stime of a (zombie) process, from /proc/<pid>/stat; read before the reap frees it.
    static func cpuSeconds(of pid: pid_t) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func unwatchAll(_ slot: WorkerSlot, _ process: WorkerProcess) {
        reactor.unwatch(process.channel.doorbellFD, token: slot.doorbellToken)
        reactor.unwatch(process.pidfd, token: slot.pidfdToken)
        if process.listenerFD >= 0 { reactor.unwatch(process.listenerFD, token: slot.listenerToken) }
        slot.doorbellToken = nil
        slot.pidfdToken = nil
        slot.listenerToken = nil
    }

    func considerRestart(_ record: PluginRecord, _ slot: WorkerSlot, failure: CordonError, ranFor: Duration = .zero) {
        let policy = record.restart
        let othersAlive = record.workers.contains { $0 !== slot && [.idle, .busy].contains($0.phase) }
        if !othersAlive { failQueue(record, .workerDied("\(failure)")) }
        if policy.mode == .never {
            slot.phase = .stopped
            if !record.workers.contains(where: { $0.process != nil }) { setState(record, .failed) }
            return
        }
        let now = ContinuousClock.now
        record.restartTimes.removeAll { $0.duration(to: now) > policy.period }
        if record.restartTimes.count >= policy.intensity {
            slot.phase = .stopped
            audit.record(.restartExhausted(tenant: configuration.tenant, plugin: record.id, restarts: record.restartTimes.count,
                                           periodMs: Self.milliseconds(policy.period)))
            emit(record, nil, .restartBudgetExhausted(restarts: record.restartTimes.count, period: policy.period))
            setState(record, .failed)
            failQueue(record, .unavailable(plugin: record.manifest.name, state: .failed))
            for other in record.workers where other !== slot {
                reactor.cancel(timer: other.restartTimer)
                other.phase = .stopped
                if let process = other.process { kill(record, other, process, reason: "restart budget exhausted") }
            }
            return
        }
        if ranFor >= policy.healthyAfter { record.consecutiveRestarts = 0 }
        record.consecutiveRestarts += 1
        record.restartTimes.append(now)
        record.metrics.restarts += 1
        totals.restarts += 1
        CordonMetrics.recordRestart(plugin: record.manifest.name)
        let base = policy.backoff(forConsecutiveRestart: record.consecutiveRestarts)
        let delay = base * (1 + policy.jitter * Double.random(in: 0...1))
        audit.record(.workerRestart(tenant: configuration.tenant, plugin: record.id, attempt: record.consecutiveRestarts,
                                    backoffMs: Self.milliseconds(delay)))
        emit(record, nil, .restarting(attempt: record.consecutiveRestarts, backoff: delay))
        slot.phase = .backingOff
        if !othersAlive { setState(record, .backingOff) }
        slot.restartTimer = reactor.schedule(at: now + delay) { [weak self, weak slot] in
            guard let self, let slot, !record.unloading, !self.shuttingDown, slot.phase == .backingOff else { return }
            slot.restartTimer = nil
            if record.state == .backingOff { self.setState(record, .restarting) }
            self.startWorker(record, slot)
        }
    }

    func failQueue(_ record: PluginRecord, _ error: CordonError) {
        let queued = record.queue
        record.queue = []
        for call in queued {
            record.callFailed(error)
            totals.callFailures += 1
            call.finish(.failure(error))
        }
    }

    // MARK: - Unload, reload, shutdown

    func unload(plugin id: String, reason: String, completion: @escaping () -> Void) {
        guard let record = plugins[id] else { return completion() }
        record.unloading = true
        record.stopWaiters.append(completion)
        stopWorkers(record, grace: .milliseconds(200), reason: reason)
        finishStopIfDone(record)
    }

    func stopWorkers(_ record: PluginRecord, grace: Duration, reason: String) {
        failQueue(record, .unavailable(plugin: record.manifest.name, state: .stopped))
        resolveLoad(record, .failure(.unavailable(plugin: record.manifest.name, state: .stopped)))
        for slot in record.workers {
            reactor.cancel(timer: slot.restartTimer)
            slot.restartTimer = nil
            guard let process = slot.process else { slot.phase = .stopped; continue }
            // A stopped worker could neither read the shutdown nor run cordon_cleanup: continue it
            // first (SIGKILL after the grace reaches it either way).
            continueWorker(record, slot)
            if [.idle, .busy, .loading].contains(slot.phase) {
                process.shutdownSent = true
                try? process.channel.trySend(.shutdown)
            }
            reactor.schedule(at: .now + grace) { [weak self] in
                guard let self, slot.process === process, process.exit == nil else { return }
                self.kill(record, slot, process, reason: reason)
            }
        }
        record.stopReason = reason
        resolvePause(record, .failure(.unavailable(plugin: record.manifest.name, state: .stopped)))
    }

    func finishStopIfDone(_ record: PluginRecord) {
        guard record.workers.allSatisfy({ $0.process == nil }) else { return }
        if plugins[record.id] != nil { removePlugin(record, reason: record.stopReason ?? "stopped") }
        let waiters = record.stopWaiters
        record.stopWaiters = []
        for waiter in waiters { waiter() }
        checkShutdownComplete()
    }

    func removePlugin(_ record: PluginRecord, reason: String) {
        guard plugins[record.id] != nil else { return }
        plugins[record.id] = nil
        audit.record(.pluginUnload(tenant: configuration.tenant, plugin: record.id, reason: reason))
        if record.state != .failed { setState(record, .stopped) }
    }

    /// Restarts every worker of the plugin, with `module` (and its digest, computed off the reactor) when given.
    func reload(plugin id: String, module: (bytes: [UInt8], sha256: String)?, completion: @escaping (Result<Void, CordonError>) -> Void) {
        guard let record = plugins[id], !record.unloading else {
            return completion(.failure(.unavailable(plugin: id, state: .stopped)))
        }
        if let module {
            if let refusal = Self.moduleSizeRefusal(module.bytes.count, policy: record.policy) {
                return completion(.failure(refusal))
            }
            record.module = module.bytes
            record.moduleSHA256 = module.sha256
            record.moduleFormat = .binary
            if let known = cache.lookup(record.cacheKey), case .rejected(let stage, let message) = known.outcome {
                return completion(.failure(.invalidModule(stage: stage, message: message)))
            }
        }
        record.restartTimes = []
        record.consecutiveRestarts = 0
        record.loadWaiters.append { result in completion(result.map { _ in () }) }
        setState(record, .restarting)
        failQueue(record, .unavailable(plugin: record.manifest.name, state: .restarting))
        for slot in record.workers {
            reactor.cancel(timer: slot.restartTimer)
            if let process = slot.process {
                slot.reloadPending = true
                kill(record, slot, process, reason: "reload",
                     failure: slot.current == nil ? nil : .unavailable(plugin: record.manifest.name, state: .restarting))
            } else {
                startWorker(record, slot)
            }
        }
    }

    func shutdown(grace: Duration, completion: @escaping () -> Void) {
        shutdownWaiters.append(completion)
        if !shuttingDown {
            shuttingDown = true
            for record in plugins.values {
                record.unloading = true
                stopWorkers(record, grace: grace, reason: "supervisor shutdown")
            }
            drainPool(reason: "supervisor shutdown")
        }
        for record in Array(plugins.values) { finishStopIfDone(record) }
        checkShutdownComplete()
    }

    func checkShutdownComplete() {
        guard shuttingDown, plugins.isEmpty, pool.values.allSatisfy({ $0.isEmpty }), spawnsInFlight == 0,
              discarded.isEmpty else { return }
        if !stopRecorded {
            stopRecorded = true
            audit.record(.supervisorStop(tenant: configuration.tenant, reason: "shutdown"))
        }
        let waiters = shutdownWaiters
        shutdownWaiters = []
        for waiter in waiters { waiter() }
    }

    /// Last resort (supervisor released without `shutdown`): SIGKILL and reap every worker now.
    func terminateAll(reason: String) {
        shuttingDown = true
        var processes: [WorkerProcess] = []
        for record in plugins.values {
            for slot in record.workers {
                if let process = slot.process { processes.append(process) }
                slot.current?.finish(.failure(.shuttingDown))
            }
            failQueue(record, .shuttingDown)
            resolveLoad(record, .failure(.shuttingDown))
        }
        for list in pool.values { processes += list.map(\.process) }
        processes += discarded.values
        discarded = [:]
        for process in processes where process.exit == nil {
            process.kill(SIGKILL, reason: reason)
            var info = siginfo_t()
            _ = waitid(idtype_t(rawValue: 3), id_t(process.pidfd), &info, WEXITED)
            process.stderrForwarded = false   // the reactor stops: nobody will see its end of file
            process.closeResources()
        }
        plugins = [:]
        pool = [:]
    }

    func liveWorkerCount() -> Int {
        plugins.values.reduce(0) { $0 + $1.workers.filter { $0.process != nil }.count }
    }

    func stats() -> RuntimeStats {
        var stats = RuntimeStats(plugins: plugins.count, liveWorkers: liveWorkerCount(),
                                 pooledWorkers: pool.values.reduce(0) { $0 + $1.count }, reactorThreads: 1, supervisorThreads: 2,
                                 cachedModules: cache.entries.count, cachedModuleBytes: cache.bytesUsed)
        stats.moduleCache = cache.stats
        stats.loads = totals.loads
        stats.loadFailures = totals.loadFailures
        stats.calls = totals.calls
        stats.callFailures = totals.callFailures
        stats.restarts = totals.restarts
        stats.uptime = totals.startedAt.duration(to: .now)
        return stats
    }
}
