import Cordon
import CordonAudit
import Foundation
import Testing

/// Every example under Examples/ runs and produces its documented output; every `cordon` exit
/// status is exercised; the C and Embedded Swift examples compile with `cordon build`.
@Suite struct ExamplesTests {
    /// The built-in default policy with a 60 s wall time per call instead of 5 s. These tests check
    /// what the examples compute and log; here the wall time is only a safety net (fib(30) is over a
    /// million guest calls in a debug worker), and a machine stall of several seconds must not trip it.
    static let policy: SandboxPolicy = {
        var policy = SandboxPolicy.builtinDefault
        policy.limits.maxWallTimeMillisecondsPerCall = 60_000
        return policy
    }()

    // MARK: - WAT examples through the library (real confined workers)

    @Test func helloLogs() async throws {
        let supervisor = try ExamplesSupport.supervisor()
        let host = InMemoryHost()
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "hello"), module: try ExamplesSupport.module("wat/hello.wat"),
                                               policy: Self.policy, host: host)
        #expect(try await plugin.call("hello") == [.i32(0)])
        #expect(host.logs.map(\.message) == ["hello, world"])
        #expect(host.logs.first?.level == .info)
        await supervisor.shutdown()
    }

    @Test func counterPersistsInHostStorage() async throws {
        let supervisor = try ExamplesSupport.supervisor()
        let module = try ExamplesSupport.module("wat/counter.wat")
        let granted = try await supervisor.load(manifest: PluginManifest(name: "counter", capabilities: [.storage]), module: module,
                                              policy: Self.policy)
        #expect(try await granted.call("increment", [.i32(3)]) == [.i32(3)])
        #expect(try await granted.call("increment", [.i32(2)]) == [.i32(5)])
        let denied = try await supervisor.load(manifest: PluginManifest(name: "counter-denied"), module: module,
                                             policy: Self.policy)
        #expect(try await denied.call("increment", [.i32(1)]) == [.i32(UInt32(bitPattern: -2))])
        await supervisor.shutdown()
    }

    @Test func configReader() async throws {
        let supervisor = try ExamplesSupport.supervisor()
        let module = try ExamplesSupport.module("wat/config_reader.wat")
        let host = InMemoryHost()
        let plugin = try await supervisor.load(
            manifest: PluginManifest(name: "config", capabilities: [.readConfig], configuration: ["greeting": "bonjour"]),
            module: module, policy: Self.policy, host: host)
        #expect(try await plugin.call("greet") == [.i32(7)])
        #expect(host.logs.map(\.message) == ["bonjour"])
        let missing = try await supervisor.load(manifest: PluginManifest(name: "config-missing", capabilities: [.readConfig]), module: module,
                                               policy: Self.policy)
        #expect(try await missing.call("greet") == [.i32(UInt32(bitPattern: -1))])
        await supervisor.shutdown()
    }

    @Test func demoPluginDeniesUngrantedHostCall() async throws {
        let supervisor = try ExamplesSupport.supervisor()
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "demo"), module: try ExamplesSupport.module("wat/demo.wat"),
                                               policy: Self.policy)
        #expect(try await plugin.call("fib", [.i32(30)]) == [.i32(832_040)])
        #expect(try await plugin.call("send") == [.i32(UInt32(bitPattern: -2))])
        #expect(await plugin.metrics().capabilityDenials == 1)
        await supervisor.shutdown()
    }

    // MARK: - Hostile examples

    @Test func hostilePluginsAreContained() async throws {
        let supervisor = try ExamplesSupport.supervisor()
        let policy = Fixtures.policy(fuel: 1_000_000, memoryPages: 16)
        func load(_ name: String, _ capabilities: Set<PluginCapability> = [], policy: SandboxPolicy = policy) async throws -> PluginHandle {
            try await supervisor.load(manifest: PluginManifest(name: name, capabilities: capabilities),
                                      module: try ExamplesSupport.module("hostile/\(name).wat"), policy: policy,
                                      restart: RestartPolicy(mode: .never))
        }
        func failure(_ plugin: PluginHandle, _ export: String, _ args: [WasmValue] = []) async -> CordonError? {
            do { _ = try await plugin.call(export, args); return nil } catch { return error }
        }

        let fuel = await failure(try await load("fuel_loop"), "run")
        guard case .limitExceeded(.fuel, _, _, _) = fuel else { Issue.record("fuel_loop: \(String(describing: fuel))"); return }

        let memory = await failure(try await load("memory_bomb"), "run")
        guard case .limitExceeded(.memory, _, _, _) = memory else { Issue.record("memory_bomb: \(String(describing: memory))"); return }

        let recursion = await failure(try await load("deep_recursion"), "run", [.i32(0)])
        guard case .trapped(_, .stackExhausted, _) = recursion else { Issue.record("deep_recursion: \(String(describing: recursion))"); return }

        let trap = await failure(try await load("unreachable"), "run")
        guard case .trapped(_, .unreachable, _) = trap else { Issue.record("unreachable: \(String(describing: trap))"); return }

        // Thousands of host-call round trips, within the policy's 60 s wall time.
        #expect(try await load("hostcall_flood", [.storage]).call("run") == [.i32(1000)])
        // 64 initial pages: more than the 16-page test policy allows, so it runs under the default policy.
        #expect(try await load("huge_log", policy: Self.policy).call("run") == [.i32(UInt32(bitPattern: -5))])
        #expect(try await load("oob_hostcall").call("run") == [.i32(UInt32(bitPattern: -3))])
        await supervisor.shutdown()
    }

    @Test func wallTimeKillsALoopWithFuelOff() async throws {
        let supervisor = try ExamplesSupport.supervisor()
        var limits = ResourceLimits(policy: .builtinDefault)
        limits.maxFuelPerCall = 0
        limits.maxWallTimePerCall = .milliseconds(500)
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "spin"), module: try ExamplesSupport.module("hostile/fuel_loop.wat"),
                                               limits: limits, restart: RestartPolicy(mode: .never))
        do {
            _ = try await plugin.call("run")
            Issue.record("the loop returned")
        } catch {
            guard case .limitExceeded(.wallTime, _, _, _) = error else { Issue.record("unexpected \(error)"); return }
        }
        await supervisor.shutdown()
    }

    // MARK: - The cordon binary: exit statuses

    @Test(.enabled(if: ExamplesSupport.hasCordon, "cordon binary not built: swift build --product cordon"))
    func cliExitStatuses() async throws {
        let hello = try await ExamplesSupport.cordon(["run", "Examples/wat/hello.wat", "--export", "hello"])
        #expect(hello.status == 0)
        #expect(hello.stdout == "0\n")
        #expect(hello.stderr.contains("[hello] info: hello, world"))

        let json = try await ExamplesSupport.cordon(["run", "Examples/wat/demo.wat", "--export", "fib", "10", "--json"])
        #expect(json.status == 0)
        #expect(json.stdout.hasPrefix("{\"results\":[55],\"fuel_used\":"))
        #expect(json.stdout.contains("\"isolation\":[\""))

        let negativeArgument = try await ExamplesSupport.cordon(["run", "Examples/hostile/deep_recursion.wat", "--export", "run", "-5", "--fuel", "100000"])
        let negativeStatus = negativeArgument.status
        #expect(negativeStatus == 75 || negativeStatus == 70)

        let usage = try await ExamplesSupport.cordon(["run", "Examples/wat/demo.wat", "--export", "fib", "1", "2"])
        #expect(usage.status == 64)
        #expect(usage.stderr.contains("takes 1 argument"))
        #expect(try await ExamplesSupport.cordon(["run", "Examples/wat/demo.wat", "--export", "fib", "x"]).status == 64)
        #expect(try await ExamplesSupport.cordon(["run", "Examples/wat/demo.wat", "--export", "nope"]).status == 64)
        #expect(try await ExamplesSupport.cordon(["run", "Examples/wat/demo.wat", "--export", "fib", "--grant", "root"]).status == 64)

        let directory = try ExamplesSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "(module (func".write(toFile: directory + "/broken.wat", atomically: true, encoding: .utf8)
        #expect(try await ExamplesSupport.cordon(["run", directory + "/broken.wat", "--export", "f"]).status == 65)
        try #"(module (import "env" "host_fly" (func (param i32))))"#.write(toFile: directory + "/link.wat", atomically: true, encoding: .utf8)
        let link = try await ExamplesSupport.cordon(["run", directory + "/link.wat", "--export", "f"])
        #expect(link.status == 65, "unknown import fails at link: \(link.stderr)")
        try #"{"name": "x", "seccomp": {"defaultAction": "SCMP_ACT_ALLOW"}}"#.write(toFile: directory + "/allow.json", atomically: true, encoding: .utf8)
        let policy = try await ExamplesSupport.cordon(["run", "Examples/wat/hello.wat", "--export", "hello", "--policy", directory + "/allow.json"])
        #expect(policy.status == 65)
        #expect(policy.stderr.contains("$.seccomp.defaultAction"))

        #expect(try await ExamplesSupport.cordon(["run", directory + "/missing.wasm", "--export", "f"]).status == 66)
        #expect(try await ExamplesSupport.cordon(["run", "Examples/wat/hello.wat", "--export", "hello", "--manifest", directory + "/none.json"]).status == 66)

        let trap = try await ExamplesSupport.cordon(["run", "Examples/hostile/unreachable.wat", "--export", "run"])
        #expect(trap.status == 70)
        #expect(trap.stderr.contains("unreachable"))

        let fuel = try await ExamplesSupport.cordon(["run", "Examples/hostile/fuel_loop.wat", "--export", "run", "--fuel", "100000"])
        #expect(fuel.status == 75)
        #expect(fuel.stderr.contains("fuel (limit 100,000, measured exhausted)"))

        // 77: a pure WebAssembly plugin cannot make a syscall of its own, so no example can provoke
        // a seccomp kill; the hidden probe drives the same error-to-status mapping `run` uses.
        let violation = try await ExamplesSupport.cordon(["exit-code-probe", "sandbox-violation"])
        #expect(violation.status == 77)
        #expect(violation.stderr.contains("syscall socket"))
        for (probe, status) in [("trapped", 70), ("limit", 75), ("invalid-module", 65), ("file-not-found", 66), ("usage", 64)] {
            #expect(try await ExamplesSupport.cordon(["exit-code-probe", probe]).status == Int32(status), "\(probe)")
        }
    }

    /// A supervisor without root: the worker unshares its own namespaces, the seccomp listener is still
    /// taken (the worker becomes non-dumpable only after the hand-over), and the call runs.
    @Test(.enabled(if: ExamplesSupport.canDropToNobody, "needs root, setpriv and the cordon binary"))
    func cliRunsWithoutRoot() async throws {
        let run = try await ExamplesSupport.cordon(["run", "Examples/wat/hello.wat", "--export", "hello", "--json"], asUser: 65534)
        #expect(run.status == 0, "\(run.stderr)")
        for layer in ["seccomp.notify", "non-dumpable", "no_new_privs", "uid:65534", "capabilities"] {
            #expect(run.stdout.contains("\"\(layer)\""), "\(layer) missing: \(run.stdout)")
        }
        // Without a user namespace (here the policy disables them all) a non-root worker holds no
        // capabilities to drop, cannot clear its bounding set, and says so.
        var policy = SandboxPolicy.builtinDefault
        policy.namespaces = NamespacePolicy(user: .disabled, mount: .disabled, network: .disabled, ipc: .disabled,
                                            uts: .disabled, pid: .disabled, cgroup: .disabled)
        let directory = try ExamplesSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data(policy.canonicalJSON).write(to: URL(fileURLWithPath: directory + "/nons.json"))
        _ = chmod(directory, 0o755)
        let bare = try await ExamplesSupport.cordon(["run", "Examples/wat/hello.wat", "--export", "hello", "--json",
                                               "--policy", directory + "/nons.json"], asUser: 65534)
        #expect(bare.status == 0, "\(bare.stderr)")
        for layer in ["capabilities.none-held", "no_new_privs", "non-dumpable", "seccomp.notify"] {
            #expect(bare.stdout.contains("\"\(layer)\""), "\(layer) missing: \(bare.stdout)")
        }
        #expect(!bare.stdout.contains("namespace."))
        // A policy that requires what only root can give fails with a reason, not a hang or a crash.
        let strict = try await ExamplesSupport.cordon(["run", "Examples/wat/hello.wat", "--export", "hello", "--policy", "policies/strict.json"],
                                                asUser: 65534)
        #expect(strict.status == 71)
        #expect(strict.stderr.contains("a PID namespace needs a root supervisor"), "\(strict.stderr)")
    }

    /// Where the kernel refuses an unprivileged user namespace (here: bubblewrap's --disable-userns), a
    /// non-root supervisor finds out before it spawns (NamespaceProbe). The default policy fails
    /// closed: no worker without user and mount namespaces, and the error names the missing layers
    /// and the opt-in. A policy that opts in (`namespaces.allowDegraded`) degrades, and says so.
    @Test(.enabled(if: ExamplesSupport.canDropToNobody && FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap"),
                   "needs root, setpriv, bubblewrap and the cordon binary"))
    func cliRefusesOrDegradesWhereUserNamespacesAreRefused() async throws {
        let binary = try #require(ExamplesSupport.cordonBinary)
        let jail = ["--reuid", "65534", "--regid", "65534", "--clear-groups",
                    "/usr/bin/bwrap", "--dev-bind", "/", "/", "--unshare-user", "--disable-userns", "--", binary]
        let refused = try await ExamplesSupport.run("/usr/bin/setpriv", jail + ["run", "Examples/wat/hello.wat", "--export", "hello", "--json"])
        #expect(refused.status != 0, "\(refused.stdout)")
        #expect(refused.stderr.contains("namespace.user and namespace.mount") && refused.stderr.contains("allowDegraded"), "\(refused.stderr)")

        var policy = SandboxPolicy.builtinDefault
        policy.namespaces.allowDegraded = true
        let directory = try ExamplesSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data(policy.canonicalJSON).write(to: URL(fileURLWithPath: directory + "/degradable.json"))
        _ = chmod(directory, 0o755)
        _ = chmod(directory + "/degradable.json", 0o644)
        let run = try await ExamplesSupport.run("/usr/bin/setpriv", jail + ["run", "Examples/wat/hello.wat", "--export", "hello", "--json",
                                                                          "--policy", directory + "/degradable.json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("\"capabilities.none-held\""), "\(run.stdout)")
        #expect(run.stdout.contains("\"seccomp.notify\""))
        #expect(!run.stdout.contains("namespace."))
    }

    @Test(.enabled(if: ExamplesSupport.hasCordon, "cordon binary not built: swift build --product cordon"))
    func cliPolicyInspectAndAudit() async throws {
        let builtinCheck = try await ExamplesSupport.cordon(["policy", "check", "--builtin", "default"])
        #expect(builtinCheck.status == 0)
        #expect(builtinCheck.stdout.contains("# limits: wall="))
        // The digest audit records carry, recomputable from the file alone.
        #expect(builtinCheck.stdout.contains("sha256: \(SandboxPolicy.builtinDefault.sha256) "))
        let fileCheck = try await ExamplesSupport.cordon(["policy", "check", ExamplesSupport.root + "/policies/default.json"])
        #expect(fileCheck.stdout.contains("sha256: \(SandboxPolicy.builtinDefault.sha256) "))
        let directory = try ExamplesSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try #"{"name": "x", "wasm": {"maxMemoryPages": "lots"}}"#.write(toFile: directory + "/bad.json", atomically: true, encoding: .utf8)
        let bad = try await ExamplesSupport.cordon(["policy", "check", directory + "/bad.json"])
        #expect(bad.status == 65)
        #expect(bad.stderr.contains(directory + "/bad.json"))
        #expect(try await ExamplesSupport.cordon(["policy", "check", directory + "/absent.json"]).status == 66)

        let inspect = try await ExamplesSupport.cordon(["inspect", "Examples/wat/config_reader.wat"])
        #expect(inspect.status == 0)
        #expect(inspect.stdout.contains("env.host_get_config (i32, i32, i32, i32) -> (i32)  [needs read_config]"))
        #expect(inspect.stdout.contains("greet () -> (i32)"))
        #expect(inspect.stdout.contains("capabilities needed: read_config"))
        try #"(module (import "env" "host_log" (func (param i32 i32))) (import "wasi" "fd_write" (func)))"#
            .write(toFile: directory + "/mislinked.wat", atomically: true, encoding: .utf8)
        let mislinked = try await ExamplesSupport.cordon(["inspect", directory + "/mislinked.wat"])
        #expect(mislinked.stdout.contains("WRONG SIGNATURE"))
        #expect(mislinked.stdout.contains("wasi.fd_write: unknown import module"))

        let log = directory + "/audit.log"
        let run = try await ExamplesSupport.cordon(["run", "Examples/wat/demo.wat", "--export", "send", "--audit-log", log])
        #expect(run.status == 0)
        #expect(run.stdout == "-2\n")
        let verify = try await ExamplesSupport.cordon(["audit", "verify", log])
        #expect(verify.status == 0)
        #expect(verify.stdout.hasPrefix("ok: "))
        #expect(verify.stdout.contains("chain intact"))
        let tail = try await ExamplesSupport.cordon(["audit", "tail", log, "--type", "capability.denied", "--human"])
        #expect(tail.status == 0)
        #expect(tail.stdout.contains("capability.denied"))
        #expect(tail.stdout.contains("host_send_message"))

        // Tamper with one record: verify names its seq and exits 65.
        var lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines[1] = lines[1].replacingOccurrences(of: "\"tenant\":\"cli\"", with: "\"tenant\":\"evil\"")
        try lines.joined(separator: "\n").write(toFile: log, atomically: false, encoding: .utf8)
        let tampered = try await ExamplesSupport.cordon(["audit", "verify", log])
        #expect(tampered.status == 65)
        #expect(tampered.stderr.contains("seq 2"))
        #expect(try await ExamplesSupport.cordon(["audit", "verify", directory + "/nope.log"]).status == 66)
    }

    @Test(.enabled(if: ExamplesSupport.hasCordon, "cordon binary not built: swift build --product cordon"))
    func demoRunsEveryStepAndVerifiesItsLog() async throws {
        let directory = try ExamplesSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let demo = try await ExamplesSupport.cordon(["demo", "--audit-dir", directory])
        #expect(demo.status == 0, "\(demo.stdout)\(demo.stderr)")
        #expect(demo.stdout.contains("fib(30) = 832040"))
        #expect(demo.stdout.contains("host_send_message returned -2"))
        #expect(demo.stdout.contains("fuel limit"))
        #expect(demo.stdout.contains("wall time limit"))
        #expect(demo.stdout.contains("chain intact"))
        #expect(demo.stderr.isEmpty, "nothing extra on stderr when piped: \(demo.stderr)")
        #expect(try await ExamplesSupport.cordon(["audit", "verify", directory + "/audit.log"]).status == 0)
    }

    // MARK: - C and Embedded Swift through `cordon build`

    @Test(.enabled(if: ExamplesSupport.hasCordon && ExamplesSupport.hasClang, "cordon or clang missing: C examples not built"))
    func cExamplesBuildAndRun() async throws {
        let directory = try ExamplesSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for name in ["tool_caller", "message_sender", "upper"] {
            let built = try await ExamplesSupport.cordon(["build", "Examples/c/\(name).c", "-o", "\(directory)/\(name).wasm"])
            #expect(built.status == 0, "\(name): \(built.stderr)")
        }
        let supervisor = try ExamplesSupport.supervisor()
        let host = InMemoryHost(tools: ["reverse": { Array($0.reversed()) }])
        let tool = try await supervisor.load(manifest: PluginManifest(name: "tool_caller", capabilities: [.callTool]),
                                             module: try ExamplesSupport.module("\(directory)/tool_caller.wasm"), policy: Self.policy,
                                             host: host)
        #expect(try await tool.call("call_reverse") == [.i32(6)])
        #expect(host.logs.map(\.message) == ["tool said: nodroc"])
        let sender = try await supervisor.load(manifest: PluginManifest(name: "message_sender", capabilities: [.sendMessage]),
                                               module: try ExamplesSupport.module("\(directory)/message_sender.wasm"),
                                               policy: Self.policy, host: host)
        #expect(try await sender.call("notify", [.i32(42)]) == [.i32(0)])
        #expect(host.outbox.map { String(decoding: $0.payload, as: UTF8.self) } == ["build finished: 42"])
        #expect(host.outbox.first?.to == "ops")
        let upper = try await supervisor.load(manifest: PluginManifest(name: "upper"), module: try ExamplesSupport.module("\(directory)/upper.wasm"),
                                              policy: Self.policy)
        #expect(try await upper.call("upper", bytes: Array("hello, cordon".utf8)) == Array("HELLO, CORDON".utf8))
        await supervisor.shutdown()

        let viaCLI = try await ExamplesSupport.cordon(["run", "\(directory)/message_sender.wasm", "--export", "notify", "7", "--grant", "send_message"])
        #expect(viaCLI.status == 0)
        #expect(viaCLI.stderr.contains("[message_sender → ops] build finished: 7"))
    }

    @Test(.enabled(if: ExamplesSupport.hasCordon && ExamplesSupport.hasEmbeddedSwift, "cordon or Embedded Swift for wasm32 missing"))
    func embeddedSwiftExampleBuildsAndRuns() async throws {
        let directory = try ExamplesSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let built = try await ExamplesSupport.cordon(["build", "Examples/swift/Greeter.swift", "-o", "\(directory)/greeter.wasm"])
        #expect(built.status == 0, "\(built.stderr)")
        #expect(!built.stderr.contains("warning"), "the PDK compiles without warnings: \(built.stderr)")
        let supervisor = try ExamplesSupport.supervisor()
        let host = InMemoryHost(tools: ["reverse": { Array($0.reversed()) }])
        let module = try ExamplesSupport.module("\(directory)/greeter.wasm")
        let greeter = try await supervisor.load(
            manifest: PluginManifest(name: "greeter", capabilities: [.readConfig, .storage, .callTool, .sendMessage],
                                     configuration: ["name": "Ada"]), module: module, policy: Self.policy, host: host)
        #expect(try await greeter.call("greet") == [.i32(1)])
        #expect(try await greeter.call("greet") == [.i32(2)])
        #expect(try await greeter.call("shout") == [.i32(0)])
        #expect(host.logs.map(\.message) == ["Hello, Ada! (visit 1)", "Hello, Ada! (visit 2)", "tool reversed: adA"])
        #expect(host.outbox.map { String(decoding: $0.payload, as: UTF8.self) } == ["greeter says hi"])
        #expect(try await greeter.call("reverse", bytes: Array("wasm".utf8)) == Array("msaw".utf8))
        let denied = try await supervisor.load(manifest: PluginManifest(name: "greeter-denied"), module: module, policy: Self.policy,
                                              host: host)
        #expect(try await denied.call("greet") == [.i32(UInt32(bitPattern: -2))])
        await supervisor.shutdown()
    }

    /// `cordon init` writes a project in a folder of its own, far from any checkout; the two
    /// commands it prints build and run it (the header and the PDK come from the binary).
    @Test(.enabled(if: ExamplesSupport.hasCordon && ExamplesSupport.hasClang, "cordon or clang missing"),
          arguments: ["c", "swift", "wat"])
    func initProjectBuildsAndRunsOutsideTheCheckout(language: String) async throws {
        if language == "swift", !ExamplesSupport.hasEmbeddedSwift { return }
        let directory = try ExamplesSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let created = try await ExamplesSupport.cordon(["init", "--lang", language, "hello-plugin"], in: directory)
        #expect(created.status == 0, "\(created.stderr)")
        let next = created.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("cordon ") }
        try #require(next.count == 2, "init prints the two next commands: \(created.stdout)")
        let build = try await ExamplesSupport.cordon(next[0].split(separator: " ").dropFirst().map(String.init), in: directory)
        #expect(build.status == 0, "\(next[0]): \(build.stderr)")
        #expect(!build.stderr.contains("warning"), "\(build.stderr)")
        let run = try await ExamplesSupport.cordon(next[1].split(separator: " ").dropFirst().map(String.init), in: directory)
        #expect(run.status == 0, "\(next[1]): \(run.stderr)")
        #expect(run.stdout == "12\n")
        #expect(run.stderr.contains("[hello-plugin] info: hello, World"))
        let again = try await ExamplesSupport.cordon(["init", "--lang", language, "hello-plugin"], in: directory)
        #expect(again.status == 65 && again.stderr.contains("already exists"))
    }

    /// The kit inside the binary is the one in Examples/ (scripts/embed-plugin-kit regenerates it).
    @Test func builtInPluginKitMatchesExamples() throws {
        let generated = try String(contentsOfFile: ExamplesSupport.root + "/Sources/CordonCLI/PluginKitFiles.swift", encoding: .utf8)
        for file in ["c/cordon.h", "swift/CordonPDK.swift"] {
            let text = try String(contentsOfFile: ExamplesSupport.example(file), encoding: .utf8)
            #expect(generated.contains(text.trimmingCharacters(in: .newlines)), "Examples/\(file) changed: run scripts/embed-plugin-kit")
        }
    }
}
