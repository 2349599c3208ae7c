import Cordon
import CordonAudit
import Foundation
import Synchronization
import WAT

/// Shared helpers for supervisor tests: WAT plugins, a supervisor with the built worker.
enum Fixtures {
    static func wasm(_ wat: String) throws -> [UInt8] { try wat2wasm(wat) }

    /// How long a test waits for what must happen (a load, the other party of a rendezvous, a
    /// condition) before declaring a hang: generous, so that a whole-machine stall of several seconds
    /// cannot pass for one. A limit a test measures (a wall-time kill, a backoff, a rate) is never
    /// this; tests about the load timeout set their own.
    static let patience: Duration = .seconds(60)

    static func supervisor(audit: AuditLogHandle? = nil, warmPool: Int = 0,
                           idleRelease: Duration? = SupervisorConfiguration().workerIdleRelease) throws -> Supervisor {
        var configuration = SupervisorConfiguration()
        configuration.auditLog = audit?.log
        configuration.warmPoolSize = warmPool
        configuration.workerIdleRelease = idleRelease
        configuration.loadTimeout = Fixtures.patience
        configuration.passWorkerStderr = ProcessInfo.processInfo.environment["CORDON_WORKER_STDERR"] != nil
        return try Supervisor(configuration: configuration)
    }

    /// Runs blocking work on a thread of its own and suspends until it is done: a test that blocks
    /// holds one of the cooperative pool's two threads, which never grows (see `ExamplesSupport.run`).
    static func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: work()) }.start()
        }
    }

    static let add = """
    (module
      (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
    """

    /// A policy with small, test-friendly limits. The wall time is far above anything a test waits
    /// for, so that on a loaded machine only the limit a test aims at is hit (a debug worker spends
    /// 0.3 s on 2,000,000 fuel alone, and seconds when 50 tests share two cores).
    static func policy(fuel: UInt64 = 5_000_000, wallMs: UInt64 = 60_000, memoryPages: UInt32 = 32) -> SandboxPolicy {
        var policy = SandboxPolicy.builtinDefault
        policy.wasm.maxFuelPerCall = fuel
        policy.wasm.maxMemoryPages = memoryPages
        policy.limits.maxWallTimeMillisecondsPerCall = wallMs
        policy.limits.maxHostCallBytes = 16 * 1024
        return policy
    }
}

/// Frees what a test's subject may hang on (`unblock`) after `Fixtures.patience`, so that a hang
/// fails the test instead of stalling the whole run; `fired` says whether it had to.
final class Watchdog: Sendable {
    private let firedFlag = Mutex(false)
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(unblock: @escaping @Sendable () -> Void) {
        let started = Task.detached { [self] in
            guard (try? await Task.sleep(for: Fixtures.patience)) != nil else { return }
            firedFlag.withLock { $0 = true }
            unblock()
        }
        task.withLock { $0 = started }
    }

    var fired: Bool { firedFlag.withLock { $0 } }

    func cancel() { task.withLock { $0?.cancel() } }
}

/// An audit log in a fresh temporary directory.
struct AuditLogHandle {
    let directory: String
    let path: String
    let log: CordonAudit.AuditLog

    /// A fresh audit log in its own temporary directory; `remove()` deletes both.
    static func temporary(_ label: String) throws -> AuditLogHandle {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cordon-\(label)-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/audit.log"
        return AuditLogHandle(directory: directory, path: path, log: try AuditLog(configuration: AuditLogConfiguration(path: path)))
    }

    /// Closes the log and returns everything it holds.
    func closeAndRead() throws -> String {
        try log.close()
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

/// A host whose custom `rendezvous` function returns only once `parties` callers are inside it at
/// the same time (or throws `hostError` after `patience`). The test itself can be a party
/// (`arrive()`); the host records the worker pid of each guest arrival.
final class RendezvousHost: HostFunctions {
    private let parties: Int
    private let patience: Duration
    private let state = Mutex<(count: Int, workers: [Int32])>((0, []))
    let execution: HostExecution

    init(parties: Int, patience: Duration, execution: HostExecution = .cooperativePool) {
        self.parties = parties
        self.patience = patience
        self.execution = execution
    }

    /// The worker pid of each guest arrival, in order.
    var arrivals: [Int32] { state.withLock { $0.workers } }
    var customFunctionNames: [String] { ["rendezvous"] }

    /// The caller arrives as one party, without waiting.
    func arrive() { state.withLock { $0.count += 1 } }

    func custom(_ context: PluginContext, function: String, input: [UInt8]) async throws -> [UInt8] {
        state.withLock { $0.count += 1; $0.workers.append(context.workerPID) }
        let clock = ContinuousClock()
        let deadline = clock.now + patience
        while state.withLock({ $0.count }) < parties {
            guard clock.now < deadline else { throw HostFunctionError.hostError }
            try await Task.sleep(for: .milliseconds(5))
        }
        return []
    }
}
