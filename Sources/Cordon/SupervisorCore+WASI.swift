import CordonAudit
import CordonChannel
import Foundation

extension SupervisorCore {
    /// Brokered file calls run here, not on the reactor (a slow disk must not stall other tenants'
    /// replies) and not on the cooperative pool (they block in the kernel). One small pool for the
    /// whole process: calls from one worker are serial, so two threads serve many workers.
    static let wasiPool = HostThreadPool(threads: 2, name: "cordon-wasi")

    /// Opens the worker's file broker before its bootstrap is sent: the broker lives exactly as long
    /// as this worker (closed in `WorkerProcess.closeResources`). False: the worker was killed.
    func openWASIBroker(_ record: PluginRecord, _ slot: WorkerSlot, _ process: WorkerProcess) -> Bool {
        do {
            process.wasiBroker = try WASIFileBroker(
                preopens: record.wasi.preopens, policy: record.policy.wasi,
                maxReplyBytes: Int(record.limits.maxHostCallBytes),
                identity: WASIBrokerIdentity(tenant: configuration.tenant, plugin: record.id, pid: process.pid),
                donationFD: process.donationFD, record: { [audit] event in audit.record(event) })
        } catch {
            kill(record, slot, process, reason: "could not open the WASI preopens", failure: error)
            return false
        }
        return true
    }

    /// What the reactor decided about a `wasi.*` host call: its answer, or the broker's pool must
    /// perform it. A value rather than a callback: the calls answered at once, nearly all of them,
    /// then build no closure (and retain none of the objects it would capture).
    enum WASIDisposition {
        case answer(status: Int64, data: [UInt8], audit: HostCallStatus)
        case pool(WASIFileBroker, WASIBrokeredFunction)
    }

    /// A `wasi.*` host call, after the budgets every host call goes through: the `filesystem`
    /// capability, the size cap, then the broker, here if it cannot block, else on `wasiPool`
    /// (`wasiCallOnPool`).
    func wasiCall(_ record: PluginRecord, _ process: WorkerProcess, _ call: PendingCall,
                  _ request: HostCallRequest, function: String) -> WASIDisposition {
        if !record.granted.contains(.filesystem) {
            record.metrics.capabilityDenials += 1
            audit.record(.capabilityDenied(tenant: configuration.tenant, plugin: record.id, pid: process.pid,
                                           function: function, capability: PluginCapability.filesystem.description))
            emit(record, process.pid, .capabilityDenied(function: function, capability: .filesystem))
            // Without `filesystem` there are no preopens (the load refuses them), so no guest fd ≥ 3
            // exists: EBADF is the exact answer, and what programs probing fds expect.
            return .answer(status: Int64(WASIErrno.badFileDescriptor.rawValue), data: [], audit: .denied)
        }
        let total = request.blobs.reduce(0) { $0 + $1.count }
        guard total <= Int(record.limits.maxHostCallBytes) else {
            breach(record, process.pid, .hostCallBytes, value: Int64(record.limits.maxHostCallBytes), measured: Int64(total), export: call.export)
            return .answer(status: Int64(ABIErrorCode.tooLarge.rawValue), data: [], audit: .denied)
        }
        guard let broker = process.wasiBroker else {
            return .answer(status: Int64(WASIErrno.badFileDescriptor.rawValue), data: [], audit: .error)
        }
        guard let known = WASIBrokeredFunction(hostCallName: function) else {
            return .answer(status: Int64(WASIErrno.noSys.rawValue), data: [], audit: .error)
        }
        // A read the page cache holds is answered here, without the two hand-offs to the pool.
        if let answer = broker.serveWithoutBlocking(known, integers: request.integers, blobs: request.blobs) {
            let (status, data, audit) = Self.hostCallAnswer(answer)
            return .answer(status: status, data: data, audit: audit)
        }
        return .pool(broker, known)
    }

    /// Performs a brokered call on `wasiPool`; `reply` runs on the reactor, if the worker and the
    /// call are still the ones that asked.
    func wasiCallOnPool(_ broker: WASIFileBroker, _ function: WASIBrokeredFunction, _ slot: WorkerSlot, _ process: WorkerProcess,
                        _ call: PendingCall, _ request: HostCallRequest, reply: @escaping (Int64, [UInt8], HostCallStatus) -> Void) {
        let reactor = self.reactor
        let deliver = ReactorBound { [weak slot] (answer: WASIReply) in
            guard let slot, slot.process === process, slot.current === call, process.exit == nil else { return }
            let (status, data, audit) = Self.hostCallAnswer(answer)
            reply(status, data, audit)
        }
        let integers = request.integers, blobs = request.blobs
        Task(executorPreference: Self.wasiPool) {
            let answer = broker.serve(function, integers: integers, blobs: blobs)
            reactor.execute { deliver.value(answer) }
        }
    }

    /// The broker's reply as a host-call answer and the status its audit record gives it.
    private static func hostCallAnswer(_ reply: WASIReply) -> (status: Int64, data: [UInt8], audit: HostCallStatus) {
        (Int64(reply.status.rawValue), reply.data, reply.status == .success ? .ok : .error)
    }
}

extension SupervisorCore {
    /// The worker's WASI world: the load's arguments, environment and preopen names, a fresh random
    /// seed per worker (from the kernel's getrandom, via the system generator), the clock resolution
    /// (1 ns with `timer`, else the policy's) and the output cap.
    func wasiBootstrap(_ record: PluginRecord) -> WASIBootstrap {
        var generator = SystemRandomNumberGenerator()
        let seed = (0..<FrameLimits.wasiRandomSeedBytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return WASIBootstrap(arguments: record.wasi.arguments, environment: record.wasi.environment,
                             preopens: record.wasi.preopens.map(\.guestPath),
                             clockResolutionNanoseconds: record.granted.contains(.timer) ? 1 : record.policy.wasi.clockResolutionNanoseconds,
                             randomSeed: seed, maxOutputBytes: UInt32(clamping: record.policy.wasi.maxOutputBytes))
    }

    /// Appends a chunk of stdout/stderr to the running call. The worker was told the cap per stream;
    /// more than that is a lie about its own accounting, and kills it.
    func acceptOutput(_ record: PluginRecord, _ slot: WorkerSlot, _ process: WorkerProcess, _ call: PendingCall, _ chunk: OutputChunk) {
        let cap = Int(UInt32(clamping: record.policy.wasi.maxOutputBytes))
        let kept = chunk.stream == .stdout ? call.stdout.count : call.stderr.count
        guard kept + chunk.data.count <= cap else {
            return protocolViolation(record, slot, process, "\(chunk.stream) output past the \(cap)-byte cap the worker was given")
        }
        if chunk.stream == .stdout { call.stdout += chunk.data } else { call.stderr += chunk.data }
    }

    /// The `CommandOutput` of a finished command; a truncation is recorded as `limit.breach`.
    func commandOutput(_ record: PluginRecord, _ process: WorkerProcess, _ call: PendingCall, _ outcome: CallOutcome,
                       exitCode: Int32) -> CommandOutput {
        if outcome.droppedOutput > 0 {
            audit.record(.limitBreach(tenant: configuration.tenant, plugin: record.id, pid: process.pid,
                                      limit: "wasi_output_bytes", value: Int64(clamping: record.policy.wasi.maxOutputBytes),
                                      measured: Int64(clamping: outcome.droppedOutput), export: call.export))
        }
        return CommandOutput(exitCode: exitCode, stdout: call.stdout, stderr: call.stderr, truncated: outcome.droppedOutput > 0)
    }
}
