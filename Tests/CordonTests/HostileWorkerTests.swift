@testable import Cordon
import CordonAudit
import Foundation
import Testing

/// A worker that is itself compromised (CordonCorruptWorker: confined exactly like cordon-worker,
/// then misbehaving): forbidden syscalls must be named by the kernel's account, garbage on the channel
/// must be a protocol violation, and the supervisor must survive all of it.
@Suite struct HostileWorkerTests {
    static func supervisor(_ arguments: [String] = [], audit: AuditLog? = nil,
                           loadTimeout: Duration = Fixtures.patience) throws -> Supervisor {
        var configuration = SupervisorConfiguration(auditLog: audit)
        let worker: String = try #require(SupervisorDeathTests.binary("CordonCorruptWorker"))
        configuration.workerExecutable = worker
        configuration.workerArguments = arguments
        configuration.loadTimeout = loadTimeout
        return try Supervisor(configuration: configuration)
    }

    /// A regular file for forwarded worker stderr: (path, write fd).
    static func stderrFile() throws -> (String, Int32) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cordon-stderr-\(UUID())").path
        let file = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        try #require(file >= 0)
        return (path, file)
    }

    /// A supervisor of corrupt workers whose stderr is forwarded to `file`.
    static func forwardingStderr(to file: Int32) throws -> Supervisor {
        var configuration = SupervisorConfiguration()
        let worker: String = try #require(SupervisorDeathTests.binary("CordonCorruptWorker"))
        configuration.workerExecutable = worker
        configuration.passWorkerStderr = true
        configuration.workerStderrDestination = file
        configuration.loadTimeout = Fixtures.patience
        return try Supervisor(configuration: configuration)
    }

    static func load(_ supervisor: Supervisor, mode: String, policy: SandboxPolicy = Fixtures.policy()) async throws -> PluginHandle {
        try await supervisor.load(manifest: PluginManifest(name: "corrupt-\(mode)"), module: Array("cordon-corrupt:\(mode)".utf8),
                                  policy: policy, restart: RestartPolicy(mode: .never))
    }

    /// With `passWorkerStderr`, a worker's fd 2 is a pipe the reactor drains into the supervisor's
    /// stderr (here a regular file given as `workerStderrDestination`), prefixed with its pid. The
    /// worker's RLIMIT_FSIZE is 0, so handing it a regular file as its own fd 2 would kill it with
    /// SIGXFSZ on its first write.
    @Test func workerStderrReachesARegularFileThroughAPipe() async throws {
        let (path, file) = try Self.stderrFile()
        defer {
            close(file)
            unlink(path)
        }
        let supervisor = try Self.forwardingStderr(to: file)
        let plugin = try await Self.load(supervisor, mode: "stderr")
        let pid = try #require(await plugin.workerPIDs().first)
        #expect(try await plugin.call("run") == [.i32(42)])
        #expect(try await plugin.call("run") == [.i32(42)])
        #expect(await plugin.workerPIDs().first == pid, "the worker was replaced")
        // Both calls' 16 KiB (and their prefixes) must arrive, so nothing is left in the pipe to be
        // written to `file` after it is closed.
        let written = 2 * 16_415
        try await LimitAndRestartTests.waitUntil {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            return text.utf8.count > written && text.contains("[cordon-worker \(pid)] stderr line from a confined worker")
        }
        await supervisor.shutdown()
    }

    /// abort() (where every Swift runtime trap ends) raises SIGABRT through tgkill, which the filter
    /// refuses: the kernel's notification is still audited as a seccomp violation, but the caller is
    /// told the worker crashed, not that it tried to escape. The worker runs on until the SIGKILL
    /// lands, and what it tries meanwhile (abort() goes on to rt_sigaction) is audited too but does
    /// not rename its death (that race failed this test about once in eight runs before the fix).
    @Test func anAbortingWorkerIsReportedAsACrash() async throws {
        let audit = try AuditLogHandle.temporary("abort")
        defer { audit.remove() }
        let supervisor = try Self.supervisor(audit: audit.log)
        let plugin = try await Self.load(supervisor, mode: "abort")
        do {
            _ = try await plugin.call("run")
            Issue.record("the call returned")
        } catch {
            guard case CordonError.workerDied(let why) = error else { Issue.record("\(error)"); return }
            #expect(why.contains("aborted"), "\(why)")
        }
        await supervisor.shutdown()
        let text = try audit.closeAndRead()
        #expect(text.contains("\"type\":\"seccomp.violation\""), "the kernel's account was not audited")
        #expect(text.contains("tgkill"))
        #expect(text.contains("\"classification\":\"crashed\""))
    }

    /// The escape catalogue, through the real supervisor: each attempt is stopped by the filter and
    /// the supervisor names the syscall from the kernel's seccomp notification.
    @Test(arguments: [
        "socket", "connect,3,0,0", "openat,-100,0,0", "execve", "fork", "clone,17,0,0,0,0", "clone3,0,88", "ptrace,16,1",
        "kill,1,9", "setuid,0", "mount", "unshare,1073741824", "bpf,0,0,0", "perf_event_open,0,0,-1,-1,0",
        "io_uring_setup,1,0", "userfaultfd,0", "keyctl,0,0", "process_vm_readv,1,0,1,0,1,0", "memfd_create,0,0",
        "chdir,0", "setrlimit,7,0", "capset,0,0", "prctl,38,1", "ioctl,0,21522,0", "reboot,0,0,0,0",
        "mmap,0,4096,5,34,-1,0", "mprotect,0,4096,7", "read,0,0,0", "nanosleep,0,0",
    ])
    func forbiddenSyscallIsNamedByTheKernel(attempt: String) async throws {
        let supervisor = try Self.supervisor(["--violate=\(attempt)"])
        let expected = String(attempt.split(separator: ",")[0])
        do {
            _ = try await Self.load(supervisor, mode: "honest")
            Issue.record("\(attempt): loaded")
        } catch {
            guard case CordonError.sandboxViolation(let syscall, _, let reportedBy) = error else {
                Issue.record("\(attempt): \(error)")
                return
            }
            #expect(syscall == expected)
            #expect(reportedBy == "kernel")
        }
        await supervisor.shutdown()
    }

    @Test func violationDuringACallFailsTheCallAndIsAudited() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cordon-hostile-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try AuditLog(configuration: AuditLogConfiguration(path: directory + "/audit.log"))
        let supervisor = try Self.supervisor(audit: log)
        let plugin = try await Self.load(supervisor, mode: "violate")
        do {
            _ = try await plugin.call("run")
            Issue.record("run returned")
        } catch {
            guard case CordonError.sandboxViolation("socket", _, "kernel") = error else { Issue.record("\(error)"); return }
        }
        await supervisor.shutdown()
        try log.close()
        let text = try String(contentsOfFile: directory + "/audit.log", encoding: .utf8)
        let violation = try #require(text.split(separator: "\n").first { $0.contains("\"seccomp.violation\"") })
        #expect(violation.contains("\"syscall\":\"socket\""))
        #expect(violation.contains("\"reported_by\":\"kernel\""))
        #expect(text.contains("\"worker.kill\""))
        #expect(AuditVerifier.verify(files: [directory + "/audit.log"], head: log.headPath).isOK)
    }

    /// Besides garbage: a heartbeat nobody asked for, and a
    /// seccomp report of the worker's own (followed by the SIGSYS reporter's exit 159): only the
    /// kernel names a denied syscall, so the worker's claim is a violation, never `sandboxViolation`.
    @Test(arguments: ["garbage", "badmagic", "oversize", "tail-back", "tail-huge", "tail-misaligned",
                      "wrong-callid", "wrong-kind", "trailing", "wrong-type", "memory-lie", "fuel-lie",
                      "heartbeat", "forge-violation"])
    func channelGarbageIsAProtocolViolation(mode: String) async throws {
        let supervisor = try Self.supervisor()
        // A safety net, not what is measured: a worker left waiting fails this test as a wall-time
        // kill, sooner than the fixture's 60 s, yet no machine stall reaches 30 s.
        let plugin = try await Self.load(supervisor, mode: mode, policy: Fixtures.policy(wallMs: 30_000))
        do {
            _ = try await plugin.call("run")
            Issue.record("\(mode): run returned")
        } catch {
            guard case CordonError.protocolViolation = error else { Issue.record("\(mode): \(error)"); return }
        }
        // The supervisor is unharmed: a healthy worker of another supervisor-side plugin still answers.
        let honest = try await Self.load(supervisor, mode: "honest")
        #expect(try await honest.call("run") == [.i32(42)])
        await supervisor.shutdown()
    }

    /// A worker that closes its end of the channel and lives on: its doorbell rang once, and the
    /// supervisor waits for the wall time without turning its loop for it. Were the doorbell left
    /// readable, epoll would report it on every turn and the reactor would spin until the kill.
    @Test func aWorkerThatClosesItsChannelAndLingersDoesNotSpinTheReactor() async throws {
        let supervisor = try Self.supervisor()
        let plugin = try await Self.load(supervisor, mode: "close-linger", policy: Fixtures.policy(wallMs: 1500))
        let before = supervisor.reactor.turns
        await #expect(throws: CordonError.self) { _ = try await plugin.call("run") }
        let turns = supervisor.reactor.turns - before
        // An idle reactor turns a few times per message and once a second; a spinning one, millions.
        #expect(turns < 10_000, "the reactor turned \(turns) times while one worker lingered")
        await supervisor.shutdown()
    }

    /// A worker that stops answering is ended by the wall time (500 ms); one that dies fails the call
    /// at once, long before its 60 s wall time would; one that floods log frames is stopped by the log
    /// byte budget (docs/protocol.md §8): the typed error says which ended it.
    @Test(arguments: [("silent", "wall"), ("exit", "died"), ("segv", "died"), ("flood", "violation")])
    func misbehavingWorkersFailTheCallFast(mode: String, expected: String) async throws {
        let supervisor = try Self.supervisor()
        let plugin = try await Self.load(supervisor, mode: mode, policy: Fixtures.policy(wallMs: expected == "wall" ? 500 : 60_000))
        do {
            _ = try await plugin.call("run")
            Issue.record("\(mode): run returned")
        } catch {
            switch (expected, error) {
            case ("wall", CordonError.limitExceeded(.wallTime, _, _, _)), ("died", CordonError.workerDied),
                 ("violation", CordonError.protocolViolation):
                break
            default:
                Issue.record("\(mode): \(error)")
            }
        }
        await supervisor.shutdown()
    }

    @Test(arguments: ["load-garbage", "load-silent", "load-exit"])
    func misbehaviourDuringLoadIsATypedLoadFailure(mode: String) async throws {
        // The load timeout is what ends `load-silent`, so this test waits it out: shorter than
        // `Fixtures.patience`, still far above the honest load below plus a 10 s machine stall.
        let supervisor = try Self.supervisor(loadTimeout: .seconds(20))
        await #expect(throws: CordonError.self) { _ = try await Self.load(supervisor, mode: mode) }
        let honest = try await Self.load(supervisor, mode: "honest")
        #expect(try await honest.call("run") == [.i32(42)])
        await supervisor.shutdown()
    }

    /// After its hello a worker runs guest code: its exit status and its words cannot make the
    /// supervisor report a confinement failure; what it said is passed on marked as its own.
    @Test func aWorkerCannotForgeAConfinementFailure() async throws {
        let audit = try AuditLogHandle.temporary("forge")
        defer { audit.remove() }
        let supervisor = try Self.supervisor(audit: audit.log)
        let plugin = try await Self.load(supervisor, mode: "forge-confinement")
        do {
            _ = try await plugin.call("run")
            Issue.record("run returned")
        } catch {
            guard case CordonError.workerDied(let why) = error else { Issue.record("\(error)"); return }
            #expect(why.contains("status 71"), "\(why)")
            #expect(why.contains("worker-reported: confinement failed: forged"), "\(why)")
        }
        await supervisor.shutdown()
        let text = try audit.closeAndRead()
        #expect(!text.contains("confinement_failed"))
        #expect(text.contains("\"classification\":\"exited\""))
    }

    /// `.log` frames are metered in every phase: a worker streaming 200 KiB log frames while no call
    /// runs is stopped, and meanwhile another plugin's calls keep answering.
    @Test func anIdleLogStreamIsStopped() async throws {
        let supervisor = try Self.supervisor()
        let honest = try await Self.load(supervisor, mode: "honest")
        let streamer = try await Self.load(supervisor, mode: "idle-log-stream")
        for _ in 0..<20 { #expect(try await honest.call("run") == [.i32(42)]) }
        try await LimitAndRestartTests.waitUntil { await streamer.state() == .failed }
        #expect(try await honest.call("run") == [.i32(42)])
        await supervisor.shutdown()
    }

    /// The warm pool holds its workers to the cold path's rules: one that reports no seccomp
    /// listener under a notify policy is killed, not handed to a plugin whose denied syscalls would
    /// then fail silently and unaudited.
    @Test func aPooledWorkerWithoutItsListenerIsNeverAdopted() async throws {
        var configuration = SupervisorConfiguration()
        let worker: String = try #require(SupervisorDeathTests.binary("CordonCorruptWorker"))
        configuration.workerExecutable = worker
        configuration.workerArguments = ["--hide-listener"]
        configuration.loadTimeout = Fixtures.patience
        let supervisor = try Supervisor(configuration: configuration)
        await supervisor.prewarm(policy: Fixtures.policy(), count: 1)
        do {
            let plugin = try await Self.load(supervisor, mode: "honest")
            Issue.record("loaded: \(await plugin.workerPIDs())")
        } catch {
            guard case CordonError.protocolViolation(let why) = error else { Issue.record("\(error)"); return }
            #expect(why.contains("no seccomp listener"), "\(why)")
        }
        await supervisor.shutdown()
    }

    /// Forwarded stderr is prefixed per line (a worker cannot pass a line off as another's),
    /// control bytes are escaped (no terminal escapes reach our stderr), a line without its end
    /// still arrives at the worker's exit, and a flood beyond the byte budget is dropped and counted.
    @Test func forwardedStderrIsLinedEscapedAndRateLimited() async throws {
        let (path, file) = try Self.stderrFile()
        defer {
            close(file)
            unlink(path)
        }
        let supervisor = try Self.forwardingStderr(to: file)
        let hostile = try await Self.load(supervisor, mode: "stderr-hostile")
        let hostilePID = try #require(await hostile.workerPIDs().first)
        #expect(try await hostile.call("run") == [.i32(42)])
        let flood = try await Self.load(supervisor, mode: "stderr-flood")
        let floodPID = try #require(await flood.workerPIDs().first)
        #expect(try await flood.call("run") == [.i32(42)])
        await supervisor.shutdown()
        try await LimitAndRestartTests.waitUntil {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            return text.contains("[cordon-worker \(hostilePID)] no end") && text.contains("[cordon-worker \(floodPID)] ") && text.contains("dropped (over the budget)")
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("[cordon-worker \(hostilePID)] first line\n"))
        #expect(text.contains("[cordon-worker \(hostilePID)] second \\x1b[2Jline\n"))
        #expect(!text.utf8.contains(0x1B))
        for line in text.split(separator: "\n") { #expect(line.hasPrefix("[cordon-worker "), "\(line)") }
        #expect(text.utf8.count < 512 * 1024, "the flood was not limited")
    }

    /// A worker's escaped stderr is several times what it wrote, and our stderr here is a pipe whose
    /// reader has stopped with two pages left: the forwarder writes what fits and drops the rest, and
    /// the reactor never blocks in a write (another plugin keeps answering). A watchdog drains the
    /// pipe after `Fixtures.patience`, so that a blocked reactor fails the test instead of hanging it.
    @Test func aStalledStderrReaderNeverBlocksTheReactor() async throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        // 14 of the pipe's 16 pages full: room for 8 KiB, against ~12 KiB of escaped output.
        let page = [UInt8](repeating: UInt8(ascii: "."), count: 4096)
        for _ in 0..<14 { _ = page.withUnsafeBytes { write(ends[1], $0.baseAddress, $0.count) } }
        let supervisor = try Self.forwardingStderr(to: ends[1])
        let bystander = try await Self.load(supervisor, mode: "honest")
        let reader = ends[0]
        let watchdog = Watchdog {
            var sink = [UInt8](repeating: 0, count: 65536)
            _ = sink.withUnsafeMutableBytes { read(reader, $0.baseAddress, $0.count) }
        }
        let escapes = try await Self.load(supervisor, mode: "stderr-escapes")
        #expect(try await escapes.call("run") == [.i32(42)])
        // By the later of these calls the reactor has read the worker's stderr, whatever the order of
        // events in its turns.
        for _ in 0..<5 {
            #expect(try await bystander.call("run") == [.i32(42)])
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(!watchdog.fired, "the reactor blocked writing to a full stderr pipe")
        watchdog.cancel()
        var sink = [UInt8](repeating: 0, count: 65536)
        let n = sink.withUnsafeMutableBytes { read(reader, $0.baseAddress, $0.count) }
        #expect(n > 14 * 4096, "nothing of the worker's stderr was forwarded")
        await supervisor.shutdown()
    }

    /// One host call in flight per worker: a second `hostCall` frame while the first is being served
    /// (both arrive in one turn, so the first, granted and running off the reactor, cannot have been
    /// answered) would let a worker pipeline its whole per-call budget of host calls at once.
    @Test func pipelinedHostCallsAreAProtocolViolation() async throws {
        let supervisor = try Self.supervisor()
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "corrupt-host-pipeline", capabilities: [.timer]),
                                               module: Array("cordon-corrupt:host-pipeline".utf8),
                                               policy: Fixtures.policy(wallMs: 30_000), restart: RestartPolicy(mode: .never))
        do {
            _ = try await plugin.call("run")
            Issue.record("run returned")
        } catch {
            guard case CordonError.protocolViolation(let why) = error else { Issue.record("\(error)"); return }
            #expect(why.contains("outstanding"), "\(why)")
        }
        await supervisor.shutdown()
    }
}
