import CordonAudit
import CordonChannel

extension SupervisorCore {
    /// Sends the module, and bounds what the worker does with it by the call wall time: a start
    /// function is guest code like any export, and with fuel off (or plenty of it) only a clock ends
    /// a loop in it. The load timeout stays the bound of the whole load.
    func sendBootstrap(_ record: PluginRecord, _ slot: WorkerSlot, _ process: WorkerProcess) {
        guard openWASIBroker(record, slot, process) else { return }
        let wall = record.limits.maxWallTimePerCall
        let startedAt = ContinuousClock.now
        reactor.cancel(timer: slot.startTimer)
        slot.startTimer = reactor.schedule(at: startedAt + wall) { [weak self, weak slot] in
            guard let self, let slot, slot.process === process, slot.phase == .loading else { return }
            slot.startTimer = nil
            self.breach(record, process.pid, .wallTime, value: Self.milliseconds(wall),
                        measured: Self.milliseconds(startedAt.duration(to: .now)), export: nil)
            self.kill(record, slot, process, reason: "wall time \(Self.format(wall)) exceeded while loading the module",
                      failure: .limitExceeded(limit: .wallTime, value: Self.format(wall),
                                              measured: "> \(Self.format(wall)) loading the module (start function), worker killed",
                                              export: nil))
        }
        var bootstrap = record.bootstrap(idleRelease: configuration.workerIdleRelease)
        bootstrap.wasi = wasiBootstrap(record)
        sendModule(bootstrap, record, slot, process)
    }

    func cancelLoadTimers(_ slot: WorkerSlot) {
        reactor.cancel(timer: slot.loadTimer)
        reactor.cancel(timer: slot.startTimer)
        slot.loadTimer = nil
        slot.startTimer = nil
    }

    /// What a worker's `loadFailed` means. Only a rejection of the bytes themselves (parse,
    /// validation) is cached for the next load of the same module: a link failure depends on the
    /// host's functions, an instantiation or start failure on the policy's limits. A start function
    /// that exhausts its fuel hit a limit; the module is not invalid.
    func loadFailure(_ record: PluginRecord, _ process: WorkerProcess, _ failure: LoadFailure) -> CordonError {
        let message = String(failure.message.prefix(1000))
        if failure.stage == .start, message == "out of fuel" {
            let fuel = record.limits.maxFuelPerCall
            breach(record, process.pid, .fuel, value: Int64(clamping: fuel), measured: Int64(clamping: fuel), export: nil)
            return .limitExceeded(limit: .fuel, value: Self.grouped(fuel), measured: "exhausted in the start function", export: nil)
        }
        let stage = "\(failure.stage)"
        switch failure.stage {
        case .parse, .validation, .wat: cache.store(record.cacheKey, bytes: record.module, outcome: .rejected(stage: stage, message: message))
        case .link, .instantiation, .start: break
        case .initialization:
            // The status is the worker's word: only ever shown, never acted on beyond failing this load.
            let prefix = "cordon_init returned "
            if message.hasPrefix(prefix), let status = Int32(message.dropFirst(prefix.count)) {
                return .initFailed(plugin: record.manifest.name, status: status)
            }
        }
        return .invalidModule(stage: stage, message: message)
    }
}

extension SupervisorCore {
    /// The largest payload one channel message carries with room to spare for its framing: the
    /// effective ceiling of `maxHostCallBytes`, `maxMessageBytes` and of a host reply.
    var channelPayloadLimit: Int { max(4096, configuration.channelRingCapacity / 2 - 4096) }
}

extension ResourceLimits {
    /// The limits in force, as `name=value` for the `plugin.load` record: what the application
    /// passed overrides the policy, and the record must say what was actually enforced.
    var auditDescription: [String] {
        ["maxMemoryPages=\(maxMemoryPages)", "maxTableElements=\(maxTableElements)", "maxFuelPerCall=\(maxFuelPerCall)",
         "maxWallTimeMillisecondsPerCall=\(SupervisorCore.milliseconds(maxWallTimePerCall))", "maxCPUSecondsPerWorker=\(maxCPUSecondsPerWorker)",
         "maxHostCallsPerSecond=\(maxHostCallsPerSecond)", "maxHostCallsPerCall=\(maxHostCallsPerCall)",
         "maxHostCallBytes=\(maxHostCallBytes)", "maxMessageBytes=\(maxMessageBytes)",
         "maxLogBytesPerSecond=\(maxLogBytesPerSecond)", "maxReentryDepth=\(maxReentryDepth)", "maxCallDepth=\(maxCallDepth)"]
    }
}
