import Cordon
import Foundation
import Synchronization
import Testing

/// Every host function with and without its capability, and the hostile (ptr, len) cases.
@Suite struct HostFunctionTests {
    static func load(_ supervisor: Supervisor, capabilities: Set<PluginCapability>, host: any HostFunctions,
                     grant: Set<PluginCapability>? = nil, policy: SandboxPolicy = Fixtures.policy()) async throws -> PluginHandle {
        let manifest = PluginManifest(name: "host-calls", capabilities: capabilities, configuration: ["greeting": "hi there"])
        return try await supervisor.load(manifest: manifest, module: try Fixtures.wasm(Plugins.hostCalls),
                                         policy: policy, host: host, grant: grant)
    }

    static let everything: Set<PluginCapability> = [.readConfig, .writeConfig, .sendMessage, .storage, .random, .timer, .callTool]

    @Test(arguments: [HostExecution.cooperativePool, .reactor, .threads(HostThreadPool(threads: 2))])
    func grantedHostFunctionsWork(execution: HostExecution) async throws {
        let supervisor = try Fixtures.supervisor()
        let host = InMemoryHost(tools: ["upper": { bytes in Array(String(decoding: bytes, as: UTF8.self).uppercased().utf8) }],
                                execution: execution)
        let plugin = try await Self.load(supervisor, capabilities: Self.everything, host: host)
        #expect(try await plugin.call("get_config") == [.i32(8)])          // "hi there"
        #expect(try await plugin.call("config_first_byte") == [.i32(UInt32(UInt8(ascii: "h")))])
        #expect(try await plugin.call("storage_roundtrip") == [.i32(20)])
        #expect(try await plugin.call("send") == [.i32(0)])
        #expect(host.outbox.first?.to == "greeting")
        #expect(try await plugin.call("random") == [.i32(32)])
        let now = try await plugin.call("now")
        if case .i64(let ms) = now.first { #expect(abs(Int64(bitPattern: ms) - Int64(Date().timeIntervalSince1970 * 1000)) < 60_000) }
        _ = try await plugin.call("log")
        #expect(host.logs.contains { $0.message == "hello from the guest" && $0.level == .info })
        #expect(try await plugin.call("tool") == [.i32(5)])
        #expect(try await plugin.call("tool_byte") == [.i32(UInt32(UInt8(ascii: "H")))])
        await supervisor.shutdown()
    }

    /// A host function that suspends on the reactor does not hold it. Ordering, not timing: the
    /// sleeper's host function waits on the reactor until the test has had the other plugin's answer;
    /// a held reactor could never give that answer, and the host function would give up after
    /// `Fixtures.patience`.
    @Test func reactorHostFunctionsThatSuspendDoNotStallOtherPlugins() async throws {
        let supervisor = try Fixtures.supervisor()
        let host = RendezvousHost(parties: 2, patience: Fixtures.patience, execution: .reactor)
        let sleeper = try await supervisor.load(manifest: PluginManifest(name: "sleeper", capabilities: [.custom("rendezvous")]),
                                                module: try Fixtures.wasm(Plugins.rendezvous), policy: Fixtures.policy(),
                                                host: host)
        let adder = try await supervisor.load(manifest: PluginManifest(name: "adder"), module: try Fixtures.wasm(Fixtures.add))
        let sleeping = Task { try await sleeper.call("meet") }
        try await LimitAndRestartTests.waitUntil { host.arrivals.count == 1 }   // suspended inside the host function
        #expect(try await adder.call("add", [.i32(2), .i32(3)]) == [.i32(5)])
        host.arrive()
        #expect(try await sleeping.value == [.i32(0)], "the suspended host function gave up: the other plugin was not answered while it waited")
        await supervisor.shutdown()
    }

    /// A reactor host function still suspended when its call is killed (here by the wall-time limit)
    /// is cancelled with the call: it starts inline on the reactor, and its task is kept while its
    /// answer is owed. Without that, the sleeper would run on until its own hour was up.
    @Test func aSuspendedReactorHostFunctionIsCancelledWithItsCall() async throws {
        let supervisor = try Fixtures.supervisor()
        let host = SleepUntilCancelledHost()
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "cancelled", capabilities: [.custom("rendezvous")]),
                                               module: try Fixtures.wasm(Plugins.rendezvous), policy: Fixtures.policy(wallMs: 500),
                                               host: host)
        await #expect(throws: CordonError.self) { _ = try await plugin.call("meet") }
        try await LimitAndRestartTests.waitUntil { host.cancelled }
        #expect(host.started == 1)
        await supervisor.shutdown()
    }

    /// Host functions that block hold the threads of their `HostThreadPool`, not the cooperative pool:
    /// with as many calls blocked as the cooperative pool has threads (one per core), another plugin's
    /// host call there is still answered, and so is this test. Ordering, not timing: the blocked calls
    /// are released only after that answer; on the cooperative pool nothing would run until they gave
    /// up after `Fixtures.patience` with host_error.
    @Test func blockingHostFunctionsOnAThreadPoolLeaveTheCooperativePoolFree() async throws {
        let supervisor = try Fixtures.supervisor()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let host = BlockingHost(execution: .threads(HostThreadPool(threads: cores)), patience: Fixtures.patience)
        var blocked: [PluginHandle] = []
        for i in 0..<cores {
            blocked.append(try await supervisor.load(manifest: PluginManifest(name: "blocked\(i)", capabilities: [.custom("rendezvous")]),
                                                     module: try Fixtures.wasm(Plugins.rendezvous),
                                                     policy: Fixtures.policy(), host: host))
        }
        let other = try await Self.load(supervisor, capabilities: [.timer], host: InMemoryHost())
        let calls = blocked.map { plugin in Task { try await plugin.call("meet") } }
        try await LimitAndRestartTests.waitUntil { host.blockedCount == cores }
        let now = try await other.call("now")
        host.release(cores)
        #expect(now.count == 1)
        for call in calls {
            #expect(try await call.value == [.i32(0)], "a blocked host function gave up: the cooperative pool was held")
        }
        await supervisor.shutdown()
    }

    /// A host function sees what the application granted, not what the manifest asked for.
    @Test func contextCarriesTheGrantedCapabilities() async throws {
        final class GrantRecordingHost: HostFunctions, Sendable {
            let seen = Mutex<[Set<PluginCapability>]>([])
            func log(_ context: PluginContext, level: LogLevel, message: String) async {
                seen.withLock { $0.append(context.grantedCapabilities) }
            }
        }
        let supervisor = try Fixtures.supervisor()
        let host = GrantRecordingHost()
        let plugin = try await Self.load(supervisor, capabilities: Self.everything, host: host, grant: [.storage, .timer])
        _ = try await plugin.call("log")
        #expect(host.seen.withLock { $0 } == [[.storage, .timer]])
        await supervisor.shutdown()
    }

    @Test func ungrantedHostFunctionsAreDeniedAndReported() async throws {
        let supervisor = try Fixtures.supervisor()
        let events = supervisor.events
        // The manifest asks for everything; the application grants nothing.
        let plugin = try await Self.load(supervisor, capabilities: Self.everything, host: InMemoryHost(), grant: [])
        let denied = ABIErrorCode.permissionDenied.rawValue
        for export in ["get_config", "storage_roundtrip", "send", "random", "tool"] {
            #expect(try await plugin.call(export) == [.i32(UInt32(bitPattern: denied))], "\(export)")
        }
        // host_log needs no capability.
        _ = try await plugin.call("log")
        var denials: [String] = []
        for await event in events {
            if case .capabilityDenied(let function, _) = event.kind { denials.append(function) }
            if denials.count == 6 { break }
        }
        #expect(Set(denials) == ["host_get_config", "host_storage_set", "host_storage_get", "host_send_message", "host_random_bytes", "host_call_tool"])
        #expect(await plugin.metrics().capabilityDenials == 6)
        await supervisor.shutdown()
    }

    @Test func hostilePointersAndSizesAreRefusedNotFatal() async throws {
        let supervisor = try Fixtures.supervisor()
        let plugin = try await Self.load(supervisor, capabilities: Self.everything, host: InMemoryHost())
        #expect(try await plugin.call("out_of_bounds") == [.i32(UInt32(bitPattern: ABIErrorCode.invalidArgument.rawValue))])
        // 64 KiB key: larger than the policy's host-call byte limit.
        let huge = try await plugin.call("huge_log_status")
        #expect(huge == [.i32(UInt32(bitPattern: ABIErrorCode.tooLarge.rawValue))], "\(huge)")
        _ = try await plugin.call("huge_log")   // a log record too large is dropped, the call goes on
        // The worker is still the same, healthy process.
        #expect(try await plugin.call("get_config") == [.i32(8)])
        await supervisor.shutdown()
    }

    @Test func hostCallFloodIsRateLimited() async throws {
        let supervisor = try Fixtures.supervisor()
        // The limit measured here is a count (1,000 host calls per call), which no clock changes; the
        // wall time is only a safety net, left at the fixture's generous 60 s.
        let plugin = try await Self.load(supervisor, capabilities: Self.everything, host: InMemoryHost(),
                                         policy: Fixtures.policy())
        let result = try await plugin.call("flood", [.i32(1_500)])
        guard case .i32(let limited) = result.first else { Issue.record("\(result)"); return }
        #expect(limited == 500, "\(limited) of 1,500 calls rate limited; the policy allows 1,000 per call")
        await supervisor.shutdown()
    }
}


