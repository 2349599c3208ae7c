import Foundation
import Synchronization

/// Severity of a guest's `host_log` record.
public enum LogLevel: Int, Sendable, Hashable, CustomStringConvertible {
    case trace = 0, debug, info, warn, error
    public var description: String { ["trace", "debug", "info", "warn", "error"][rawValue] }
}

/// Identifies the plugin on whose behalf a host function runs.
public struct PluginContext: Sendable, Hashable {
    public var pluginID: String
    public var manifest: PluginManifest
    /// The worker's pid in the supervisor's PID namespace.
    public var workerPID: Int32
    /// What the application granted this plugin (a subset of `manifest.capabilities`): a host
    /// function that serves several capabilities can tell which this caller holds. The supervisor
    /// has already refused every call whose own capability is missing.
    public var grantedCapabilities: Set<PluginCapability> = []
}

/// An error a host function implementation throws to return a specific ABI code to the guest.
public enum HostFunctionError: Error, Sendable, Hashable {
    case notFound, permissionDenied, invalidArgument, rateLimited, tooLarge, hostError
    var code: ABIErrorCode {
        switch self {
        case .notFound: .notFound
        case .permissionDenied: .permissionDenied
        case .invalidArgument: .invalidArgument
        case .rateLimited: .rateLimited
        case .tooLarge: .tooLarge
        case .hostError: .hostError
        }
    }
}

/// Where the supervisor runs an application's host functions.
public enum HostExecution: Sendable, Hashable {
    /// Swift's cooperative pool (the default), for functions that return at once or suspend: a slow
    /// one delays only the plugin that called it. The pool has one thread per core and never grows,
    /// so a function that *blocks* holds a thread of it, and as many blocked calls as cores stall
    /// every plugin's host calls (and the application's other tasks): use `.threads` for those.
    /// Costs two thread hand-offs per host call (reactor → pool → reactor).
    case cooperativePool
    /// The supervisor's reactor thread, the one that serves every worker: saves those two hand-offs,
    /// but any time a host function spends without suspending stalls all plugins. Only for hosts whose
    /// functions return at once or suspend (never block, never compute at length).
    case reactor
    /// A `HostThreadPool` the application owns, for functions that block: each blocked call holds
    /// one of its threads and nothing else. Same two hand-offs as the cooperative pool.
    case threads(HostThreadPool)
}

/// What the application provides to plugins. Every method runs in the supervisor process, after the
/// capability check; a thrown `HostFunctionError` becomes that ABI code, any other error `host_error`.
/// Default implementations give a usable in-memory host (see `InMemoryHost`).
public protocol HostFunctions: Sendable {
    func log(_ context: PluginContext, level: LogLevel, message: String) async
    func getConfig(_ context: PluginContext, key: String) async throws -> String?
    func setConfig(_ context: PluginContext, key: String, value: String) async throws
    func sendMessage(_ context: PluginContext, to target: String, payload: [UInt8]) async throws
    func receiveMessage(_ context: PluginContext) async throws -> [UInt8]?
    func callTool(_ context: PluginContext, name: String, arguments: [UInt8]) async throws -> [UInt8]
    func storageGet(_ context: PluginContext, key: String) async throws -> [UInt8]?
    func storageSet(_ context: PluginContext, key: String, value: [UInt8]) async throws
    func storageDelete(_ context: PluginContext, key: String) async throws -> Bool
    func nowMilliseconds(_ context: PluginContext) async -> Int64
    func randomBytes(_ context: PluginContext, count: Int) async -> [UInt8]
    func sleep(_ context: PluginContext, milliseconds: Int64) async
    /// Application-defined host functions, by import name: bytes in, bytes out.
    func custom(_ context: PluginContext, function: String, input: [UInt8]) async throws -> [UInt8]
    /// Names of the custom functions this host serves (the guest may import them from `env`).
    var customFunctionNames: [String] { get }
    /// Where these functions run (default `.cooperativePool`).
    var execution: HostExecution { get }
}

