import Cordon
import CordonAudit
import Foundation
import Logging
import Synchronization

/// The daemon's state behind the HTTP API: one `Supervisor` per tenant sharing one `AuditLog`
/// (its appends are serialized inside, and a supervisor never closes it), the state database, and
/// the drain flag SIGTERM raises.
public final class ServeDaemon: Sendable {
    public let configuration: ServeConfiguration
    let audit: AuditLog
    let store: StateStore
    let tenants: [String: Tenant]
    let logger: Logger
    let metrics = ServeMetrics()
    private let drainingFlag = Atomic<Bool>(false)

    public init(configuration: ServeConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let auditDirectory = (configuration.auditLog as NSString).deletingLastPathComponent
        if !auditDirectory.isEmpty {
            try FileManager.default.createDirectory(atPath: auditDirectory, withIntermediateDirectories: true)
        }
        audit = try AuditLog(configuration: AuditLogConfiguration(path: configuration.auditLog))
        store = try StateStore(directory: configuration.stateDirectory)
        var tenants: [String: Tenant] = [:]
        for tenant in configuration.tenants {
            var supervisorConfiguration = SupervisorConfiguration(tenant: tenant.name, auditLog: audit)
            supervisorConfiguration.reactorBusyPoll = configuration.reactorBusyPoll
            if configuration.cgroups {
                supervisorConfiguration.workerCgroup = try TenantCgroup.create(tenant: tenant.name, quota: tenant.quota)
            }
            let supervisor = try Supervisor(configuration: supervisorConfiguration)
            tenants[tenant.name] = Tenant(configuration: tenant, supervisor: supervisor, store: store)
        }
        self.tenants = tenants
    }

    /// The library handle behind a tenant's plugin id: `cordon-bench serve` calls it directly, as
    /// the baseline its HTTP figures are compared with.
    package func pluginHandle(tenant: String, id: String) -> PluginHandle? { tenants[tenant]?.plugin(id)?.handle }

    public var isDraining: Bool { drainingFlag.load(ordering: .acquiring) }
    public func beginDraining() { drainingFlag.store(true, ordering: .releasing) }

    /// Loads every plugin in the state database under its id; one that no longer loads stays
    /// listed with its error, and a tenant removed from the config keeps its rows untouched.
    public func restore() async throws {
        for stored in try store.plugins() {
            guard let tenant = tenants[stored.tenant] else {
                logger.warning("state has plugin \(stored.id) of tenant '\(stored.tenant)', which the config no longer has; skipped")
                continue
            }
            do {
                let spec = try PluginSpec.parse(stored.spec)
                let plugin = try await tenant.create(spec: spec, specBytes: stored.spec, restoringID: stored.id)
                if let error = plugin.loadError { logger.error("plugin \(stored.id) (\(stored.name)) did not load: \(error)") }
            } catch {
                logger.error("plugin \(stored.id) (\(stored.name)) could not be restored: \(error)")
            }
        }
    }

    /// The tenant whose token this is. Every tenant's digest is compared (constant time, no early
    /// exit), so the answer's timing does not depend on which tenant matched.
    func authenticate(_ header: String?) -> Tenant? {
        guard let token = BearerToken.token(fromHeader: header) else { return nil }
        let digest = BearerToken.digest(token)
        var found: Tenant?
        for tenant in tenants.values where BearerToken.equal(digest, tenant.configuration.tokenSHA256) { found = tenant }
        return found
    }

    func isAdmin(_ header: String?) -> Bool {
        guard let token = BearerToken.token(fromHeader: header) else { return false }
        return BearerToken.equal(BearerToken.digest(token), configuration.adminTokenSHA256)
    }

    /// Audits a refused request. A full or failing audit log must not turn a refusal into a crash.
    func recordRefusal(tenant: String?, plugin: String? = nil, method: String, path: String, error: APIError) {
        metrics.refused(tenant: tenant, code: error.code)
        do {
            _ = try audit.append(.requestRefused(tenant: tenant ?? "-", plugin: plugin, method: method, path: path,
                                                 status: error.status, code: error.code))
        } catch {
            logger.error("audit append failed: \(error)")
        }
    }

    /// Stops every tenant's workers (calls still in flight after `grace` fail), removes the tenants'
    /// cgroups, then closes the audit log.
    public func shutdown() async {
        beginDraining()
        await withTaskGroup(of: Void.self) { group in
            for tenant in tenants.values {
                group.addTask { await tenant.supervisor.shutdown(gracePeriod: .seconds(2)) }
            }
        }
        if configuration.cgroups {
            for tenant in configuration.tenants {
                for failure in TenantCgroup.remove(tenant: tenant.name) { logger.warning("\(failure)") }
            }
        }
        do { try audit.close() } catch { logger.error("closing the audit log: \(error)") }
    }
}
