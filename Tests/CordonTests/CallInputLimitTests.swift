@testable import Cordon
import CordonAudit
import Foundation
import Testing

/// A call's input (bytes or WASI stdin) over the message limit (the policy's `maxMessageBytes`, clamped
/// to what one channel message can carry) is refused with a typed error before anything is sent:
/// the worker never sees it, stays alive and keeps answering.
@Suite struct CallInputLimitTests {
    static func policy() -> SandboxPolicy {
        var policy = Fixtures.policy()
        policy.limits.maxMessageBytes = 4096
        return policy
    }

    static func isMessageLimit(_ error: CordonError, measured bytes: Int) -> Bool {
        guard case .limitExceeded(.messageBytes, let value, let measured, _) = error else { return false }
        return value == "4096 bytes" && measured == "\(bytes) bytes"
    }

    @Test func oversizedBytesAndStdinAreRefusedBeforeSending() async throws {
        let supervisor = try Fixtures.supervisor()
        let bytes = try await supervisor.load(manifest: PluginManifest(name: "bytes"), module: try Fixtures.wasm(Plugins.bytes),
                                              policy: Self.policy())
        let command = try await supervisor.load(manifest: PluginManifest(name: "command"),
                                                module: try Fixtures.wasm(WASISupervisorTests.command), policy: Self.policy())
        let pids = (await bytes.workerPIDs(), await command.workerPIDs())
        do {
            _ = try await bytes.call("upper", bytes: [UInt8](repeating: 0x61, count: 4097))
            Issue.record("an oversized input was accepted")
        } catch {
            #expect(Self.isMessageLimit(error, measured: 4097), "\(error)")
        }
        do {
            _ = try await command.run(stdin: [UInt8](repeating: 0x61, count: 10_000))
            Issue.record("an oversized stdin was accepted")
        } catch {
            #expect(Self.isMessageLimit(error, measured: 10_000), "\(error)")
        }
        // Nothing reached the workers: the same processes answer, nothing was restarted.
        #expect(try await bytes.call("upper", bytes: Array("ok".utf8)) == Array("OK".utf8))
        #expect(try await command.run().exitCode == 7)
        #expect(await bytes.workerPIDs() == pids.0)
        #expect(await command.workerPIDs() == pids.1)
        #expect(await bytes.metrics().restarts == 0)
        await supervisor.shutdown()
    }

    /// Before the worker has reported the module's exports (here it never will: `load-silent`), there
    /// is no signature to check a call against, but what the channel could not carry is still refused
    /// at once, with a typed error, instead of waiting in the queue and then killing the worker as a
    /// protocol violation: an input or stdin over the limit, an export name or an argument list over
    /// the frame's caps, and a frame larger than one channel message (a 16 KiB ring carries 8 KiB).
    @Test func oversizedCallsAreRefusedBeforeTheExportsAreKnown() async throws {
        var configuration = SupervisorConfiguration()
        let worker: String = try #require(SupervisorDeathTests.binary("CordonCorruptWorker"))
        configuration.workerExecutable = worker
        configuration.loadTimeout = .seconds(30)
        configuration.channelRingCapacity = 16 * 1024
        let supervisor = try Supervisor(configuration: configuration)
        let manifest = PluginManifest(name: "corrupt-load-silent")
        let loading = Task { try await HostileWorkerTests.load(supervisor, mode: "load-silent", policy: Self.policy()) }
        // The id `load` will return: the supervisor's first plugin.
        let handle = PluginHandle(id: "\(manifest.name)-1", manifest: manifest, supervisor: supervisor)
        typealias Attempt = @Sendable () async throws(CordonError) -> Void
        let attempts: [(String, Attempt, @Sendable (CordonError) -> Bool)] = [
            ("bytes", { () async throws(CordonError) in _ = try await handle.call("run", bytes: [UInt8](repeating: 0, count: 5000)) },
             { Self.isMessageLimit($0, measured: 5000) }),
            ("stdin", { () async throws(CordonError) in _ = try await handle.run(stdin: [UInt8](repeating: 0, count: 5000)) },
             { Self.isMessageLimit($0, measured: 5000) }),
            ("export name", { () async throws(CordonError) in _ = try await handle.call(String(repeating: "e", count: 5000)) },
             { if case .invalidArguments(_, let why) = $0 { why.contains("5000 bytes") } else { false } }),
            ("arguments", { () async throws(CordonError) in _ = try await handle.call("run", [WasmValue](repeating: .i32(0), count: 1001)) },
             { if case .invalidArguments(_, let why) = $0 { why.contains("1001 arguments") } else { false } }),
            ("frame", { () async throws(CordonError) in _ = try await handle.call(String(repeating: "e", count: 4000), [WasmValue](repeating: .i64(0), count: 1000)) },
             { if case .limitExceeded(.messageBytes, let value, _, _) = $0 { value.hasPrefix("8192 bytes") } else { false } }),
        ]
        for (label, attempt, expected) in attempts {
            var refused = false
            for _ in 0..<2_000 where !refused {
                do {
                    try await attempt()
                    Issue.record("\(label): accepted")
                    break
                } catch {
                    // Before the plugin's record exists the call is `unavailable`: `load` has not reached the reactor.
                    if case .unavailable = error {
                        try await Task.sleep(for: .milliseconds(5))
                        continue
                    }
                    #expect(expected(error), "\(label): \(error)")
                    refused = true
                }
            }
            #expect(refused, "\(label)")
        }
        // A refusal needs the plugin's record, and `load-silent` never reports its exports: all of them
        // came while the plugin was loading, and none of them cost the worker its life.
        #expect(await handle.exports().isEmpty)
        #expect(await handle.metrics().restarts == 0)
        #expect(await handle.state() == .starting)
        await supervisor.shutdown()
        await #expect(throws: CordonError.self) { _ = try await loading.value }
    }
}