extension HostFunctions {
    public func log(_ context: PluginContext, level: LogLevel, message: String) async {}
    public func getConfig(_ context: PluginContext, key: String) async throws -> String? { context.manifest.configuration[key] }
    public func setConfig(_ context: PluginContext, key: String, value: String) async throws { throw HostFunctionError.notFound }
    public func sendMessage(_ context: PluginContext, to target: String, payload: [UInt8]) async throws { throw HostFunctionError.notFound }
    public func receiveMessage(_ context: PluginContext) async throws -> [UInt8]? { nil }
    public func callTool(_ context: PluginContext, name: String, arguments: [UInt8]) async throws -> [UInt8] { throw HostFunctionError.notFound }
    public func storageGet(_ context: PluginContext, key: String) async throws -> [UInt8]? { nil }
    public func storageSet(_ context: PluginContext, key: String, value: [UInt8]) async throws { throw HostFunctionError.hostError }
    public func storageDelete(_ context: PluginContext, key: String) async throws -> Bool { false }
    public func nowMilliseconds(_ context: PluginContext) async -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
    public func randomBytes(_ context: PluginContext, count: Int) async -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
    public func sleep(_ context: PluginContext, milliseconds: Int64) async {
        try? await Task.sleep(for: .milliseconds(max(0, milliseconds)))
    }
    public func custom(_ context: PluginContext, function: String, input: [UInt8]) async throws -> [UInt8] { throw HostFunctionError.notFound }
    public var customFunctionNames: [String] { [] }
    public var execution: HostExecution { .cooperativePool }
}

/// A ready host: config from the manifest (overridable), per-plugin in-memory storage, a message
/// outbox and inbox, tools registered as closures, and log records collected for inspection.
public final class InMemoryHost: HostFunctions {
    /// A tool the guest can call with `host_call_tool`.
    public typealias Tool = @Sendable (_ arguments: [UInt8]) async throws -> [UInt8]

    private struct State {
        var config: [String: [String: String]] = [:]
        var storage: [String: [String: [UInt8]]] = [:]
        var outbox: [(from: String, to: String, payload: [UInt8])] = []
        var inbox: [String: [[UInt8]]] = [:]
        var logs: [(plugin: String, level: LogLevel, message: String)] = []
    }
    private let state = Mutex(State())
    private let tools: [String: Tool]
    private let echoLogs: Bool

    /// Where this host's functions run; `.reactor` only if every tool returns at once or suspends,
    /// `.threads` if a tool blocks.
    public let execution: HostExecution

    public init(tools: [String: Tool] = [:], echoLogs: Bool = false, execution: HostExecution = .cooperativePool) {
        self.tools = tools
        self.echoLogs = echoLogs
        self.execution = execution
    }

    /// Log records received so far, oldest first.
    public var logs: [(plugin: String, level: LogLevel, message: String)] { state.withLock { $0.logs } }
    /// Messages plugins sent, oldest first.
    public var outbox: [(from: String, to: String, payload: [UInt8])] { state.withLock { $0.outbox } }
    /// Queues a message for a plugin's `host_receive_message`.
    public func deliver(to plugin: String, _ payload: [UInt8]) { state.withLock { $0.inbox[plugin, default: []].append(payload) } }

    public func log(_ context: PluginContext, level: LogLevel, message: String) async {
        state.withLock { $0.logs.append((context.manifest.name, level, message)) }
        if echoLogs { FileHandle.standardError.write(Data("[\(context.manifest.name)] \(level): \(message)\n".utf8)) }
    }
    public func getConfig(_ context: PluginContext, key: String) async throws -> String? {
        state.withLock { $0.config[context.pluginID]?[key] } ?? context.manifest.configuration[key]
    }
    public func setConfig(_ context: PluginContext, key: String, value: String) async throws {
        state.withLock { $0.config[context.pluginID, default: [:]][key] = value }
    }
    public func sendMessage(_ context: PluginContext, to target: String, payload: [UInt8]) async throws {
        state.withLock { $0.outbox.append((context.manifest.name, target, payload)) }
    }
    public func receiveMessage(_ context: PluginContext) async throws -> [UInt8]? {
        state.withLock { s -> [UInt8]? in
            guard var queue = s.inbox[context.manifest.name], !queue.isEmpty else { return nil }
            let first = queue.removeFirst()
            s.inbox[context.manifest.name] = queue
            return first
        }
    }
    public func callTool(_ context: PluginContext, name: String, arguments: [UInt8]) async throws -> [UInt8] {
        guard let tool = tools[name] else { throw HostFunctionError.notFound }
        return try await tool(arguments)
    }
    public func storageGet(_ context: PluginContext, key: String) async throws -> [UInt8]? {
        state.withLock { $0.storage[context.manifest.name]?[key] }
    }
    public func storageSet(_ context: PluginContext, key: String, value: [UInt8]) async throws {
        state.withLock { $0.storage[context.manifest.name, default: [:]][key] = value }
    }
    public func storageDelete(_ context: PluginContext, key: String) async throws -> Bool {
        state.withLock { $0.storage[context.manifest.name]?.removeValue(forKey: key) != nil }
    }
}
