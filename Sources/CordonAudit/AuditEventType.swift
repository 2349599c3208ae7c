/// Every kind of record Cordon writes; the raw value is the record's `type` field.
public enum AuditEventType: String, CaseIterable, Sendable, Hashable {
    case supervisorStart = "supervisor.start"
    case supervisorStop = "supervisor.stop"
    case pluginLoad = "plugin.load"
    case pluginUnload = "plugin.unload"
    /// `PluginHandle.pause()` stopped the plugin's workers (SIGSTOP); calls are refused.
    case pluginPaused = "plugin.paused"
    /// `PluginHandle.resume()` continued them (SIGCONT).
    case pluginResumed = "plugin.resumed"
    /// The plugin's `cordon_cleanup` failed in a worker told to stop (the worker's own account).
    case pluginCleanupFailed = "plugin.cleanup_failed"
    case workerSpawn = "worker.spawn"
    case capabilityDenied = "capability.denied"
    case limitBreach = "limit.breach"
    case seccompViolation = "seccomp.violation"
    case protocolViolation = "protocol.violation"
    case workerKill = "worker.kill"
    case workerExit = "worker.exit"
    case workerRestart = "worker.restart"
    case restartExhausted = "restart.exhausted"
    case hostcall = "hostcall"
    case fsOpen = "fs.open"
    case fsDenied = "fs.denied"
    /// A daemon (`cordon serve`) refused an API request: who, what, and the answer it got.
    case requestRefused = "request.refused"
    case auditError = "audit.error"
    case auditRecovered = "audit.recovered"
    case logRotate = "log.rotate"
    case logClose = "log.close"

    /// Types only the log itself writes; `AuditLog.append` refuses them from callers because the
    /// verifier gives them meaning (file boundary, clean-shutdown anchor, repair marker).
    public var isReservedForLog: Bool {
        switch self {
        case .logRotate, .logClose, .auditRecovered: return true
        default: return false
        }
    }

    /// The fields of this type's `data` object. `data` may hold no other keys.
    public var fields: [AuditField] { AuditEventType.fieldTable[self]! }

    /// Built once: `append` validates every event against it.
    private static let fieldTable: [AuditEventType: [AuditField]] =
        Dictionary(uniqueKeysWithValues: allCases.map { ($0, $0.makeFields()) })

    /// Records about a loaded plugin also name it as its users know it: the manifest's name and
    /// version beside the load id in `plugin` (`plugin.load` carries them as its own fields).
    private static let pluginNameFields: [AuditField] = [.init("plugin_name", .string, required: false),
                                                         .init("plugin_version", .string, required: false)]

    private func makeFields() -> [AuditField] {
        switch self {
        case .pluginUnload, .pluginPaused, .pluginResumed, .pluginCleanupFailed, .workerSpawn, .capabilityDenied, .limitBreach, .seccompViolation, .protocolViolation,
             .workerKill, .workerExit, .workerRestart, .restartExhausted, .hostcall:
            return pluginFields + Self.pluginNameFields
        default:
            return pluginFields
        }
    }

    private var pluginFields: [AuditField] {
        switch self {
        case .supervisorStart:
            return [.init("version", .string), .init("pid", .int)]
        case .supervisorStop, .pluginUnload, .protocolViolation, .pluginCleanupFailed:
            return [.init("reason", .string)]
        case .pluginLoad:
            return [.init("manifest_name", .string), .init("manifest_version", .string),
                    .init("module_sha256", .sha256), .init("policy_name", .string),
                    .init("policy_sha256", .sha256), .init("capabilities", .stringArray),
                    .init("limits", .stringArray, required: false),
                    .init("seccomp_skipped", .stringArray, required: false)]
        case .workerSpawn:
            return [.init("uid", .int), .init("layers_requested", .stringArray),
                    .init("layers_achieved", .stringArray), .init("seccomp_mode", .string),
                    .init("cgroup", .string, required: false)]
        case .capabilityDenied:
            return [.init("function", .string), .init("capability", .string)]
        case .limitBreach:
            return [.init("limit", .string), .init("value", .int), .init("measured", .int),
                    .init("export", .string, required: false)]
        case .seccompViolation:
            return [.init("syscall", .string), .init("nr", .int), .init("arch", .string),
                    .init("args", .intArray),
                    .init("reported_by", .oneOf(SeccompReporter.allCases.map(\.rawValue)))]
        case .workerKill:
            return [.init("signal", .int), .init("reason", .string)]
        case .workerExit:
            return [.init("classification", .string), .init("status", .int, required: false),
                    .init("signal", .int, required: false)]
        case .workerRestart:
            return [.init("attempt", .int), .init("backoff_ms", .int)]
        case .pluginPaused, .pluginResumed:
            return [.init("pids", .intArray)]
        case .restartExhausted:
            return [.init("restarts", .int), .init("period_ms", .int)]
        case .hostcall:
            return [.init("function", .string),
                    .init("status", .oneOf(HostCallStatus.allCases.map(\.rawValue))),
                    .init("bytes", .int)]
        case .fsOpen:
            return [.init("path", .string), .init("read", .bool), .init("write", .bool)]
        case .fsDenied:
            return [.init("function", .string), .init("path", .string), .init("target", .string, required: false),
                    .init("errno", .string)]
        case .requestRefused:
            return [.init("method", .string), .init("path", .string), .init("status", .int), .init("code", .string)]
        case .auditError:
            return [.init("operation", .string), .init("errno", .int)]
        case .auditRecovered:
            return [.init("torn_bytes", .int), .init("moved_to", .string)]
        case .logRotate:
            return [.init("next_file", .string)]
        case .logClose:
            return []
        }
    }

    /// Checks `data` against `fields`; returns the name of the first offending field
    /// (missing, wrong type, or not allowed), or nil when it conforms.
    public func firstSchemaViolation(in data: [String: AuditValue]) -> String? {
        let fields = self.fields
        for f in fields {
            guard let v = data[f.name] else {
                if f.required { return f.name }
                continue
            }
            if !f.kind.accepts(v) { return f.name }
        }
        if data.count > fields.count || data.keys.contains(where: { k in !fields.contains { $0.name == k } }) {
            let allowed = Set(fields.map(\.name))
            return data.keys.sorted().first { !allowed.contains($0) }
        }
        return nil
    }
}

/// True for exactly 64 lowercase hexadecimal digits.
func isSHA256Hex(_ s: String) -> Bool {
    var n = 0
    for c in s.utf8 {
        guard (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f"))
        else { return false }
        n += 1
    }
    return n == 64
}
