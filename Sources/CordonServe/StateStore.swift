import Foundation
import GRDB

/// The daemon's desired state and plugin storage, in one SQLite database under `state_dir`:
/// modules (per tenant, by SHA-256), plugins (the request that created each, with its id) and
/// `host_storage_*` values (per tenant and plugin name). WAL with `synchronous=FULL`: a write that
/// returned is on disk, so it survives a SIGKILL of the daemon and a power cut.
public final class StateStore: Sendable {
    let pool: DatabasePool

    /// A plugin as stored: its id, tenant and the JSON body that created it (re-validated on restore).
    public struct StoredPlugin: Sendable {
        public var id: String
        public var tenant: String
        public var name: String
        public var spec: [UInt8]
    }

    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        pool = try DatabasePool(path: directory + "/cordon.sqlite", configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE module (tenant TEXT NOT NULL, sha256 TEXT NOT NULL, bytes BLOB NOT NULL,
                                     size INTEGER NOT NULL, PRIMARY KEY (tenant, sha256));
                CREATE TABLE plugin (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL,
                                     spec BLOB NOT NULL, created REAL NOT NULL, UNIQUE (tenant, name));
                CREATE TABLE storage (tenant TEXT NOT NULL, plugin TEXT NOT NULL, key TEXT NOT NULL,
                                      value BLOB NOT NULL, PRIMARY KEY (tenant, plugin, key));
                """)
        }
        try migrator.migrate(pool)
    }

    // MARK: Modules

    /// Stores a module; false when the tenant already had it.
    public func putModule(tenant: String, sha256: String, bytes: [UInt8]) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO module (tenant, sha256, bytes, size) VALUES (?, ?, ?, ?)",
                           arguments: [tenant, sha256, Data(bytes), bytes.count])
            return db.changesCount > 0
        }
    }

    public func module(tenant: String, sha256: String) async throws -> [UInt8]? {
        try await pool.read { db in
            try Data.fetchOne(db, sql: "SELECT bytes FROM module WHERE tenant = ? AND sha256 = ?", arguments: [tenant, sha256])
        }.map { Array($0) }
    }

    public func moduleBytesTotal(tenant: String) async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(size), 0) FROM module WHERE tenant = ?", arguments: [tenant]) ?? 0
        }
    }

    // MARK: Plugins

    public func insertPlugin(_ plugin: StoredPlugin) async throws {
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO plugin (id, tenant, name, spec, created) VALUES (?, ?, ?, ?, ?)",
                           arguments: [plugin.id, plugin.tenant, plugin.name, Data(plugin.spec), Date().timeIntervalSince1970])
        }
    }

    public func deletePlugin(id: String) async throws {
        try await pool.write { db in try db.execute(sql: "DELETE FROM plugin WHERE id = ?", arguments: [id]) }
    }

    public func plugins() throws -> [StoredPlugin] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, tenant, name, spec FROM plugin ORDER BY created").map { row in
                let spec: Data = row["spec"]
                return StoredPlugin(id: row["id"], tenant: row["tenant"], name: row["name"], spec: Array(spec))
            }
        }
    }

    // MARK: Storage

    public func storageGet(tenant: String, plugin: String, key: String) async throws -> [UInt8]? {
        try await pool.read { db in
            try Data.fetchOne(db, sql: "SELECT value FROM storage WHERE tenant = ? AND plugin = ? AND key = ?",
                              arguments: [tenant, plugin, key])
        }.map { Array($0) }
    }

    public func storageSet(tenant: String, plugin: String, key: String, value: [UInt8]) async throws {
        try await pool.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO storage (tenant, plugin, key, value) VALUES (?, ?, ?, ?)",
                           arguments: [tenant, plugin, key, Data(value)])
        }
    }

    public func storageDelete(tenant: String, plugin: String, key: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM storage WHERE tenant = ? AND plugin = ? AND key = ?", arguments: [tenant, plugin, key])
            return db.changesCount > 0
        }
    }
}
