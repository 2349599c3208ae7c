@testable import Cordon
import CordonAudit
import Foundation
import Testing

/// `PluginHandle.pause()` / `resume()` with real workers: a paused worker is stopped by the kernel
/// (state `T`, no CPU), its calls are refused, and every lifecycle operation still works on it.
@Suite struct PauseTests {
    /// The scheduler state letter and utime + stime (clock ticks) of a process, from /proc/PID/stat.
    static func stat(_ pid: Int32) -> (state: Character, cpuTicks: UInt64)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let state = fields[0].first, let user = UInt64(fields[11]), let system = UInt64(fields[12])
        else { return nil }
        return (state, user + system)
    }

    static func waitUntilStopped(_ pids: [Int32]) async throws {
        try await LimitAndRestartTests.waitUntil { pids.allSatisfy { stat($0)?.state == "T" } }
    }

    static func auditRecords(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    @Test func aPausedWorkerIsStoppedUsesNoCPUAndRefusesCalls() async throws {
        let audit = try AuditLogHandle.temporary("pause")
        defer { audit.remove() }
        let supervisor = try Fixtures.supervisor(audit: audit)
        let events = supervisor.events
        let watcher = Task { () -> [PluginEvent.Kind] in
            var kinds: [PluginEvent.Kind] = []
            for await event in events { kinds.append(event.kind) }
            return kinds
        }
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "pausable", workers: 2),
                                               module: try Fixtures.wasm(Fixtures.add))
        let pids = await plugin.workerPIDs()
        #expect(pids.count == 2)
        try await plugin.pause()
        #expect(await plugin.state() == .paused)
        #expect(await supervisor.plugins().map(\.state) == [.paused])
        await #expect(throws: CordonError.unavailable(plugin: "pausable", state: .paused)) {
            _ = try await plugin.call("add", [.i32(1), .i32(2)])
        }
        // SIGSTOP takes effect when the kernel next schedules the worker: microseconds, not a pause() round trip.
        try await Self.waitUntilStopped(pids)
        let before = pids.map { Self.stat($0) }
        try await Task.sleep(for: .milliseconds(200))
        let after = pids.map { Self.stat($0) }
        for (pid, (old, new)) in zip(pids, zip(before, after)) {
            #expect(new?.state == "T" && new?.cpuTicks == old?.cpuTicks, "worker \(pid): \(String(describing: old)) → \(String(describing: new))")
        }
        try await plugin.pause()   // pausing a paused plugin is a no-op
        try await plugin.resume()
        #expect(await plugin.state() == .ready)
        #expect(try await plugin.call("add", [.i32(1), .i32(2)]) == [.i32(3)])
        for pid in pids { #expect(Self.stat(pid)?.state != "T") }
        #expect(await plugin.workerPIDs() == pids, "the same workers, continued")
        try await plugin.resume()  // and resuming a running one
        await supervisor.shutdown()

        let kinds = await watcher.value
        #expect(kinds.contains { if case .paused(workers: 2) = $0 { true } else { false } }, "\(kinds)")
        #expect(kinds.contains { if case .resumed(workers: 2) = $0 { true } else { false } }, "\(kinds)")
        let records = Self.auditRecords(try audit.closeAndRead())
        let paused = records.filter { $0["type"] as? String == "plugin.paused" }
        let resumed = records.filter { $0["type"] as? String == "plugin.resumed" }
        #expect(paused.count == 1 && resumed.count == 1)
        for record in paused + resumed {
            let listed = ((record["data"] as? [String: Any])?["pids"] as? [NSNumber])?.map(\.int32Value) ?? []
            #expect(Set(listed) == Set(pids), "\(record)")
            #expect((record["data"] as? [String: Any])?["plugin_name"] as? String == "pausable")
        }
        #expect(AuditVerifier.verify(files: [audit.path], head: audit.log.headPath).isOK)
    }

    /// A call that is running when pause() is asked finishes first; pause returns after it.
    @Test func pauseLetsTheRunningCallFinish() async throws {
        let supervisor = try Fixtures.supervisor()
        let host = RendezvousHost(parties: 2, patience: Fixtures.patience)
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "draining", capabilities: [.custom("rendezvous")]),
                                               module: try Fixtures.wasm(Plugins.rendezvous), policy: Fixtures.policy(), host: host)
        let pid = try #require(await plugin.workerPIDs().first)
        let call = Task { try await plugin.call("meet") }
        try await LimitAndRestartTests.waitUntil { host.arrivals.count == 1 }
        let pause = Task { try await plugin.pause() }
        try await LimitAndRestartTests.waitUntil { await plugin.state() == .paused }
        await #expect(throws: CordonError.unavailable(plugin: "draining", state: .paused)) { _ = try await plugin.call("meet") }
        #expect(Self.stat(pid)?.state != "T", "a worker in a call is not stopped")
        host.arrive()
        #expect(try await call.value == [.i32(0)])
        try await pause.value
        try await Self.waitUntilStopped([pid])
        try await plugin.resume()
        await supervisor.shutdown()
    }

    /// Reload, a worker's death, unload and shutdown all work on a paused plugin; new workers of a
    /// paused plugin stop as soon as they are loaded, and a shutdown continues a stopped worker so it
    /// can exit on its own.
    @Test func pausedPluginsReloadRestartUnloadAndShutDown() async throws {
        let audit = try AuditLogHandle.temporary("pause-lifecycle")
        defer { audit.remove() }
        let supervisor = try Fixtures.supervisor(audit: audit)
        let module = try Fixtures.wasm(Fixtures.add)
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "held"), module: module)
        let first = try #require(await plugin.workerPIDs().first)
        try await plugin.pause()

        try await plugin.reload()
        let second = try #require(await plugin.workerPIDs().first)
        #expect(second != first && !SupervisorDeathTests.alive(first))
        try await Self.waitUntilStopped([second])   // a reloaded worker of a paused plugin is stopped once loaded
        #expect(await plugin.state() == .paused)

        kill(second, SIGKILL)   // reaches a stopped process
        try await LimitAndRestartTests.waitUntil { let p = await plugin.workerPIDs().first; return p != nil && p != second }
        let third = try #require(await plugin.workerPIDs().first)
        try await Self.waitUntilStopped([third])
        #expect(await plugin.state() == .paused)
        try await plugin.resume()
        #expect(try await plugin.call("add", [.i32(2), .i32(2)]) == [.i32(4)])

        try await plugin.pause()
        await plugin.unload()
        #expect(!SupervisorDeathTests.alive(third))
        #expect(await supervisor.plugins().isEmpty)

        let other = try await supervisor.load(manifest: PluginManifest(name: "held"), module: module)
        let fourth = try #require(await other.workerPIDs().first)
        try await other.pause()
        await supervisor.shutdown(gracePeriod: .seconds(20))
        #expect(!SupervisorDeathTests.alive(fourth))
        let exits = Self.auditRecords(try audit.closeAndRead()).filter {
            $0["type"] as? String == "worker.exit" && ($0["worker"] as? NSNumber)?.int32Value == fourth
        }
        let classification = (exits.first?["data"] as? [String: Any])?["classification"] as? String
        #expect(classification == "exited", "a stopped worker is continued and exits on the shutdown request: \(exits)")
    }
}
