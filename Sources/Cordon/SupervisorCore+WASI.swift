import CordonAudit
import CordonChannel
import Foundation

extension SupervisorCore {
    /// Brokered file calls run here, not on the reactor (a slow disk must not stall other tenants'
    /// replies) and not on the cooperative pool (they block in the kernel). One small pool for the
    /// whole process: calls from one worker are serial, so two threads serve many workers.
    static let wasiPool = HostThreadPool(threads: 2, name: "cordon-wasi")

    /// Sends the bootstrap, with the worker's file broker opened first: the broker lives exactly
    /// as long as this worker (closed in `WorkerProcess.closeResources`).
    func sendBootstrap(_ record: PluginRecord, _ slot: WorkerSlot, _ process: WorkerProcess) {
        do {
            process.wasiBroker = try WASIFileBroker(
                preopens: record.wasi.preopens, policy: record.policy.wasi,
                maxReplyBytes: Int(record.limits.maxHostCallBytes),
                identity: WASIBrokerIdentity(tenant: configuration.tenant, plugin: record.id, pid: process.pid),
                record: { [audit] event in audit.record(event) })
        } catch {
            return kill(record, slot, process, reason: "could not open the WASI preopens", failure: error)
        }
        send(.bootstrap(record.bootstrap(idleRelease: configuration.workerIdleRelease)), record, slot, process)
    }

    /// A `wasi.*` host call, after the budgets every host call goes through: the `filesystem`
    /// capability, the size cap, then the broker on `wasiPool`; the answer is delivered on the
    /// reactor, if the worker and the call are still the ones that asked.
    func wasiCall(_ record: PluginRecord, _ slot: WorkerSlot, _ process: WorkerProcess, _ call: PendingCall,
                  _ request: HostCallRequest, function: String,
                  reply: @escaping (Int64, [UInt8], HostCallStatus?) -> Void) {
        if !record.granted.contains(.filesystem) {
            record.metrics.capabilityDenials += 1
            audit.record(.capabilityDenied(tenant: configuration.tenant, plugin: record.id, pid: process.pid,
                                           function: function, capability: PluginCapability.filesystem.description))
            emit(record, process.pid, .capabilityDenied(function: function, capability: .filesystem))
            return reply(Int64(ABIErrorCode.permissionDenied.rawValue), [], .denied)
        }
        let total = request.blobs.reduce(0) { $0 + $1.count }
        guard total <= Int(record.limits.maxHostCallBytes) else {
            breach(record, process.pid, .hostCallBytes, value: Int64(record.limits.maxHostCallBytes), measured: Int64(total), export: call.export)
            return reply(Int64(ABIErrorCode.tooLarge.rawValue), [], .denied)
        }
        guard let broker = process.wasiBroker else {
            return reply(Int64(WASIErrno.badFileDescriptor.rawValue), [], .error)
        }
        let reactor = self.reactor
        let deliver = ReactorBound { [weak slot] (answer: WASIReply) in
            guard let slot, slot.process === process, slot.current === call, process.exit == nil else { return }
            reply(Int64(answer.status.rawValue), answer.data, answer.status == .success ? .ok : .error)
        }
        let integers = request.integers, blobs = request.blobs
        Task(executorPreference: Self.wasiPool) {
            let answer = broker.serve(function: function, integers: integers, blobs: blobs)
            reactor.execute { deliver.value(answer) }
        }
    }
}
