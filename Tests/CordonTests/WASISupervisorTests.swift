import Cordon
import CordonAudit
import Foundation
import Testing

/// A host that lets a guest import a `wasi.*` name from `env`, so a plain WAT plugin can send a
/// brokered call through a real worker before any WASI runtime exists in it.
final class WASINameHost: HostFunctions {
    var customFunctionNames: [String] { ["wasi.fd_prestat_dir_name"] }
    func custom(_ context: PluginContext, function: String, input: [UInt8]) async throws -> [UInt8] {
        Issue.record("\(function) reached the application's host instead of the file broker")
        return []
    }
}

/// The supervisor side of WASI: load-time checks of the configuration, and `wasi.*` host calls
/// routed to the broker with the `filesystem` capability.
@Suite struct WASISupervisorTests {
    static let brokered = """
    (module
      (import "env" "wasi.fd_prestat_dir_name" (func $dir (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "ask") (result i32) (call $dir (i32.const 0) (i32.const 0) (i32.const 64) (i32.const 64))))
    """

    static func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cordon-wasi-\(UUID())").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func preopensNeedTheFilesystemCapability() async throws {
        let supervisor = try Fixtures.supervisor()
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let manifest = PluginManifest(name: "wasi-load", capabilities: [.filesystem])
        do {
            _ = try await supervisor.load(manifest: manifest, module: try Fixtures.wasm(Fixtures.add), policy: Fixtures.policy(),
                                          grant: [], wasi: WASIConfiguration(preopens: [WASIPreopen(hostPath: dir, guestPath: "/")]))
            Issue.record("loaded without the filesystem capability")
        } catch {
            guard case .invalidConfiguration(let field, let reason)? = error as? CordonError else { throw error }
            #expect(field == "wasi.preopens" && reason.contains("'filesystem'"))
        }
        do {
            _ = try await supervisor.load(manifest: manifest, module: try Fixtures.wasm(Fixtures.add), policy: Fixtures.policy(),
                                          wasi: WASIConfiguration(preopens: [WASIPreopen(hostPath: dir + "/missing", guestPath: "/")]))
            Issue.record("loaded with a missing preopen")
        } catch {
            guard case .invalidConfiguration(let field, let reason)? = error as? CordonError else { throw error }
            #expect(field == "wasi.preopens[0].hostPath" && reason.contains("errno 2"))
        }
        do {
            _ = try await supervisor.load(manifest: manifest, module: try Fixtures.wasm(Fixtures.add), policy: Fixtures.policy(),
                                          wasi: WASIConfiguration(environment: ["NOEQUALS"]))
            Issue.record("loaded with a malformed environment")
        } catch {
            guard case .invalidConfiguration(let field, _)? = error as? CordonError else { throw error }
            #expect(field == "wasi.environment[0]")
        }
        await supervisor.shutdown()
    }

    @Test func brokeredCallsNeedFilesystemAndReachTheBroker() async throws {
        let audit = try AuditLogHandle.temporary("wasi-route")
        defer { audit.remove() }
        let supervisor = try Fixtures.supervisor(audit: audit)
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let module = try Fixtures.wasm(Self.brokered)
        let denied = try await supervisor.load(manifest: PluginManifest(name: "no-fs", capabilities: [.custom("wasi.fd_prestat_dir_name")]),
                                               module: module, policy: Fixtures.policy(), host: WASINameHost())
        // Refused with EBADF (8; a bytes-out import whose reply carries no data returns the status
        // itself) and recorded as a capability denial, below.
        #expect(try await denied.call("ask") == [.i32(8)])
        let granted = try await supervisor.load(manifest: PluginManifest(name: "fs", capabilities: [.filesystem]),
                                                module: module, policy: Fixtures.policy(), host: WASINameHost(),
                                                wasi: WASIConfiguration(preopens: [WASIPreopen(hostPath: dir, guestPath: "/")]))
        // The broker itself answers: it takes the only integer (out_cap, 64) as the fd, which is not
        // open, so EBADF (8) — not the application's host, whose custom function records an issue.
        let answer = try await granted.call("ask")
        #expect(answer == [.i32(8)], "\(answer)")
        await supervisor.shutdown()
        let log = try audit.closeAndRead()
        #expect(log.contains(#""capability":"filesystem","function":"wasi.fd_prestat_dir_name""#))
    }

    static let command = """
    (module
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "hi\\n")
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 16))
        (i32.store (i32.const 4) (i32.const 3))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
        (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
        (call $exit (i32.const 7))))
    """

    /// `run` calls `_start`, gathers stdout and stderr from the worker's output frames and reports
    /// `proc_exit`'s code; a second run gets a fresh instance and the same result.
    @Test func runReturnsExitCodeAndOutput() async throws {
        let supervisor = try Fixtures.supervisor()
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "command"), module: try Fixtures.wasm(Self.command),
                                               policy: Fixtures.policy())
        for _ in 0..<2 {
            let output = try await plugin.run()
            #expect(output == CommandOutput(exitCode: 7, stdout: Array("hi\n".utf8), stderr: Array("hi\n".utf8), truncated: false))
        }
        await supervisor.shutdown()
    }
}
