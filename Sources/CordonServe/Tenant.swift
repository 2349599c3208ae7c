import Cordon
import CordonAudit
import CordonPolicy
import Foundation
import Synchronization

/// One tenant of the daemon: its own `Supervisor` (so its workers, events and audit records carry its
/// name), its plugins, and the quota and rate checks made before any work is done for it.
final class Tenant: Sendable {
    /// A plugin as the daemon knows it: the id it gave, the request, and the library's handle
    /// (nil while a restored plugin could not be loaded: `loadError` says why).
    struct Plugin: Sendable {
        var id: String
        var spec: PluginSpec
        var handle: PluginHandle?
        var exports: [String: ExportedFunction]
        var loadError: String?
        var memoryBytes: Int
    }

    struct State {
        var plugins: [String: Plugin] = [:]
        /// Names being loaded, so two concurrent creates of one name cannot both pass.
        var pendingNames: Set<String> = []
        var usedPlugins = 0
        var usedWorkers = 0
        var usedMemory = 0
        var inFlight = 0
        var limiter: CallRateLimiter
        /// Library handle id → daemon id, to name plugins in events.
        var libraryIDs: [String: String] = [:]
    }

    let configuration: TenantConfiguration
    let supervisor: Supervisor
    let store: StateStore
    let host: StoredHost
    let state: Mutex<State>

    var name: String { configuration.name }

    init(configuration: TenantConfiguration, supervisor: Supervisor, store: StateStore) {
        self.configuration = configuration
        self.supervisor = supervisor
        self.store = store
        host = StoredHost(tenant: configuration.name, store: store)
        state = Mutex(State(limiter: CallRateLimiter(perSecond: configuration.quota.callsPerSecond)))
    }

    // MARK: Plugins

    /// Checks the request against what this tenant may do and its quota, then loads the plugin.
    /// `restoring` loads a plugin already in the database under its id, and keeps it (as failed)
    /// when it cannot be loaded, so the desired state is never dropped by a restart.
    func create(spec: PluginSpec, specBytes: [UInt8], restoringID: String? = nil) async throws(APIError) -> Plugin {
        let quota = configuration.quota
        guard configuration.policies.contains(spec.policy), let policy = ServeConfiguration.builtinPolicies[spec.policy] else {
            throw APIError(403, "policy_not_allowed", "tenant '\(name)' may not use policy '\(spec.policy)' (allowed: \(configuration.policies.joined(separator: ", ")))")
        }
        let refused = spec.capabilities.subtracting(configuration.capabilities).map(\.description).sorted()
        guard refused.isEmpty else {
            throw APIError(403, "capability_not_allowed", "tenant '\(name)' may not grant \(refused.joined(separator: ", "))",
                           details: [("capabilities", .array(refused.map { .string($0) }))])
        }
        let limits = spec.limits(policy: policy)
        let memory = spec.workers * Int(limits.maxMemoryPages) * 65536
        // Reserve before the (slow) load, so concurrent creates cannot overshoot the quota.
        try state.withLock { s throws(APIError) in
            if s.pendingNames.contains(spec.name) || s.plugins.values.contains(where: { $0.spec.name == spec.name }) {
                throw APIError(409, "conflict", "tenant '\(name)' already has a plugin named '\(spec.name)'")
            }
            guard s.usedPlugins + 1 <= quota.plugins else {
                throw APIError(429, "quota_exceeded", "plugin quota \(quota.plugins) reached", details: [("quota", .string("plugins"))])
            }
            guard s.usedWorkers + spec.workers <= quota.workers else {
                throw APIError(429, "quota_exceeded", "worker quota \(quota.workers) would be exceeded (\(s.usedWorkers) in use, \(spec.workers) asked)",
                               details: [("quota", .string("workers"))])
            }
            guard s.usedMemory + memory <= quota.memoryMiB << 20 else {
                throw APIError(429, "quota_exceeded",
                               "memory quota \(quota.memoryMiB) MiB would be exceeded (\(s.usedMemory >> 20) MiB reserved, \(memory >> 20) MiB asked: workers × memory_pages × 64 KiB)",
                               details: [("quota", .string("memory_mib"))])
            }
            s.pendingNames.insert(spec.name)
            s.usedPlugins += 1
            s.usedWorkers += spec.workers
            s.usedMemory += memory
        }
        func release() {
            state.withLock { s in
                s.pendingNames.remove(spec.name)
                s.usedPlugins -= 1
                s.usedWorkers -= spec.workers
                s.usedMemory -= memory
            }
        }
        let id = restoringID ?? Self.newID()
        var plugin = Plugin(id: id, spec: spec, handle: nil, exports: [:], loadError: nil, memoryBytes: memory)
        do {
            guard let module = try await store.module(tenant: name, sha256: spec.moduleSHA256) else {
                throw APIError(422, "unknown_module", "tenant '\(name)' has no module \(spec.moduleSHA256); PUT /v1/modules first")
            }
            let handle: PluginHandle
            do {
                handle = try await supervisor.load(manifest: spec.manifest, module: module, policy: policy, host: host,
                                                   grant: spec.capabilities, limits: limits)
            } catch { throw APIError.from(error) }
            plugin.handle = handle
            for export in await handle.exports() { plugin.exports[export.name] = export }
            if restoringID == nil {
                do {
                    try await store.insertPlugin(StateStore.StoredPlugin(id: id, tenant: name, name: spec.name, spec: specBytes))
                } catch {
                    await handle.unload()
                    throw APIError(500, "state_write_failed", "could not record the plugin: \(error)")
                }
            }
        } catch let error as APIError {
            guard restoringID != nil else { release(); throw error }
            plugin.loadError = error.message
        } catch {
            release()
            throw APIError(500, "internal", "\(error)")
        }
        let stored = plugin
        state.withLock { s in
            s.pendingNames.remove(spec.name)
            s.plugins[id] = stored
            if let handle = stored.handle { s.libraryIDs[handle.id] = id }
        }
        return plugin
    }

