/// What a caller asks the log to record; the log adds `seq`, `time`, `prev` and `hash`.
///
/// Build events with the typed constructors (`AuditEvent.workerSpawn(...)` etc.) so field names and
/// types always match the schema; the memberwise initializer exists for tests and future types.
public struct AuditEvent: Sendable, Hashable {
    /// The record's `type`.
    public var type: AuditEventType
    /// Tenant; nil means the log's configured default tenant.
    public var tenant: String?
    /// Plugin name, nil for supervisor-wide events (written as JSON `null`).
    public var plugin: String?
    /// Worker pid, nil when no worker process is involved (written as JSON `null`).
    public var worker: Int32?
    /// Type-specific fields, written under the record's `data` key.
    public var data: [String: AuditValue]

    public init(type: AuditEventType, tenant: String? = nil, plugin: String? = nil, worker: Int32? = nil,
                data: [String: AuditValue] = [:]) {
        self.type = type
        self.tenant = tenant
        self.plugin = plugin
        self.worker = worker
        self.data = data
    }
}

extension AuditEvent {
    private static func strings(_ a: [String]) -> AuditValue { .array(a.map { .string($0) }) }

    /// `supervisor.start`: the supervisor process came up.
    public static func supervisorStart(tenant: String? = nil, version: String, pid: Int32) -> AuditEvent {
        AuditEvent(type: .supervisorStart, tenant: tenant, data: ["version": .string(version), "pid": .int(Int64(pid))])
    }

    /// `supervisor.stop`: the supervisor is shutting down (written before `log.close`).
    public static func supervisorStop(tenant: String? = nil, reason: String) -> AuditEvent {
        AuditEvent(type: .supervisorStop, tenant: tenant, data: ["reason": .string(reason)])
    }

    /// `plugin.load`: a plugin was admitted with this module and policy. Digests are hex SHA-256.
    /// `limits`, when given, are the limits in force as `name=value` (the application's override of
    /// the policy's, after the channel's clamp). `seccompSkipped` names the syscalls the policy allowed
    /// that the supervisor's libseccomp does not know, so the filter denies them
    /// (`SeccompProfile.skippedSyscalls`).
    public static func pluginLoad(tenant: String? = nil, plugin: String, manifestName: String, manifestVersion: String,
                                  moduleSHA256: String, policyName: String, policySHA256: String,
                                  capabilities: [String], limits: [String]? = nil,
                                  seccompSkipped: [String] = []) -> AuditEvent {
        var data: [String: AuditValue] = [
            "manifest_name": .string(manifestName), "manifest_version": .string(manifestVersion),
            "module_sha256": .string(moduleSHA256.lowercased()), "policy_name": .string(policyName),
            "policy_sha256": .string(policySHA256.lowercased()), "capabilities": strings(capabilities),
        ]
        if let limits { data["limits"] = strings(limits) }
        // Only when the policy had some, so records of other policies keep their shape.
        if !seccompSkipped.isEmpty { data["seccomp_skipped"] = strings(seccompSkipped) }
        return AuditEvent(type: .pluginLoad, tenant: tenant, plugin: plugin, data: data)
    }

    /// `plugin.unload`: a plugin was removed.
    public static func pluginUnload(tenant: String? = nil, plugin: String, reason: String) -> AuditEvent {
        AuditEvent(type: .pluginUnload, tenant: tenant, plugin: plugin, data: ["reason": .string(reason)])
    }

    /// `worker.spawn`: a confined worker started; `requested` vs `achieved` shows any isolation
    /// layer the host could not provide.
    /// `cgroup` names the cgroup the worker was placed in before it got a module, when there is one.
    public static func workerSpawn(tenant: String? = nil, plugin: String, pid: Int32, uid: UInt32, cgroup: String? = nil,
                                   requested: [String], achieved: [String], seccompMode: String) -> AuditEvent {
        var data: [String: AuditValue] = [
            "uid": .int(Int64(uid)), "layers_requested": strings(requested),
            "layers_achieved": strings(achieved), "seccomp_mode": .string(seccompMode),
        ]
        if let cgroup { data["cgroup"] = .string(cgroup) }
        return AuditEvent(type: .workerSpawn, tenant: tenant, plugin: plugin, worker: pid, data: data)
    }

    /// `capability.denied`: the plugin called a host function its policy does not grant.
    public static func capabilityDenied(tenant: String? = nil, plugin: String, pid: Int32?, function: String,
                                        capability: String) -> AuditEvent {
        AuditEvent(type: .capabilityDenied, tenant: tenant, plugin: plugin, worker: pid,
                   data: ["function": .string(function), "capability": .string(capability)])
    }

