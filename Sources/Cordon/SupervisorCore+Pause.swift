import CordonAudit
#if canImport(Glibc)
import Glibc
#endif

/// Pause and resume. A paused plugin's workers are stopped with SIGSTOP, not frozen through the
/// cgroup freezer: the signal needs no cgroup (`SupervisorConfiguration.workerCgroup` is optional,
/// and cgroup v1's freezer is a separate hierarchy), a worker is one thread so SIGSTOP stops all of
/// it, the worker can neither catch nor ignore it, and it reaches a worker that is pid 1 of its own
/// pid namespace. SIGKILL (an unload's grace, the restart of a reload, PDEATHSIG when the supervisor
/// dies) ends a stopped process like any other.
///
/// Only idle workers are stopped: a running call ends first (its wall time still bounds it), and a
/// worker that is loading is stopped once it reports `loaded`. So no supervisor timer ever runs
/// against a stopped worker: the call deadline, the load timeout and the start-function wall time
/// exist only while a call runs or a module loads, the idle release is the worker's own timer
/// (it simply fires later), and the supervisor sends no heartbeats.
extension SupervisorCore {
    func pause(plugin id: String, completion: @escaping (Result<Void, CordonError>) -> Void) {
        guard let record = plugins[id], !record.unloading else {
            return completion(.failure(.unavailable(plugin: id, state: .stopped)))
        }
        if record.paused {
            if record.workers.contains(where: { $0.phase == .busy }) { record.pauseWaiters.append(completion) } else { completion(.success(())) }
            return
        }
        switch record.state {
        case .created, .starting, .failed, .stopped:
            return completion(.failure(.unavailable(plugin: record.manifest.name, state: record.state)))
        case .ready, .running, .restarting, .backingOff, .paused:
            break
        }
        setState(record, .paused)
        record.paused = true
        record.pauseWaiters.append(completion)
        failQueue(record, .unavailable(plugin: record.manifest.name, state: .paused))
        for slot in record.workers where slot.phase == .idle { stopWorker(record, slot) }
        finishPauseIfDone(record)
    }

    /// Stops an idle worker of a paused plugin. A worker the kernel will not stop (it is exiting:
    /// ESRCH) is left to its pidfd; any other refusal kills it, and its replacement is stopped
    /// once loaded.
    func stopWorker(_ record: PluginRecord, _ slot: WorkerSlot) {
        guard record.paused, !slot.stopped, slot.phase == .idle, let process = slot.process, process.exit == nil,
              process.killReason == nil else { return }
        if let error = process.jobControl(SIGSTOP) {
            guard error != ESRCH else { return }
            kill(record, slot, process, reason: "could not stop the worker for a pause: \(Errno.describe(error))")
            return
        }
        slot.stopped = true
    }

    /// Continues a stopped worker (resume, or before a graceful shutdown).
    func continueWorker(_ record: PluginRecord, _ slot: WorkerSlot) {
        guard slot.stopped, let process = slot.process else { return }
        slot.stopped = false
        if let error = process.jobControl(SIGCONT), error != ESRCH {
            kill(record, slot, process, reason: "could not continue the worker: \(Errno.describe(error))")
        }
    }

    /// A pause is complete when no call runs on any of the plugin's workers: audited, announced, and
    /// its `pause()` callers return.
    func finishPauseIfDone(_ record: PluginRecord) {
        guard record.paused, !record.pauseWaiters.isEmpty, !record.workers.contains(where: { $0.phase == .busy }) else { return }
        let pids = record.workers.filter(\.stopped).compactMap { $0.process?.pid }
        audit.record(.pluginPaused(tenant: configuration.tenant, plugin: record.id, pids: pids.map { Int64($0) }))
        emit(record, nil, .paused(workers: pids.count))
        resolvePause(record, .success(()))
    }

    func resolvePause(_ record: PluginRecord, _ result: Result<Void, CordonError>) {
        let waiters = record.pauseWaiters
        record.pauseWaiters = []
        for waiter in waiters { waiter(result) }
    }

    func resume(plugin id: String, completion: @escaping (Result<Void, CordonError>) -> Void) {
        guard let record = plugins[id], !record.unloading else {
            return completion(.failure(.unavailable(plugin: id, state: .stopped)))
        }
        guard record.paused else { return completion(.success(())) }
        record.paused = false
        var pids: [Int64] = []
        for slot in record.workers where slot.stopped {
            if let pid = slot.process?.pid { pids.append(Int64(pid)) }
            continueWorker(record, slot)
        }
        // A pause still waiting for its running calls is overtaken: it returns, and nothing stays stopped.
        resolvePause(record, .success(()))
        audit.record(.pluginResumed(tenant: configuration.tenant, plugin: record.id, pids: pids))
        emit(record, nil, .resumed(workers: pids.count))
        let phases = record.workers.map(\.phase)
        let state: PluginState = phases.contains(.busy) ? .running : phases.contains(.idle) ? .ready
            : phases.contains(.backingOff) ? .backingOff : .restarting
        setState(record, state)
        completion(.success(()))
        dispatch(record)
    }
}