    func plugin(_ id: String) -> Plugin? { state.withLock { $0.plugins[id] } }

    func plugins() -> [Plugin] { state.withLock { Array($0.plugins.values) }.sorted { $0.id < $1.id } }

    func delete(_ id: String) async throws(APIError) {
        guard let plugin = state.withLock({ s -> Plugin? in
            guard let p = s.plugins.removeValue(forKey: id) else { return nil }
            s.usedPlugins -= 1
            s.usedWorkers -= p.spec.workers
            s.usedMemory -= p.memoryBytes
            return p
        }) else { throw .notFoundPlugin }
        do { try await store.deletePlugin(id: id) } catch {
            throw APIError(500, "state_write_failed", "could not remove the plugin from the state database: \(error)")
        }
        if let handle = plugin.handle { await handle.unload() }
    }

    func daemonID(forLibraryID id: String) -> String? { state.withLock { $0.libraryIDs[id] } }

    // MARK: Calls

    /// Takes a rate token and a concurrency slot, or says which limit refused.
    func admitCall() throws(APIError) {
        let quota = configuration.quota
        try state.withLock { s throws(APIError) in
            guard s.inFlight < quota.concurrentCalls else {
                throw APIError(429, "rate_limited", "tenant '\(name)' has \(quota.concurrentCalls) calls in flight (concurrent_calls)",
                               details: [("quota", .string("concurrent_calls"))])
            }
            guard s.limiter.take() else {
                throw APIError(429, "rate_limited", "tenant '\(name)' exceeded \(quota.callsPerSecond) calls per second",
                               details: [("quota", .string("calls_per_second"))])
            }
            s.inFlight += 1
        }
    }

    func finishCall() { state.withLock { $0.inFlight -= 1 } }

    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return "p" + Hex.encode((0..<12).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}
