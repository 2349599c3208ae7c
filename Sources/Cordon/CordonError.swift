import CordonChannel
import Glibc

/// A limit the supervisor enforces, named in errors, events and audit records.
public enum LimitKind: String, Sendable, Hashable {
    case fuel, wallTime = "wall_time", cpuTime = "cpu_time", memory, table, hostCallRate = "host_call_rate",
         hostCallsPerCall = "host_calls_per_call", hostCallBytes = "host_call_bytes", messageBytes = "message_bytes",
         logRate = "log_rate", reentryDepth = "reentry_depth"
}

/// Every failure the Cordon API reports, each with a message a person can act on.
public enum CordonError: Error, Sendable, Hashable, CustomStringConvertible {
    case fileNotFound(path: String)
    /// The file at `path` exists but could not be read (`errno` says why: EACCES, EISDIR, …).
    case unreadableFile(path: String, errno: Int32)
    /// A `SupervisorConfiguration` field holds a value the supervisor cannot use.
    case invalidConfiguration(field: String, reason: String)
    case invalidManifest(file: String, path: String, reason: String)
    case invalidPolicy(String)
    /// The module failed to parse, validate, link or instantiate inside the worker.
    case invalidModule(stage: String, message: String)
    case noSuchExport(String)
    case invalidArguments(export: String, reason: String)
    /// The guest trapped; the worker is still healthy.
    case trapped(export: String, kind: TrapKind, message: String)
    /// A limit was hit: which, its configured value, what was measured.
    case limitExceeded(limit: LimitKind, value: String, measured: String, export: String?)
    /// The worker attempted a syscall the filter forbids and was killed.
    case sandboxViolation(syscall: String, number: Int32, reportedBy: String)
    case spawnFailed(step: String, errno: Int32)
    case confinementFailed(detail: String)
    case protocolViolation(String)
    /// The worker died (crash, external kill) while the call was in flight or queued.
    case workerDied(String)
    /// The plugin is restarting, backing off, failed, stopped or unloaded.
    case unavailable(plugin: String, state: PluginState)
    case audit(String)
    /// A plugin with this manifest name is already loaded in this supervisor (under `id`); replace
    /// it with `PluginHandle.reload`, or unload it first.
    case alreadyLoaded(name: String, id: String)
    /// The module's `cordon_init` export returned a non-zero status; the load failed.
    case initFailed(plugin: String, status: Int32)
    /// The export's signature has a type that cannot cross the worker channel (`v128`, `funcref`,
    /// `externref`): only i32, i64, f32 and f64 can.
    case unsupportedSignature(export: String, type: String)
    /// `call(_:json:as:)` could not encode the arguments as JSON.
    case encodingFailed(export: String, reason: String)
    /// `call(_:json:as:)` could not decode the export's output as the expected type.
    case decodingFailed(export: String, reason: String)
    case shuttingDown
    case timedOut(String)

    public var description: String {
        switch self {
        case .fileNotFound(let path): "file not found: \(path)"
        case .unreadableFile(let path, let errno): "cannot read \(path): \(String(cString: strerror(errno))) (errno \(errno))"
        case .invalidConfiguration(let field, let reason): "invalid supervisor configuration: \(field): \(reason)"
        case .invalidManifest(let file, let path, let reason): "\(file): \(path): \(reason)"
        case .invalidPolicy(let text): "invalid policy: \(text)"
        case .invalidModule(let stage, let message): "invalid module (\(stage)): \(message)"
        case .noSuchExport(let name): "the plugin has no exported function '\(name)'"
        case .invalidArguments(let export, let reason): "bad arguments for '\(export)': \(reason)"
        case .trapped(let export, let kind, let message): "export '\(export)' trapped (\(kind)): \(message)"
        case .limitExceeded(let limit, let value, let measured, let export):
            "\(limit.rawValue.replacingOccurrences(of: "_", with: " ")) limit \(value) exceeded (measured \(measured))"
                + (export.map { " in export '\($0)'" } ?? "")
        case .sandboxViolation(let syscall, let number, let by):
            "sandbox violation: syscall \(syscall) (\(number)) denied, worker killed (reported by \(by))"
        case .spawnFailed(let step, let errno): "worker spawn failed at \(step): \(Errno.describe(errno))"
        case .confinementFailed(let detail): "worker confinement failed: \(detail)"
        case .protocolViolation(let reason): "protocol violation by worker (killed): \(reason)"
        case .workerDied(let reason): "worker died: \(reason)"
        case .unavailable(let plugin, let state): "plugin '\(plugin)' is \(state) and cannot take calls"
        case .audit(let reason): "audit log unavailable: \(reason)"
        case .alreadyLoaded(let name, let id):
            "a plugin named '\(name)' is already loaded (id \(id)); reload or unload it to replace it"
        case .initFailed(let plugin, let status): "plugin '\(plugin)': cordon_init returned \(status) (non-zero fails the load)"
        case .unsupportedSignature(let export, let type):
            "export '\(export)' uses \(type), which cannot cross the worker channel (only i32, i64, f32 and f64 can)"
        case .encodingFailed(let export, let reason): "cannot encode the JSON input of '\(export)': \(reason)"
        case .decodingFailed(let export, let reason): "cannot decode the JSON output of '\(export)': \(reason)"
        case .shuttingDown: "the supervisor is shutting down"
        case .timedOut(let what): "timed out: \(what)"
        }
    }
}

/// errno names for messages.
enum Errno {
    static func describe(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return "\(String(cString: text)) (errno \(code))"
    }
}

#if canImport(Glibc)
import Glibc
#endif
