import Cordon
import CordonAudit
import CordonPolicy
import Foundation
import Testing

/// The warm pool holds a worker that has no module yet to the cold path's rules, on the reactor every
/// plugin shares. The pooled workers here are CordonCorruptWorkers with `--pooled=MODE`, which only
/// workers under a notify policy obey; an honest plugin runs beside them under Docker's ERRNO-default
/// profile (no listener), so its calls prove the reactor keeps serving while the pool is attacked.
@Suite struct PooledWorkerTests {
    static func supervisor(_ mode: String, audit: AuditLog) throws -> Supervisor {
        var configuration = SupervisorConfiguration(auditLog: audit)
        let worker: String = try #require(SupervisorDeathTests.binary("CordonCorruptWorker"))
        configuration.workerExecutable = worker
        configuration.workerArguments = ["--pooled=\(mode)"]
        // `prewarm` waits up to the load timeout for a pooled worker that never says hello (`silent`),
        // so it is not `Fixtures.patience`; 20 s still keeps the honest load clear of a machine stall.
        configuration.loadTimeout = .seconds(20)
        return try Supervisor(configuration: configuration)
    }

    static func honest(_ supervisor: Supervisor) async throws -> PluginHandle {
        let policy = try SandboxPolicy.load(path: ExamplesSupport.root + "/policies/docker-default-compatible.json")
        #expect(!policy.seccomp.usesNotify)
        return try await HostileWorkerTests.load(supervisor, mode: "honest", policy: policy)
    }

    /// The `worker.kill` records of pooled workers (plugin "pool"), as their reasons.
    static func poolKills(_ text: String) -> [String] {
        text.split(separator: "\n").compactMap { line -> String? in
            guard line.contains(#""type":"worker.kill""#), line.contains(#""plugin":"pool""#),
                  let data = String(line).data(using: .utf8),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let fields = object["data"] as? [String: Any] else { return nil }
            return fields["reason"] as? String
        }
    }

    /// A pooled worker that streams log lines or other frames instead of its hello is metered per
    /// reactor turn like any worker and stopped at the first frame the pre-hello phase does not allow
    /// (a few short log lines are allowed, to explain a confinement failure). Garbage instead of a hello
    /// is a protocol violation; a worker that says nothing costs nothing. Meanwhile another plugin's
    /// calls keep answering.
    @Test(arguments: [("log-stream", "unexpected log while pooled"), ("frame-stream", "unexpected heartbeat while pooled"),
                      ("garbage", "protocol violation"), ("silent", "")])
    func aPooledWorkerMisbehavingBeforeItsHelloIsStoppedAndTheReactorServesOthers(mode: String, reason: String) async throws {
        let audit = try AuditLogHandle.temporary("pooled-\(mode)")
        defer { audit.remove() }
        let supervisor = try Self.supervisor(mode, audit: audit.log)
        let honest = try await Self.honest(supervisor)
        #expect(try await honest.call("run") == [.i32(42)])
        // Returns when the pooled worker is ready, or dead, or after the load timeout (silent).
        await supervisor.prewarm(policy: Fixtures.policy(), count: 1)
        for _ in 0..<10 { #expect(try await honest.call("run") == [.i32(42)]) }
        if !reason.isEmpty {
            try await LimitAndRestartTests.waitUntil { await supervisor.stats().pooledWorkers == 0 }
        }
        #expect(try await honest.call("run") == [.i32(42)])
        await supervisor.shutdown()
        let kills = Self.poolKills(try audit.closeAndRead())
        if reason.isEmpty {
            // Silent until the shutdown drained the pool.
            #expect(kills.count == 1 && kills.allSatisfy { !$0.contains("protocol violation") }, "\(kills)")
        } else {
            #expect(kills.first?.contains(reason) == true, "\(kills)")
        }
    }

    /// A pooled worker that attempts a forbidden syscall while it waits for a module is heard on its
    /// seccomp listener (received only on readiness), refused and killed, and never adopted.
    @Test func aPooledWorkerViolatingWhileItWaitsIsKilled() async throws {
        let audit = try AuditLogHandle.temporary("pooled-violate")
        defer { audit.remove() }
        let supervisor = try Self.supervisor("violate", audit: audit.log)
        let honest = try await Self.honest(supervisor)
        await supervisor.prewarm(policy: Fixtures.policy(), count: 1)
        try await LimitAndRestartTests.waitUntil { await supervisor.stats().pooledWorkers == 0 }
        for _ in 0..<10 { #expect(try await honest.call("run") == [.i32(42)]) }
        await supervisor.shutdown()
        let text = try audit.closeAndRead()
        #expect(Self.poolKills(text) == ["seccomp violation while pooled"], "\(text)")
        // The kernel's account is audited too, naming the syscall.
        #expect(text.split(separator: "\n").contains { $0.contains(#""type":"seccomp.violation""#) && $0.contains(#""plugin":"pool""#)
                                                         && $0.contains(#""syscall":"socket""#) }, "\(text)")
    }

    /// The pool applies the cold path's listener rule itself: under a notify policy, a worker whose
    /// hello reports no listener is killed while pooled (the load then fails on its cold worker too).
    @Test func aPooledWorkerWithoutItsListenerIsKilledInThePool() async throws {
        let audit = try AuditLogHandle.temporary("pooled-nolistener")
        defer { audit.remove() }
        var configuration = SupervisorConfiguration(auditLog: audit.log)
        let worker: String = try #require(SupervisorDeathTests.binary("CordonCorruptWorker"))
        configuration.workerExecutable = worker
        configuration.workerArguments = ["--hide-listener"]
        configuration.loadTimeout = Fixtures.patience
        let supervisor = try Supervisor(configuration: configuration)
        await supervisor.prewarm(policy: Fixtures.policy(), count: 1)
        try await LimitAndRestartTests.waitUntil { await supervisor.stats().pooledWorkers == 0 }
        await supervisor.shutdown()
        let kills = Self.poolKills(try audit.closeAndRead())
        #expect(kills == ["protocol violation: no seccomp listener under a notify policy"], "\(kills)")
    }
}
