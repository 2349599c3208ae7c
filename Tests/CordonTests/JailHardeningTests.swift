import Cordon
import CordonPolicy
import Foundation
import Testing

/// The supervisor's side of the jail: uid slots per range, subordinate-id checks, the worker binary.
@Suite struct JailHardeningTests {
    static func policy(_ name: String, uids start: UInt32, count: UInt32) -> SandboxPolicy {
        var p = Fixtures.policy()
        p.name = name
        p.identity.uidRangeStart = start
        p.identity.uidRangeCount = count
        return p
    }

    /// Slots are counted per uid range: a one-slot policy is not exhausted by another policy's
    /// workers, and policies with the same range share its slots (never the same uid twice).
    @Test func uidSlotsAreAllocatedPerRange() async throws {
        let supervisor = try Fixtures.supervisor()
        let module = try Fixtures.wasm(Fixtures.add)
        let first = try await supervisor.load(manifest: PluginManifest(name: "wide"), module: module, policy: Fixtures.policy())
        let single = try await supervisor.load(manifest: PluginManifest(name: "single"), module: module,
                                               policy: Self.policy("single", uids: 400_000, count: 1))
        #expect(try await single.call("add", [.i32(1), .i32(2)]) == [.i32(3)])
        // The same range under another name shares the one slot, which is taken.
        do {
            _ = try await supervisor.load(manifest: PluginManifest(name: "twin"), module: module,
                                          policy: Self.policy("single-twin", uids: 400_000, count: 1))
            Issue.record("a second worker got the only uid of the range")
        } catch {
            guard case CordonError.spawnFailed(let step, _) = error else { Issue.record("\(error)"); return }
            #expect(step.contains("uid range exhausted"), "\(step)")
        }
        if geteuid() == 0 {
            let pid = try #require(await single.workerPIDs().first)
            #expect(try ConfinementTests.status(pid)["Uid"]?.hasPrefix("400000") == true)
        }
        _ = first
        await supervisor.shutdown()
    }

    /// Two policies whose uid ranges overlap without being equal could hand the same uid to two
    /// tenants' workers: the second is refused, and the error names both policies.
    @Test func overlappingUidRangesAreRefused() async throws {
        let supervisor = try Fixtures.supervisor()
        let module = try Fixtures.wasm(Fixtures.add)
        _ = try await supervisor.load(manifest: PluginManifest(name: "a"), module: module, policy: Self.policy("alpha", uids: 500_000, count: 100))
        do {
            _ = try await supervisor.load(manifest: PluginManifest(name: "b"), module: module, policy: Self.policy("beta", uids: 500_050, count: 100))
            Issue.record("an overlapping range was accepted")
        } catch {
            guard case CordonError.invalidPolicy(let text) = error else { Issue.record("\(error)"); return }
            #expect(text.contains("'alpha'") && text.contains("'beta'") && text.contains("500050..<500150"), "\(text)")
        }
        // Adjacent is fine.
        _ = try await supervisor.load(manifest: PluginManifest(name: "c"), module: module, policy: Self.policy("gamma", uids: 500_100, count: 10))
        await supervisor.shutdown()
    }

    /// A root supervisor will not hand out worker uids that /etc/subuid (here a file given in the
    /// configuration) delegates to a user's own containers.
    @Test(.enabled(if: geteuid() == 0, "worker uids matter only to a root supervisor"))
    func subordinateIDsOverlappingWorkerUidsAreRefused() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cordon-subuid-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let subuid = directory + "/subuid"
        // 165536..<231072 covers the default policy's 200000..<201000.
        try "# rootless users\nalice:100000:65536\nbob:165536:65536\n".write(toFile: subuid, atomically: true, encoding: .utf8)
        var configuration = SupervisorConfiguration()
        configuration.subordinateIDFiles = [subuid]
        do {
            _ = try Supervisor(configuration: configuration)
            Issue.record("started with the default range delegated to bob")
        } catch {
            guard case CordonError.invalidConfiguration(let field, let reason) = error else { Issue.record("\(error)"); return }
            #expect(field == "subordinateIDFiles")
            #expect(reason.contains("bob") && reason.contains(subuid + " line 3") && reason.contains("200000..<201000"), "\(reason)")
        }
        // Only alice's range: the default is clear, a policy inside alice's range is not.
        try "alice:100000:65536\n".write(toFile: subuid, atomically: true, encoding: .utf8)
        let supervisor = try Supervisor(configuration: configuration)
        do {
            _ = try await supervisor.load(manifest: PluginManifest(name: "x"), module: try Fixtures.wasm(Fixtures.add),
                                          policy: Self.policy("inside-alice", uids: 150_000, count: 10))
            Issue.record("loaded a policy whose uids are alice's subordinate ids")
        } catch {
            guard case CordonError.invalidPolicy(let text) = error else { Issue.record("\(error)"); return }
            #expect(text.contains("alice") && text.contains("inside-alice"), "\(text)")
        }
        await supervisor.shutdown()
        try "alice:100000\n".write(toFile: subuid, atomically: true, encoding: .utf8)
        #expect(throws: CordonError.self) { _ = try Supervisor(configuration: configuration) }
    }

    static var builtWorker: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        let dir = (exe as NSString).deletingLastPathComponent
        for candidate in [dir + "/cordon-worker", (dir as NSString).deletingLastPathComponent + "/cordon-worker"]
        where FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        return dir + "/cordon-worker"
    }

    /// A root supervisor runs only a worker binary that only root can change, and execs the file it
    /// checked: replacing the path afterwards changes nothing.
    @Test(.enabled(if: geteuid() == 0, "the binary check is a root supervisor's"))
    func rootSupervisorExecsTheCheckedWorkerBinary() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cordon-binary-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let copy = directory + "/cordon-worker"
        try FileManager.default.copyItem(atPath: Self.builtWorker, toPath: copy)
        var configuration = SupervisorConfiguration(workerExecutable: copy)
        configuration.loadTimeout = Fixtures.patience
        for (mode, owner, problem) in [(0o775, 0, "group-writable"), (0o757, 0, "writable by others"), (0o755, 65534, "owned by uid 65534")] {
            #expect(chmod(copy, mode_t(mode)) == 0 && chown(copy, uid_t(owner), 0) == 0)
            do {
                _ = try Supervisor(configuration: configuration)
                Issue.record("started with a worker binary that is \(problem)")
            } catch {
                guard case CordonError.invalidConfiguration(let field, let reason) = error else { Issue.record("\(error)"); continue }
                #expect(field == "workerExecutable" && reason.contains(copy) && reason.contains(problem), "\(reason)")
            }
        }
        #expect(chmod(copy, 0o755) == 0 && chown(copy, 0, 0) == 0)
        let supervisor = try Supervisor(configuration: configuration)
        // Whatever is at the path now is never run: the supervisor execs the file it opened.
        try FileManager.default.removeItem(atPath: copy)
        try "#!/bin/sh\nexit 3\n".write(toFile: copy, atomically: true, encoding: .utf8)
        _ = chmod(copy, 0o755)
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "by-fd"), module: try Fixtures.wasm(Fixtures.add))
        #expect(try await plugin.call("add", [.i32(2), .i32(3)]) == [.i32(5)])
        let pid = try #require(await plugin.workerPIDs().first)
        // The worker does not keep an fd of its own binary (it was close-on-exec).
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        for fd in fds {
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")) ?? ""
            #expect(!target.contains("cordon-worker"), "fd \(fd) -> \(target)")
        }
        await supervisor.shutdown()
    }
}