/// A host whose custom `rendezvous` function blocks its thread (a semaphore wait, as blocking I/O
/// would) until the test releases it, or throws `hostError` after `patience`.
final class BlockingHost: HostFunctions {
    let execution: HostExecution
    private let patience: Duration
    private let gate = DispatchSemaphore(value: 0)
    private let blocked = Mutex(0)

    init(execution: HostExecution, patience: Duration) {
        self.execution = execution
        self.patience = patience
    }

    /// How many calls are blocked in the function now.
    var blockedCount: Int { blocked.withLock { $0 } }
    var customFunctionNames: [String] { ["rendezvous"] }

    /// Lets `count` blocked calls return.
    func release(_ count: Int) { for _ in 0..<count { gate.signal() } }

    func custom(_ context: PluginContext, function: String, input: [UInt8]) async throws -> [UInt8] {
        blocked.withLock { $0 += 1 }
        defer { blocked.withLock { $0 -= 1 } }
        let seconds = Double(patience.components.seconds)
        guard gate.wait(timeout: .now() + seconds) == .success else { throw HostFunctionError.hostError }
        return []
    }
}

/// A reactor-placed custom function that sleeps for an hour unless its task is cancelled first.
final class SleepUntilCancelledHost: HostFunctions {
    private let state = Mutex<(started: Int, cancelled: Bool)>((0, false))
    var execution: HostExecution { .reactor }
    var customFunctionNames: [String] { ["rendezvous"] }
    var started: Int { state.withLock { $0.started } }
    var cancelled: Bool { state.withLock { $0.cancelled } }

    func custom(_ context: PluginContext, function: String, input: [UInt8]) async throws -> [UInt8] {
        state.withLock { $0.started += 1 }
        do {
            try await Task.sleep(for: .seconds(3600))
        } catch {
            state.withLock { $0.cancelled = true }
            throw error
        }
        return []
    }
}