    /// `limit.breach`: a resource limit (`limit` names it, `value` is the configured bound,
    /// `measured` what was observed) was exceeded, optionally while running `export`.
    public static func limitBreach(tenant: String? = nil, plugin: String, pid: Int32?, limit: String, value: Int64,
                                   measured: Int64, export: String? = nil) -> AuditEvent {
        var data: [String: AuditValue] = ["limit": .string(limit), "value": .int(value), "measured": .int(measured)]
        if let export { data["export"] = .string(export) }
        return AuditEvent(type: .limitBreach, tenant: tenant, plugin: plugin, worker: pid, data: data)
    }

    /// `seccomp.violation`: a denied syscall. Arguments are recorded as signed 64-bit integers
    /// (two's complement of the raw register value) because records carry Int64 only.
    public static func seccompViolation(tenant: String? = nil, plugin: String, pid: Int32?, syscall: String,
                                        nr: Int32, arch: String, args: [UInt64],
                                        reportedBy: SeccompReporter) -> AuditEvent {
        AuditEvent(type: .seccompViolation, tenant: tenant, plugin: plugin, worker: pid, data: [
            "syscall": .string(syscall), "nr": .int(Int64(nr)), "arch": .string(arch),
            "args": .array(args.map { .int(Int64(bitPattern: $0)) }), "reported_by": .string(reportedBy.rawValue),
        ])
    }

    /// `protocol.violation`: the worker sent something the channel protocol forbids.
    public static func protocolViolation(tenant: String? = nil, plugin: String, pid: Int32?,
                                         reason: String) -> AuditEvent {
        AuditEvent(type: .protocolViolation, tenant: tenant, plugin: plugin, worker: pid,
                   data: ["reason": .string(reason)])
    }

    /// Longest `reason` of a `plugin.cleanup_failed` record, in UTF-8 bytes.
    public static let maxCleanupReasonBytes = 512

    /// `plugin.cleanup_failed`: the worker `pid`, told to stop, says the plugin's `cordon_cleanup`
    /// failed. The reason is the worker's text, so hostile: cut to `maxCleanupReasonBytes` between
    /// scalars, control characters (line breaks, escapes) replaced by U+FFFD, so it stays one line
    /// wherever a record is shown.
    public static func pluginCleanupFailed(tenant: String? = nil, plugin: String, pid: Int32,
                                           reason: String) -> AuditEvent {
        var text = String.UnicodeScalarView()
        var used = 0
        for scalar in reason.unicodeScalars {
            let shown: Unicode.Scalar = scalar.properties.generalCategory == .control ? "\u{FFFD}" : scalar
            used += UTF8.width(shown)
            guard used <= maxCleanupReasonBytes else { break }
            text.append(shown)
        }
        return AuditEvent(type: .pluginCleanupFailed, tenant: tenant, plugin: plugin, worker: pid,
                          data: ["reason": .string(String(text))])
    }

    /// `worker.kill`: the supervisor sent `signal` to the worker.
    public static func workerKill(tenant: String? = nil, plugin: String, pid: Int32, signal: Int32,
                                  reason: String) -> AuditEvent {
        AuditEvent(type: .workerKill, tenant: tenant, plugin: plugin, worker: pid,
                   data: ["signal": .int(Int64(signal)), "reason": .string(reason)])
    }

    /// `worker.exit`: the worker was reaped; `status` for a normal exit, `signal` if killed.
    public static func workerExit(tenant: String? = nil, plugin: String, pid: Int32, classification: String,
                                  status: Int32? = nil, signal: Int32? = nil) -> AuditEvent {
        var data: [String: AuditValue] = ["classification": .string(classification)]
        if let status { data["status"] = .int(Int64(status)) }
        if let signal { data["signal"] = .int(Int64(signal)) }
        return AuditEvent(type: .workerExit, tenant: tenant, plugin: plugin, worker: pid, data: data)
    }

    /// `worker.restart`: a replacement worker will be started after `backoffMs`.
    public static func workerRestart(tenant: String? = nil, plugin: String, attempt: Int,
                                     backoffMs: Int64) -> AuditEvent {
        AuditEvent(type: .workerRestart, tenant: tenant, plugin: plugin,
                   data: ["attempt": .int(Int64(attempt)), "backoff_ms": .int(backoffMs)])
    }

