import Cordon
import CordonPolicy
import Foundation

/// A tenant's quota: checked before any work is done for it.
public struct TenantQuota: Sendable, Hashable {
    public var plugins: Int
    public var workers: Int
    public var memoryMiB: Int
    public var callsPerSecond: Int
    public var moduleBytes: Int
    public var concurrentCalls: Int
    /// Share of one CPU the tenant's workers may use together (cgroup), in percent.
    public var cpuPercent: Int
}

/// One tenant of the daemon: who it is (a token, stored as its SHA-256) and what it may do.
public struct TenantConfiguration: Sendable {
    public var name: String
    public var tokenSHA256: [UInt8]
    public var quota: TenantQuota
    /// Capabilities this tenant may grant its plugins.
    public var capabilities: Set<PluginCapability>
    /// Policies (built-in names) this tenant's plugins may run under.
    public var policies: [String]
}

/// `cordon serve --config FILE`: listeners, state, audit log, tenants. Unknown keys are errors.
public struct ServeConfiguration: Sendable {
    public var unixSocket: String?
    public var tcpHost: String?
    public var tcpPort: Int?
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// The loaded certificate and key (`loadTLS()`); nil when `listen.tls` is absent.
    public var tls: ServeTLS?
    public var stateDirectory: String
    public var auditLog: String
    public var adminTokenSHA256: [UInt8]
    public var tenants: [TenantConfiguration]
    /// How long SIGTERM waits for in-flight calls before workers are stopped.
    public var shutdownGrace: Duration
    /// A connection with no request in progress for this long is closed (slow or idle clients).
    public var idleTimeout: Duration
    /// Largest JSON request body; module uploads are bounded by the tenant's `module_bytes`.
    public var maxJSONBody: Int
    /// Largest body of a bytes-convention call.
    public var maxCallBody: Int
    /// Open connections per listener; past it new connections wait in the backlog.
    public var maxConnections: Int
    /// Put each tenant's workers in `cordon/<tenant>` with its limits (default true; needs root).
    public var cgroups: Bool
    /// How long each tenant's reactor polls after a busy turn (`SupervisorConfiguration.reactorBusyPoll`).
    public var reactorBusyPoll: Duration

    /// Builtin policy names a config may list.
    public static let builtinPolicies: [String: SandboxPolicy] = ["default": .builtinDefault, "strict": .builtinStrict]

