import Cordon

/// The host functions a daemon's plugins get: configuration from their manifest, `host_storage_*`
/// in the state database (per tenant and plugin name, so it outlives workers, reloads and daemon
/// restarts), logs to the daemon's logger, everything else refused.
struct StoredHost: HostFunctions {
    let tenant: String
    let store: StateStore
    /// Keys and values are the guest's: bounded so one plugin cannot fill the disk one giant row at a time.
    static let maxKeyBytes = 1024
    static let maxValueBytes = 1 << 20

    func storageGet(_ context: PluginContext, key: String) async throws -> [UInt8]? {
        guard key.utf8.count <= Self.maxKeyBytes else { throw HostFunctionError.tooLarge }
        do { return try await store.storageGet(tenant: tenant, plugin: context.manifest.name, key: key) }
        catch { throw HostFunctionError.hostError }
    }

    func storageSet(_ context: PluginContext, key: String, value: [UInt8]) async throws {
        guard key.utf8.count <= Self.maxKeyBytes, value.count <= Self.maxValueBytes else { throw HostFunctionError.tooLarge }
        do { try await store.storageSet(tenant: tenant, plugin: context.manifest.name, key: key, value: value) }
        catch { throw HostFunctionError.hostError }
    }

    func storageDelete(_ context: PluginContext, key: String) async throws -> Bool {
        guard key.utf8.count <= Self.maxKeyBytes else { throw HostFunctionError.tooLarge }
        do { return try await store.storageDelete(tenant: tenant, plugin: context.manifest.name, key: key) }
        catch { throw HostFunctionError.hostError }
    }
}
