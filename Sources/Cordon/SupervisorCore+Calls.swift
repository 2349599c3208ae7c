import CordonAudit
import CordonChannel
import Foundation

extension SupervisorCore {
    // MARK: - Calls

    func call(plugin id: String, export: String, arguments: [WasmValue], input: [UInt8]?, stdin: [UInt8]? = nil,
              completion reporting: @escaping (Result<CallValue, CordonError>, CallCost) -> Void) {
        // Refused before a worker saw it: nothing was spent.
        let completion = { (result: Result<CallValue, CordonError>) in reporting(result, CallCost(fuelUsed: 0, duration: .zero)) }
        guard let record = plugins[id], !record.unloading else {
            return completion(.failure(.unavailable(plugin: id, state: .stopped)))
        }
        // Refused, not queued: a paused plugin's callers learn it at once, and nothing piles up.
        guard !record.paused else {
            return completion(.failure(.unavailable(plugin: record.manifest.name, state: .paused)))
        }
        // Check the call against the module's own signatures before it reaches the worker.
        if let unsupported = record.unsupportedExports.first(where: { $0.name == export }) {
            return completion(.failure(.unsupportedSignature(export: export, type: unsupported.type)))
        }
        if !record.exports.isEmpty {
            guard let signature = record.exports.first(where: { $0.name == export }) else {
                return completion(.failure(.noSuchExport(export)))
            }
            if input == nil {
                guard signature.parameters.count == arguments.count else {
                    return completion(.failure(.invalidArguments(export: export, reason: "expected \(signature.parameters.count) arguments (\(signature.parameters.map(\.description).joined(separator: ", "))), got \(arguments.count)")))
                }
                for (index, (argument, type)) in zip(arguments, signature.parameters).enumerated() where argument.type != type {
                    return completion(.failure(.invalidArguments(export: export, reason: "argument \(index) must be \(type), got \(argument.type)")))
                }
            } else if signature.parameters != [.i32, .i32] || signature.results != [.i64] {
                return completion(.failure(.invalidArguments(export: export, reason: "the bytes convention needs (i32, i32) -> i64, the export is (\(signature.parameters.map(\.description).joined(separator: ", "))) -> (\(signature.results.map(\.description).joined(separator: ", ")))")))
            }
        }
        // Checked before the exports are known too: a call frame over the channel's limit could not be sent.
        if let bytes = input ?? stdin, bytes.count > Int(record.limits.maxMessageBytes) {
            return completion(.failure(.limitExceeded(limit: .messageBytes, value: "\(record.limits.maxMessageBytes) bytes",
                                                      measured: "\(bytes.count) bytes", export: export)))
        }
        // The call frame's own caps (docs/protocol.md): a frame the worker could not decode, or that
        // could not be sent at all, is the caller's mistake. Refused here, it cannot kill the worker
        // as a protocol violation, whether or not the exports are known yet.
        if export.utf8.count > FrameLimits.maxNameBytes {
            return completion(.failure(.invalidArguments(export: String(decoding: export.utf8.prefix(64), as: UTF8.self), reason: "the export name is \(export.utf8.count) bytes; a call carries at most \(FrameLimits.maxNameBytes)")))
        }
        if arguments.count > FrameLimits.maxValues {
            return completion(.failure(.invalidArguments(export: export, reason: "\(arguments.count) arguments; a call carries at most \(FrameLimits.maxValues)")))
        }
        let frameBound = 64 + export.utf8.count + arguments.count * 9 + (input?.count ?? 0) + (stdin?.count ?? 0)
        let messageLimit = configuration.channelRingCapacity / 2
        if frameBound > messageLimit {
            return completion(.failure(.limitExceeded(limit: .messageBytes, value: "\(messageLimit) bytes (one channel message)",
                                                      measured: "up to \(frameBound) bytes", export: export)))
        }
        let live = record.workers.contains { $0.phase != .backingOff && $0.phase != .stopped }
        guard live, record.state != .failed, record.state != .stopped else {
            return completion(.failure(.unavailable(plugin: record.manifest.name, state: record.state)))
        }
        record.nextCallID &+= 1
        let pending = PendingCall(id: record.nextCallID, export: export, arguments: arguments, input: input, completion: reporting)
        pending.stdin = stdin
        // Nothing queued ahead and a worker idle (the usual case): started at once, without the queue.
        if record.queue.isEmpty, let idle = idleWorker(record) {
            return start(pending, record, idle.slot, idle.process)
        }
        record.queue.append(pending)
        dispatch(record)
    }