    /// `plugin.paused`: the plugin's workers `pids` were stopped (SIGSTOP); its calls are refused.
    public static func pluginPaused(tenant: String? = nil, plugin: String, pids: [Int64]) -> AuditEvent {
        AuditEvent(type: .pluginPaused, tenant: tenant, plugin: plugin, data: ["pids": .array(pids.map { .int($0) })])
    }

    /// `plugin.resumed`: the plugin's stopped workers `pids` were continued (SIGCONT).
    public static func pluginResumed(tenant: String? = nil, plugin: String, pids: [Int64]) -> AuditEvent {
        AuditEvent(type: .pluginResumed, tenant: tenant, plugin: plugin, data: ["pids": .array(pids.map { .int($0) })])
    }

    /// `restart.exhausted`: `restarts` restarts within `periodMs`; the plugin stays down.
    public static func restartExhausted(tenant: String? = nil, plugin: String, restarts: Int,
                                        periodMs: Int64) -> AuditEvent {
        AuditEvent(type: .restartExhausted, tenant: tenant, plugin: plugin,
                   data: ["restarts": .int(Int64(restarts)), "period_ms": .int(periodMs)])
    }

    /// `fs.open`: a WASI program opened `path` (guest path, first 256 bytes) through the file broker.
    public static func fsOpen(tenant: String? = nil, plugin: String, pid: Int32?, path: String, read: Bool,
                              write: Bool) -> AuditEvent {
        AuditEvent(type: .fsOpen, tenant: tenant, plugin: plugin, worker: pid,
                   data: ["path": .string(path), "read": .bool(read), "write": .bool(write)])
    }

    /// `fs.denied`: the file broker refused a WASI call on its own authority (an escape, a
    /// read-only preopen, a malformed path, a limit); `errno` is the WASI errno name it answered.
    public static func fsDenied(tenant: String? = nil, plugin: String, pid: Int32?, function: String, path: String,
                                target: String? = nil, errno: String) -> AuditEvent {
        var data: [String: AuditValue] = ["function": .string(function), "path": .string(path), "errno": .string(errno)]
        if let target { data["target"] = .string(target) }
        return AuditEvent(type: .fsDenied, tenant: tenant, plugin: plugin, worker: pid, data: data)
    }

    /// `hostcall`: one host function call (subject to `HostCallSampling`).
    /// `request.refused`: an API request got a 4xx/5xx answer; `tenant` is the authenticated one,
    /// nil (the log's default) when the token was missing or wrong. `path` is cut to 256 bytes.
    public static func requestRefused(tenant: String? = nil, plugin: String? = nil, method: String, path: String,
                                      status: Int, code: String) -> AuditEvent {
        AuditEvent(type: .requestRefused, tenant: tenant, plugin: plugin, data: [
            "method": .string(method), "path": .string(String(decoding: path.utf8.prefix(256), as: UTF8.self)),
            "status": .int(Int64(status)), "code": .string(code),
        ])
    }

    public static func hostcall(tenant: String? = nil, plugin: String, pid: Int32?, function: String,
                                status: HostCallStatus, bytes: Int) -> AuditEvent {
        AuditEvent(type: .hostcall, tenant: tenant, plugin: plugin, worker: pid, data: [
            "function": .string(function), "status": .string(status.rawValue), "bytes": .int(Int64(bytes)),
        ])
    }

    /// `audit.error`: an audit operation failed with `errno` (recorded once the log can write again).
    public static func auditError(tenant: String? = nil, operation: String, errno: Int32) -> AuditEvent {
        AuditEvent(type: .auditError, tenant: tenant,
                   data: ["operation": .string(operation), "errno": .int(Int64(errno))])
    }

    /// `audit.recovered`: on open, `tornBytes` of an incomplete tail were moved to `movedTo`.
    static func auditRecovered(tornBytes: Int, movedTo: String) -> AuditEvent {
        AuditEvent(type: .auditRecovered, data: ["torn_bytes": .int(Int64(tornBytes)), "moved_to": .string(movedTo)])
    }

    /// `log.rotate`: last record of a file; the chain continues in `nextFile`.
    static func logRotate(nextFile: String) -> AuditEvent {
        AuditEvent(type: .logRotate, data: ["next_file": .string(nextFile)])
    }

    /// `log.close`: last record written at clean shutdown.
    static func logClose() -> AuditEvent {
        AuditEvent(type: .logClose)
    }
}
