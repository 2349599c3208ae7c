import Cordon
import CordonAudit
import Foundation
import Testing

/// `Supervisor.load(manifest:path:…)`: a binary or a WebAssembly text file, the text assembled by
/// the confined worker, never by the supervisor.
@Suite struct LoadPathTests {
    /// A fresh directory holding `files` (name → bytes); the caller removes it.
    static func directory(_ files: [String: [UInt8]]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cordon-load-path-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (name, bytes) in files { try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + name)) }
        return dir
    }

    @Test func aTextFileAndABinaryFileLoadAndAnswerCalls() async throws {
        let dir = try Self.directory(["add.wat": Array(Fixtures.add.utf8), "add.wasm": try Fixtures.wasm(Fixtures.add),
                                      // No extension: text, by its content (it does not start with \0asm).
                                      "add-text": Array(Fixtures.add.utf8)])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let supervisor = try Fixtures.supervisor()
        for (name, file) in [("text", "add.wat"), ("binary", "add.wasm"), ("sniffed", "add-text")] {
            let plugin = try await supervisor.load(manifest: PluginManifest(name: name), path: dir + "/" + file)
            #expect(try await plugin.call("add", [.i32(40), .i32(2)]) == [.i32(42)], "\(file)")
            #expect(await plugin.exports().map(\.name) == ["add"], "\(file)")
        }
        await supervisor.shutdown()
    }

    @Test func malformedTextIsAWatStageErrorFromTheWorker() async throws {
        let dir = try Self.directory(["bad.wat": Array("(module (func (export \"f\") (result i32) i32.bogus))".utf8),
                                      "latin1.wat": [0x28, 0x6D, 0x6F, 0x64, 0x75, 0x6C, 0x65, 0xFF, 0x29]])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let audit = try AuditLogHandle.temporary("load-path-bad")
        defer { audit.remove() }
        let supervisor = try Fixtures.supervisor(audit: audit)
        for (file, expected) in [("bad.wat", "bogus"), ("latin1.wat", "UTF-8")] {
            do {
                _ = try await supervisor.load(manifest: PluginManifest(name: "bad"), path: dir + "/" + file)
                Issue.record("\(file) loaded")
            } catch {
                guard case .invalidModule(let stage, let message) = error else { Issue.record("\(file): \(error)"); continue }
                #expect(stage == "wat" && message.contains(expected), "\(file): \(stage): \(message)")
            }
        }
        // Rejected by the worker (it spawned, then reported), not refused by a parser in this process.
        await supervisor.shutdown()
        let records = PauseTests.auditRecords(try audit.closeAndRead())
        #expect(records.filter { $0["type"] as? String == "worker.spawn" }.count == 2)
        #expect(!records.contains { $0["type"] as? String == "protocol.violation" })
    }

    @Test func aMissingFileNamesThePath() async throws {
        let supervisor = try Fixtures.supervisor()
        let path = "/nonexistent-\(UUID()).wat"
        await #expect(throws: CordonError.fileNotFound(path: path)) {
            _ = try await supervisor.load(manifest: PluginManifest(name: "missing"), path: path)
        }
        await #expect(throws: CordonError.unreadableFile(path: "/", errno: EISDIR)) {
            _ = try await supervisor.load(manifest: PluginManifest(name: "directory"), path: "/")
        }
        await supervisor.shutdown()
    }

    @Test func textOverTheModuleLimitIsRefusedBeforeAnyWorkerSpawns() async throws {
        var policy = Fixtures.policy()
        policy.wasm.maxModuleBytes = 1024
        // Valid text, padded with a comment past the limit: only its size is wrong.
        let text = Array(Fixtures.add.utf8) + Array((";; " + String(repeating: "x", count: 2000) + "\n").utf8)
        let dir = try Self.directory(["big.wat": text])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let audit = try AuditLogHandle.temporary("load-path-size")
        defer { audit.remove() }
        let supervisor = try Fixtures.supervisor(audit: audit)
        do {
            _ = try await supervisor.load(manifest: PluginManifest(name: "big"), path: dir + "/big.wat", policy: policy)
            Issue.record("an oversized text loaded")
        } catch {
            guard case .invalidModule(let stage, let message) = error else { Issue.record("\(error)"); return }
            #expect(stage == "size" && message.contains("\(text.count) bytes"), "\(message)")
        }
        await supervisor.shutdown()
        let types = PauseTests.auditRecords(try audit.closeAndRead()).compactMap { $0["type"] as? String }
        #expect(!types.contains("worker.spawn") && !types.contains("plugin.load"), "\(types)")
    }
}