    /// Starts queued calls on idle workers.
    func dispatch(_ record: PluginRecord) {
        while !record.queue.isEmpty, let idle = idleWorker(record) {
            start(record.queue.removeFirst(), record, idle.slot, idle.process)
        }
    }

    /// The first idle worker, with its process: where a call can start now.
    private func idleWorker(_ record: PluginRecord) -> (slot: WorkerSlot, process: WorkerProcess)? {
        guard let slot = record.workers.first(where: { $0.phase == .idle }), let process = slot.process else { return nil }
        return (slot, process)
    }

    /// Sends `call` to the idle worker in `slot`.
    private func start(_ call: PendingCall, _ record: PluginRecord, _ slot: WorkerSlot, _ process: WorkerProcess) {
        slot.phase = .busy
        slot.current = call
        let now = ContinuousClock.now
        call.startedAt = now
        call.deadline = now + record.limits.maxWallTimePerCall
        setState(record, .running)
        let request = CallRequest(id: call.id, export: call.export, arguments: call.arguments, input: call.input,
                                  fuel: record.limits.maxFuelPerCall, stdin: call.stdin ?? [])
        armDeadline(record, slot)
        send(.call(request), record, slot, process)
    }

    /// Makes sure the worker's deadline timer fires no later than its running call's deadline.
    ///
    /// One timer per worker, not one per call: a timer already due no later than the call's deadline
    /// is kept, and when it fires it re-arms for whatever call is running then (or lapses if none is).
    /// Calls that end before their wall time, which is nearly all of them, then cost no timer work:
    /// inserting and removing a timer per call was a tenth of the supervisor's fixed cost of a call.
    func armDeadline(_ record: PluginRecord, _ slot: WorkerSlot) {
        guard let deadline = slot.current?.deadline else { return }
        if let armed = slot.deadlineTimerAt, armed <= deadline { return }
        reactor.cancel(timer: slot.deadlineTimer)
        slot.deadlineTimerAt = deadline
        // Weak: a timer outlives the call it was armed for, and must not keep an unloaded plugin (and
        // its module bytes) alive until it fires.
        slot.deadlineTimer = reactor.schedule(at: deadline) { [weak self, weak slot, weak record] in
            guard let self, let slot, let record else { return }
            slot.deadlineTimer = nil
            slot.deadlineTimerAt = nil
            guard let call = slot.current, let process = slot.process, let deadline = call.deadline else { return }
            if ContinuousClock.now < deadline { return self.armDeadline(record, slot) }
            let wall = record.limits.maxWallTimePerCall
            let error = CordonError.limitExceeded(limit: .wallTime, value: Self.format(wall),
                                                  measured: "> \(Self.format(wall)), worker killed", export: call.export)
            self.breach(record, process.pid, .wallTime, value: Self.milliseconds(wall),
                        measured: Self.milliseconds(call.startedAt.map { $0.duration(to: .now) } ?? wall), export: call.export)
            self.kill(record, slot, process, reason: "wall time \(Self.format(wall)) exceeded in '\(call.export)'", failure: error)
        }
    }

