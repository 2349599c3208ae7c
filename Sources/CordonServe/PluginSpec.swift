import Cordon
import CordonPolicy

/// What a tenant asks for in `POST /v1/plugins`; stored as given so a restart loads the same thing.
struct PluginSpec: Sendable {
    var name: String
    var version: String
    var moduleSHA256: String
    var grant: [String]
    var capabilities: Set<PluginCapability>
    var config: [String: String]
    var policy: String
    var fuel: UInt64?
    var timeoutMilliseconds: Int64?
    var memoryPages: UInt32?
    var workers: Int

    /// Names and ids appear in paths, audit records and metric labels: a small alphabet, bounded.
    static func isSafeName(_ s: String, max: Int = 64) -> Bool {
        !s.isEmpty && s.utf8.count <= max && s.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A)
                || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
        } && s != "." && s != ".."
    }

    static func parse(_ bytes: [UInt8]) throws(JSONInputError) -> PluginSpec {
        var r = try JSONObjectReader.parse(bytes)
        let name = try r.requiredString("name")
        guard isSafeName(name) else { throw JSONInputError(path: "$.name", reason: "must be 1–64 characters of [A-Za-z0-9._-]") }
        let version = try r.string("version") ?? "0.0.0"
        guard version.utf8.count <= 64 else { throw JSONInputError(path: "$.version", reason: "longer than 64 bytes") }
        let module = try r.requiredString("module_sha256")
        guard module.utf8.count == 64, Hex.decode(module) != nil else {
            throw JSONInputError(path: "$.module_sha256", reason: "expected 64 hex digits")
        }
        let grant = try r.strings("grant") ?? []
        var capabilities: Set<PluginCapability> = []
        for (i, text) in grant.enumerated() {
            guard let c = PluginCapability(text) else { throw JSONInputError(path: "$.grant[\(i)]", reason: "unknown capability \"\(text)\"") }
            capabilities.insert(c)
        }
        var config: [String: String] = [:]
        if let c = try r.object("config") {
            config = try c.stringMap()
            guard config.count <= 256 else { throw JSONInputError(path: "$.config", reason: "more than 256 entries") }
        }
        let policy = try r.string("policy") ?? "default"
        var fuel: UInt64?, timeout: Int64?, pages: UInt32?
        if var l = try r.object("limits") {
            fuel = try l.integer("fuel", in: 0...Int64.max).map(UInt64.init)
            timeout = try l.integer("timeout_ms", in: 1...3_600_000)
            pages = try l.integer("memory_pages", in: 1...65536).map(UInt32.init)
            try l.finish()
        }
        let workers = Int(try r.integer("workers", in: 1...64) ?? 1)
        try r.finish()
        return PluginSpec(name: name, version: version, moduleSHA256: module.lowercased(), grant: grant, capabilities: capabilities,
                          config: config, policy: policy, fuel: fuel, timeoutMilliseconds: timeout, memoryPages: pages, workers: workers)
    }

    func limits(policy: SandboxPolicy) -> ResourceLimits {
        var limits = ResourceLimits(policy: policy)
        if let fuel { limits.maxFuelPerCall = fuel }
        if let timeoutMilliseconds { limits.maxWallTimePerCall = .milliseconds(timeoutMilliseconds) }
        if let memoryPages { limits.maxMemoryPages = memoryPages }
        return limits
    }

    var manifest: PluginManifest {
        PluginManifest(name: name, version: version, capabilities: capabilities, configuration: config, workers: workers)
    }
}
