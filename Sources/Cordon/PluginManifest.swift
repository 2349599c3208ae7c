import Foundation

/// Describes a plugin: who wrote it, what it exports, and which capabilities it asks for.
public struct PluginManifest: Sendable, Hashable {
    public var name: String
    public var version: String
    public var description: String
    public var author: String
    public var license: String
    /// Capabilities the plugin asks for; the application may grant fewer, never more.
    public var capabilities: Set<PluginCapability>
    /// Exports the plugin promises; checked against the module at load when non-empty.
    public var exports: [String]
    /// Configuration values readable through `host_get_config` (with `readConfig`).
    public var configuration: [String: String]
    /// Free-form metadata, carried but not interpreted.
    public var metadata: [String: String]
    /// Parallel workers serving this plugin's calls (each a separate confined process).
    public var workers: Int

    public init(name: String, version: String = "0.0.0", description: String = "", author: String = "",
                license: String = "", capabilities: Set<PluginCapability> = [], exports: [String] = [],
                configuration: [String: String] = [:], metadata: [String: String] = [:], workers: Int = 1) {
        self.name = name
        self.version = version
        self.description = description
        self.author = author
        self.license = license
        self.capabilities = capabilities
        self.exports = exports
        self.configuration = configuration
        self.metadata = metadata
        self.workers = workers
    }

    /// Loads a manifest from a JSON file.
    public static func load(path: String) throws(CordonError) -> PluginManifest {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CordonError.fileNotFound(path: path)
        }
        return try parse(data, file: path)
    }

    /// Parses manifest JSON; unknown keys, wrong types and unknown capabilities are errors naming the key.
    public static func parse(_ data: Data, file: String = "<manifest>") throws(CordonError) -> PluginManifest {
        func fail(_ path: String, _ reason: String) -> CordonError {
            .invalidManifest(file: file, path: path, reason: reason)
        }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw fail("$", "not valid JSON: \(error.localizedDescription)")
        }
        guard let root = object as? [String: Any] else { throw fail("$", "expected an object") }
        let known: Set<String> = ["name", "version", "description", "author", "license", "capabilities",
                                  "exports", "configuration", "config", "metadata", "workers"]
        for key in root.keys.sorted() where !known.contains(key) { throw fail("$.\(key)", "unknown key") }
        func string(_ key: String, required: Bool = false) throws(CordonError) -> String? {
            guard let value = root[key] else {
                if required { throw fail("$.\(key)", "missing required key") }
                return nil
            }
            guard let text = value as? String else { throw fail("$.\(key)", "expected a string") }
            return text
        }
        func stringMap(_ key: String) throws(CordonError) -> [String: String] {
            guard let value = root[key] else { return [:] }
            guard let map = value as? [String: Any] else { throw fail("$.\(key)", "expected an object of strings") }
            var out: [String: String] = [:]
            for (k, v) in map {
                guard let s = v as? String else { throw fail("$.\(key).\(k)", "expected a string") }
                out[k] = s
            }
            return out
        }
        guard let name = try string("name", required: true), !name.isEmpty, name.count <= 128 else {
            throw fail("$.name", "must be a non-empty string of at most 128 characters")
        }
        var manifest = PluginManifest(name: name)
        manifest.version = try string("version") ?? "0.0.0"
        manifest.description = try string("description") ?? ""
        manifest.author = try string("author") ?? ""
        manifest.license = try string("license") ?? ""
        if let caps = root["capabilities"] {
            guard let list = caps as? [Any] else { throw fail("$.capabilities", "expected an array of strings") }
            for (index, item) in list.enumerated() {
                guard let text = item as? String else { throw fail("$.capabilities[\(index)]", "expected a string") }
                guard let cap = PluginCapability(text) else {
                    throw fail("$.capabilities[\(index)]", "unknown capability '\(text)' (read_config, write_config, send_message, receive_message, call_tool, storage, random, timer, custom:NAME)")
                }
                manifest.capabilities.insert(cap)
            }
        }
        if let exports = root["exports"] {
            guard let list = exports as? [String] else { throw fail("$.exports", "expected an array of strings") }
            manifest.exports = list
        }
        manifest.configuration = try stringMap(root["configuration"] != nil ? "configuration" : "config")
        manifest.metadata = try stringMap("metadata")
        if let workers = root["workers"] {
            guard let n = workers as? Int, !(workers is Bool), (1...64).contains(n) else {
                throw fail("$.workers", "expected an integer from 1 to 64")
            }
            manifest.workers = n
        }
        return manifest
    }
}