    func completeCall(_ record: PluginRecord, _ slot: WorkerSlot, _ process: WorkerProcess, _ call: PendingCall, _ outcome: CallOutcome) {
        // The worker's account is hostile too. A lie kills it while the call is still its current one,
        // so the kill fails the call (it used to be detached first, and its caller waited forever).
        if case .values(let values) = outcome.result,
           let signature = record.exports.first(where: { $0.name == call.export }),
           !values.elementsEqual(signature.results, by: { $0.type == $1 }) {
            return protocolViolation(record, slot, process, "results \(values.map(\.type)) do not match '\(call.export)' signature \(signature.results)")
        }
        // Fuel is the worker's own count of what it spent from the budget it was sent (0 when
        // unmetered): more than that is a lie, and callers read the figure as exact.
        guard outcome.fuelUsed <= record.limits.maxFuelPerCall else {
            return protocolViolation(record, slot, process, "reported \(outcome.fuelUsed) fuel used, budget \(record.limits.maxFuelPerCall)")
        }
        guard acceptMemoryReport(record, slot, process, pages: outcome.memoryPages) else { return }
        call.fuelUsed = outcome.fuelUsed
        slot.current = nil
        slot.phase = .idle
        let duration = call.startedAt.map { $0.duration(to: .now) } ?? .zero
        record.callEnded(after: duration)
        record.metrics.fuelUsed &+= outcome.fuelUsed
        totals.calls += 1
        let result: Result<CallValue, CordonError>
        switch outcome.result {
        case .values(let values) where call.stdin != nil:
            result = values.isEmpty ? .success(.command(commandOutput(record, process, call, outcome, exitCode: 0)))
                : .failure(.protocolViolation("values for a WASI command"))
        case .exited(let code) where call.stdin != nil:
            result = .success(.command(commandOutput(record, process, call, outcome, exitCode: code)))
        case .values(let values):
            result = call.input == nil ? .success(.values(values)) : .failure(.protocolViolation("values for a bytes call"))
        case .bytes(let bytes):
            result = call.input != nil ? .success(.bytes(bytes)) : .failure(.protocolViolation("bytes for a value call"))
        case .exited:
            // A WASI guest's proc_exit; surfaced as an empty value result until the WASI API reports the code.
            result = .success(.values([]))
        case .trap(let kind, let message):
            record.metrics.traps += 1
            switch kind {
            case .outOfFuel:
                let fuel = record.limits.maxFuelPerCall
                breach(record, process.pid, .fuel, value: Int64(clamping: fuel), measured: Int64(clamping: outcome.fuelUsed), export: call.export)
                result = .failure(.limitExceeded(limit: .fuel, value: Self.grouped(fuel), measured: "exhausted", export: call.export))
            case .memoryLimit:
                let pages = record.limits.maxMemoryPages
                breach(record, process.pid, .memory, value: Int64(pages), measured: Int64(pages) + 1, export: call.export)
                result = .failure(.limitExceeded(limit: .memory, value: "\(pages) pages", measured: "growth past \(pages) pages refused", export: call.export))
            case .tableLimit:
                let elements = record.limits.maxTableElements
                breach(record, process.pid, .table, value: Int64(elements), measured: Int64(elements) + 1, export: call.export)
                result = .failure(.limitExceeded(limit: .table, value: "\(elements) elements", measured: "growth past \(elements) elements refused", export: call.export))
            case .reentryLimit:
                breach(record, process.pid, .reentryDepth, value: Int64(record.limits.maxReentryDepth), measured: Int64(record.limits.maxReentryDepth) + 1, export: call.export)
                result = .failure(.limitExceeded(limit: .reentryDepth, value: "\(record.limits.maxReentryDepth)", measured: "exceeded", export: call.export))
            default:
                if message.hasPrefix("no exported function") {
                    result = .failure(.noSuchExport(call.export))
                } else {
                    result = .failure(.trapped(export: call.export, kind: kind, message: String(message.prefix(1000))))
                }
            }
        }
        switch result {
        case .success:
            record.metrics.successes += 1
            emit(record, process.pid, .callCompleted(export: call.export, duration: duration, fuelUsed: outcome.fuelUsed))
        case .failure(let error):
            record.callFailed(error)
            totals.callFailures += 1
            emit(record, process.pid, .callFailed(export: call.export, error: error))
        }
        var failure: CordonError?
        if case .failure(let error) = result { failure = error }
        record.metricHandles.recordCall(duration: duration, fuel: outcome.fuelUsed, failure: failure)
        call.finish(result, duration: duration)
        if record.paused {
            // The call pause() was waiting for: this worker stops now, and the pause may be complete.
            stopWorker(record, slot)
            finishPauseIfDone(record)
            return
        }
        if record.state == .running, !record.workers.contains(where: { $0.phase == .busy }) { setState(record, .ready) }
        dispatch(record)
    }

    /// A running call that ends without an outcome: killed (wall time, flood, violation) or its worker
    /// died. Counted like any other call, so the metrics see every call that reached a worker.
    func failRunningCall(_ record: PluginRecord, _ pid: Int32, _ call: PendingCall, _ error: CordonError) {
        let duration = call.startedAt.map { $0.duration(to: .now) } ?? .zero
        call.finish(.failure(error), duration: duration)
        record.callEnded(after: duration)
        record.callFailed(error)
        totals.calls += 1
        totals.callFailures += 1
        record.metricHandles.recordCall(duration: duration, fuel: 0, failure: error)
        emit(record, pid, .callFailed(export: call.export, error: error))
    }

    /// A worker's report of its memory size (after its load or a call). Its limiter refuses growth
    /// past the limit, so a larger memory can only be a lie: a protocol violation, and false. A size
    /// that changed (or any size at load) is recorded.
    func acceptMemoryReport(_ record: PluginRecord, _ slot: WorkerSlot, _ process: WorkerProcess, pages: UInt32,
                            atLoad: Bool = false) -> Bool {
        guard pages <= record.limits.maxMemoryPages else {
            protocolViolation(record, slot, process, "reported \(pages) pages of memory, limit \(record.limits.maxMemoryPages)")
            return false
        }
        if atLoad || pages != slot.memoryPages { recordMemory(record, slot, pages: pages) }
        return true
    }