    public static func load(path: String) throws(JSONInputError) -> ServeConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw JSONInputError(path: "$", reason: "cannot read \(path)")
        }
        var configuration = try parse(Array(data))
        try configuration.loadTLS()
        return configuration
    }

    /// Reads and checks the TLS certificate and key named by `listen.tls` (if any), so that a bad
    /// file is refused at start with its JSON path. `ServeService` calls it when nobody did.
    public mutating func loadTLS() throws(JSONInputError) {
        guard tls == nil, let cert = tlsCertificate, let key = tlsKey else { return }
        tls = try ServeTLS.load(certificatePath: cert, keyPath: key)
    }

    public static func parse(_ bytes: [UInt8]) throws(JSONInputError) -> ServeConfiguration {
        var root = try JSONObjectReader.parse(bytes)
        guard var listen = try root.object("listen") else { throw JSONInputError(path: "$.listen", reason: "is required") }
        let unix = try listen.string("unix")
        let tcp = try listen.string("tcp")
        var cert: String?, key: String?
        if var tls = try listen.object("tls") {
            cert = try tls.requiredString("cert")
            key = try tls.requiredString("key")
            try tls.finish()
        }
        try listen.finish()
        guard unix != nil || tcp != nil else { throw JSONInputError(path: "$.listen", reason: "needs \"unix\", \"tcp\" or both") }
        if let unix, !unix.hasPrefix("/") { throw JSONInputError(path: "$.listen.unix", reason: "must be an absolute path") }
        var host: String?, port: Int?
        if let tcp {
            guard let colon = tcp.lastIndex(of: ":"), let p = Int(tcp[tcp.index(after: colon)...]), (1...65535).contains(p) else {
                throw JSONInputError(path: "$.listen.tcp", reason: "expected HOST:PORT with a port in 1…65535, found \"\(tcp)\"")
            }
            host = String(tcp[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            port = p
            let loopback = host == "127.0.0.1" || host == "::1" || host == "localhost" || host!.hasPrefix("127.")
            // Bearer tokens must never cross a network in clear text; loopback stays on the host.
            if !loopback && cert == nil {
                throw JSONInputError(path: "$.listen.tls", reason: "is required: listen.tcp \(tcp) is not a loopback address (give listen.tls.cert and listen.tls.key)")
            }
        }
        if cert != nil && tcp == nil {
            throw JSONInputError(path: "$.listen.tls", reason: "applies to the TCP listener, and there is no listen.tcp (the Unix socket never uses TLS)")
        }
        for (value, path) in [(cert, "$.listen.tls.cert"), (key, "$.listen.tls.key")] {
            if let value, !value.hasPrefix("/") { throw JSONInputError(path: path, reason: "must be an absolute path") }
        }
        let stateDir = try root.requiredString("state_dir")
        let audit = try root.requiredString("audit_log")
        let admin = try digest(try root.requiredString("admin_token_sha256"), path: "$.admin_token_sha256")
        let grace = try root.integer("shutdown_grace_ms", in: 0...600_000) ?? 10_000
        let idle = try root.integer("idle_timeout_ms", in: 100...3_600_000) ?? 30_000
        let maxJSON = try root.integer("max_json_body", in: 1024...(64 << 20)) ?? (1 << 20)
        let maxCall = try root.integer("max_call_body", in: 1024...(256 << 20)) ?? (4 << 20)
        let maxConnections = try root.integer("max_connections", in: 1...100_000) ?? 1024
        let busyPoll = try root.integer("reactor_busy_poll_us", in: 0...1000) ?? 15
        var cgroups = true
        if let v = root.value("cgroups") {
            guard case .bool(let b) = v else { throw JSONInputError(path: "$.cgroups", reason: "expected a boolean, found \(v.kindName)") }
            cgroups = b
        }
        guard case .array(let tenantValues) = try root.require("tenants") else {
            throw JSONInputError(path: "$.tenants", reason: "expected an array")
        }
        var tenants: [TenantConfiguration] = []
        for (i, value) in tenantValues.enumerated() {
            let tenant = try parseTenant(value, path: "$.tenants[\(i)]")
            if tenants.contains(where: { $0.name == tenant.name }) {
                throw JSONInputError(path: "$.tenants[\(i)].name", reason: "duplicate tenant \"\(tenant.name)\"")
            }
            tenants.append(tenant)
        }
        try root.finish()
        return ServeConfiguration(unixSocket: unix, tcpHost: host, tcpPort: port, tlsCertificate: cert, tlsKey: key, tls: nil,
                                  stateDirectory: stateDir, auditLog: audit, adminTokenSHA256: admin, tenants: tenants,
                                  shutdownGrace: .milliseconds(grace), idleTimeout: .milliseconds(idle),
                                  maxJSONBody: Int(maxJSON), maxCallBody: Int(maxCall), maxConnections: Int(maxConnections),
                                  cgroups: cgroups, reactorBusyPoll: .microseconds(busyPoll))
    }

    private static func parseTenant(_ value: StrictJSONValue, path: String) throws(JSONInputError) -> TenantConfiguration {
        var t = try JSONObjectReader(value, path: path)
        let name = try t.requiredString("name")
        // The name becomes a cgroup directory and an audit field: keep it to a safe alphabet.
        guard !name.isEmpty, name.count <= 64, name.utf8.allSatisfy({ isalnum(Int32($0)) != 0 || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }) else {
            throw JSONInputError(path: "\(path).name", reason: "must be 1–64 characters of [A-Za-z0-9_-]")
        }
        let token = try digest(try t.requiredString("token_sha256"), path: "\(path).token_sha256")
        guard var q = try t.object("quota") else { throw JSONInputError(path: "\(path).quota", reason: "is required") }
        let quota = TenantQuota(
            plugins: Int(try q.integer("plugins", in: 0...100_000) ?? 10),
            workers: Int(try q.integer("workers", in: 0...100_000) ?? 20),
            memoryMiB: Int(try q.integer("memory_mib", in: 1...1_048_576) ?? 512),
            callsPerSecond: Int(try q.integer("calls_per_second", in: 1...10_000_000) ?? 1000),
            moduleBytes: Int(try q.integer("module_bytes", in: 8...(1 << 32)) ?? (64 << 20)),
            concurrentCalls: Int(try q.integer("concurrent_calls", in: 1...100_000) ?? 64),
            cpuPercent: Int(try q.integer("cpu_percent", in: 1...100_000) ?? 100))
        try q.finish()
        var capabilities: Set<PluginCapability> = []
        for (i, text) in (try t.strings("capabilities") ?? []).enumerated() {
            guard let c = PluginCapability(text) else {
                throw JSONInputError(path: "\(path).capabilities[\(i)]", reason: "unknown capability \"\(text)\"")
            }
            capabilities.insert(c)
        }
        let policies = try t.strings("policies") ?? ["default"]
        for (i, p) in policies.enumerated() where builtinPolicies[p] == nil {
            throw JSONInputError(path: "\(path).policies[\(i)]", reason: "unknown policy \"\(p)\" (built in: default, strict)")
        }
        try t.finish()
        return TenantConfiguration(name: name, tokenSHA256: token, quota: quota, capabilities: capabilities, policies: policies)
    }

    private static func digest(_ hex: String, path: String) throws(JSONInputError) -> [UInt8] {
        guard let bytes = Hex.decode(hex), bytes.count == 32 else {
            throw JSONInputError(path: path, reason: "expected 64 hex digits (a SHA-256 digest)")
        }
        return bytes
    }
}
