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

    /// Manifest name and version by load id, for the records that name a loaded plugin.
    private let names = Mutex<[String: (name: String, version: String)]>([:])

    func record(_ event: AuditEvent) {
        guard let log else { return }
        var event = event
        if let plugin = event.plugin, event.type != .pluginLoad {
            if event.type.fields.contains(where: { $0.name == "plugin_name" }), let known = names.withLock({ $0[plugin] }) {
                event.data["plugin_name"] = .string(known.name)
                event.data["plugin_version"] = .string(known.version)
            }
        } else if event.type == .pluginLoad, let plugin = event.plugin,
                  case .string(let name) = event.data["manifest_name"], case .string(let version) = event.data["manifest_version"] {
            names.withLock { $0[plugin] = (name, version) }
        }
        // The unload is the plugin's last record: its workers have all exited by then.
        if event.type == .pluginUnload, let plugin = event.plugin { names.withLock { _ = $0.removeValue(forKey: plugin) } }
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