    /// Keeps `PluginMetrics.memoryPages` at the sum of the live workers' last reports.
    func recordMemory(_ record: PluginRecord, _ slot: WorkerSlot, pages: UInt32) {
        slot.memoryPages = pages
        let total = record.workers.reduce(UInt64(0)) { $0 + UInt64($1.memoryPages) }
        record.metrics.memoryPages = UInt32(clamping: total)
        record.metrics.peakMemoryPages = max(record.metrics.peakMemoryPages, record.metrics.memoryPages)
        CordonMetrics.memoryPages(plugin: record.manifest.name, pages: Int(clamping: total))
    }

    func breach(_ record: PluginRecord, _ pid: Int32?, _ limit: LimitKind, value: Int64, measured: Int64, export: String?) {
        audit.record(.limitBreach(tenant: configuration.tenant, plugin: record.id, pid: pid, limit: limit.rawValue,
                                  value: value, measured: measured, export: export))
        emit(record, pid, .limitExceeded(limit: limit, value: "\(value)", measured: "\(measured)"))
    }

    static func format(_ duration: Duration) -> String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return String(format: "%.1f s", seconds)
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    static func grouped(_ value: UInt64) -> String {
        let digits = Array(String(value))
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return out
    }

    // MARK: - Host calls

    func hostCall(_ record: PluginRecord, _ slot: WorkerSlot, _ process: WorkerProcess, _ call: PendingCall, _ request: HostCallRequest) {
        call.hostCallOutstanding = request.id
        call.hostCalls &+= 1
        record.metrics.hostCalls += 1
        // At most 128 characters in the records: a name of at most 128 UTF-8 bytes is kept as it is,
        // without the walk over its characters that `prefix` makes.
        let function = request.function.utf8.count <= 128 ? request.function : String(request.function.prefix(128))
        func reply(_ status: Int64, _ data: [UInt8] = [], auditStatus: HostCallStatus? = nil) {
            // A refused call is recorded, but a flood of them only up to a bound per call: the
            // breach record already says the limit was hit.
            if let auditStatus, auditStatus == .ok || call.refusalsAudited < 16 {
                if auditStatus != .ok { call.refusalsAudited += 1 }
                audit.hostCall(plugin: record.id, pid: process.pid, function: function, status: auditStatus,
                               bytes: request.blobs.reduce(0) { $0 + $1.count })
            }
            call.hostCallOutstanding = nil
            call.hostTask = nil
            send(.hostReply(HostCallReply(id: request.id, status: status, data: data)), record, slot, process)
        }
        func refuse(_ code: ABIErrorCode, _ status: HostCallStatus) { reply(Int64(code.rawValue), auditStatus: status) }

        if call.hostCalls > record.limits.maxHostCallsPerCall {
            // A guest that keeps calling after ten times its budget ignores -4 on purpose: stop it
            // rather than let every refused call cost a round trip until the wall-time kill.
            if call.hostCalls > record.limits.maxHostCallsPerCall.multipliedReportingOverflow(by: 10).partialValue {
                return kill(record, slot, process, reason: "host-call flood: \(call.hostCalls) calls in '\(call.export)'",
                            failure: .limitExceeded(limit: .hostCallsPerCall, value: "\(record.limits.maxHostCallsPerCall)",
                                                    measured: "\(call.hostCalls) host calls, worker killed", export: call.export))
            }
            if !call.breachReported {
                call.breachReported = true
                breach(record, process.pid, .hostCallsPerCall, value: Int64(record.limits.maxHostCallsPerCall), measured: Int64(call.hostCalls), export: call.export)
            }
            return refuse(.rateLimited, .denied)
        }
        if !record.hostCallBucket.take() {
            if !call.breachReported {
                call.breachReported = true
                breach(record, process.pid, .hostCallRate, value: Int64(record.limits.maxHostCallsPerSecond), measured: Int64(call.hostCalls), export: call.export)
            }
            return refuse(.rateLimited, .denied)
        }
        if function.hasPrefix("wasi.") {
            switch wasiCall(record, process, call, request, function: function) {
            case .answer(let status, let data, let auditStatus):
                return reply(status, data, auditStatus: auditStatus)
            case .pool(let broker, let known):
                return wasiCallOnPool(broker, known, slot, process, call, request) { reply($0, $1, auditStatus: $2) }
            }
        }
        let isKnown = HostCallDecoder.knownFunctions.contains(function)
        if !isKnown, !record.host.customFunctionNames.contains(function) {
            return refuse(.notFound, .denied)
        }
        // Counted only once the name is one that exists: guest-chosen names would be unbounded labels.
        record.metricHandles.hostCall(function: function)
        if let capability = PluginCapability.required(forHostFunction: function), !record.granted.contains(capability) {
            record.metrics.capabilityDenials += 1
            audit.record(.capabilityDenied(tenant: configuration.tenant, plugin: record.id, pid: process.pid,
                                           function: function, capability: capability.description))
            emit(record, process.pid, .capabilityDenied(function: function, capability: capability))
            return refuse(.permissionDenied, .denied)
        }
        let total = request.blobs.reduce(0) { $0 + $1.count }
        guard total <= Int(record.limits.maxHostCallBytes) else {
            breach(record, process.pid, .hostCallBytes, value: Int64(record.limits.maxHostCallBytes), measured: Int64(total), export: call.export)
            return refuse(.tooLarge, .denied)
        }
        let decoded: HostCallDecoder.Call
        switch HostCallDecoder.decode(function: function, request: request, maxOutput: record.limits.maxHostCallBytes) {
        case .success(let value): decoded = value
        case .failure(let code): return refuse(code, .error)
        }
        if case .log(_, let message) = decoded, !record.logBucket.take(Double(message.utf8.count)) {
            breach(record, process.pid, .logRate, value: Int64(record.limits.maxLogBytesPerSecond), measured: Int64(message.utf8.count), export: call.export)
            return refuse(.rateLimited, .denied)
        }
        // The application's code runs off the reactor; its answer comes back through `execute`.
        let host = record.host
        let context = PluginContext(pluginID: record.id, manifest: record.manifest, workerPID: process.pid,
                                    grantedCapabilities: record.granted)
        let reactor = self.reactor
        let remaining = call.startedAt.map { record.limits.maxWallTimePerCall - $0.duration(to: .now) } ?? record.limits.maxWallTimePerCall
        // Only the reactor thread runs `deliver`; the box just carries it across the task.
        let capacity = decoded.outputCapacity
        let channelLimit = channelPayloadLimit
        let deliver = ReactorBound { [weak slot] (answer: (status: Int64, data: [UInt8])) in
            guard let slot, slot.process === process, slot.current === call, process.exit == nil else { return }
            let fitted = Self.fit(answer, capacity: capacity, channelLimit: channelLimit)
            reply(fitted.status, fitted.data, auditStatus: fitted.status < 0 ? .error : .ok)
        }
        // Off the reactor: on the global executor (nil) or on the application's thread pool. The
        // task is the call's, so a call that ends (or a worker that dies) cancels the host's work.
        func offReactor(_ executor: (any TaskExecutor)?) {
            call.hostTask = Task(executorPreference: executor) {
                let answer = await HostCallDecoder.perform(decoded, host: host, context: context, sleepCap: remaining)
                reactor.execute { deliver.value(answer) }
            }
        }
        switch host.execution {
        case .cooperativePool:
            offReactor(nil)
        case .threads(let pool):
            offReactor(pool)
        case .reactor:
            // Runs here and now, up to its first suspension, and resumes on the reactor after each
            // one: a function that returns at once is answered within this drain of the worker's
            // messages, with no thread hand-off and no turn of the loop. Its task is kept only while
            // the answer is still owed (the call may end first, and then cancels it).
            let task = Task.immediate(executorPreference: reactor) {
                let answer = await HostCallDecoder.perform(decoded, host: host, context: context, sleepCap: remaining)
                reactor.runNowOrQueue { deliver.value(answer) }
            }
            if call.hostCallOutstanding == request.id { call.hostTask = task }
        }
    }

    /// A host function's answer as the guest may receive it (docs/abi.md). Bytes that do not fit the
    /// guest's buffer are not sent: the length alone says "retry with this size". Bytes that could
    /// never fit one channel message are `-5`, whatever the buffer: sending them would fail the send
    /// and kill the worker for the host's answer.
    static func fit(_ answer: (status: Int64, data: [UInt8]), capacity: Int?, channelLimit: Int) -> (status: Int64, data: [UInt8]) {
        guard answer.status >= 0 else { return (answer.status, []) }
        if answer.data.count > channelLimit { return (Int64(ABIErrorCode.tooLarge.rawValue), []) }
        if let capacity, answer.data.count > capacity { return (Int64(answer.data.count), []) }
        return answer
    }
}

/// Carries a reactor-confined closure through a `Task`; it is only ever invoked on the reactor thread.
struct ReactorBound<Argument>: @unchecked Sendable {
    let value: (Argument) -> Void
    init(_ value: @escaping (Argument) -> Void) { self.value = value }
}
