import CordonAudit
import Foundation
import Synchronization

/// The supervisor's side of the audit log: appends records and remembers a write failure, so the
/// supervisor can refuse new loads (the default `AuditFailurePolicy`) and say why.
final class SupervisorAudit: Sendable {
    let log: AuditLog?
    let tenant: String
    private let lastFailure = Mutex<String?>(nil)

    init(log: AuditLog?, tenant: String) {
        self.log = log
        self.tenant = tenant
    }

    /// Why the log is not writing, or nil when it is.
    var failure: String? {
        guard let log else { return nil }
        if case .failed(let error) = log.health { return "\(error)" }
        return lastFailure.withLock { $0 }
    }

    func record(_ event: AuditEvent) {
        guard let log else { return }
        do {
            _ = try log.append(event)
            lastFailure.withLock { $0 = nil }
        } catch {
            lastFailure.withLock { $0 = "\(error)" }
        }
    }

    /// Host calls are recorded per the log's sampling level (off / denied only / all).
    func hostCall(plugin: String, pid: Int32, function: String, status: HostCallStatus, bytes: Int) {
        guard let log, log.configuration.hostCallSampling.records(status) else { return }
        record(.hostcall(tenant: tenant, plugin: plugin, pid: pid, function: function, status: status, bytes: bytes))
    }
}
