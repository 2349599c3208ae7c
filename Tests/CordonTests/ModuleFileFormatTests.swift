@testable import Cordon
import CordonAudit
import Foundation
import Testing

/// The one rule that tells a binary module from WebAssembly text (`ModuleFile.format(of:path:)`),
/// on real files: as `ModuleFile.read` applies it, as `Supervisor.load(manifest:path:)` acts on it,
/// and as `cordon run` and `cordon inspect` agree on it.
@Suite struct ModuleFileFormatTests {
    /// Bytes that are not `\0asm` at offset 0 (the magic appears later, where it proves nothing).
    static let garbage: [UInt8] = [0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0xFF, 0x7F, 0x80, 0x00, 0x61, 0x73, 0x6D]

    /// The add fixture after blank lines, a line comment and a nested block comment.
    static let commented = "\n\t  ;; adds two numbers\n(; a block (; nested ;) comment ;)\n" + Fixtures.add + "\n"

    static func files() throws -> [String: [UInt8]] {
        let binary = try Fixtures.wasm(Fixtures.add)
        return ["add.wasm": binary, "binary-named.wat": binary,
                "commented.wat": Array(commented.utf8), "commented": Array(commented.utf8),
                "empty": [], "empty.wat": [], "empty.wasm": [],
                "garbage.wasm": garbage, "garbage.bin": garbage]
    }

    @Test func theMagicMakesABinaryAndEverythingElseIsText() throws {
        let files = try Self.files()
        let dir = try LoadPathTests.directory(files)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The magic decides, whatever the name; without it, leading blanks and comments, a missing
        // extension or bytes no parser would take are all text, for the worker to judge.
        for (file, binary) in [("add.wasm", true), ("binary-named.wat", true), ("commented.wat", false),
                               ("commented", false), ("garbage.bin", false)] {
            let read = try ModuleFile.read(path: dir + "/" + file, policy: Fixtures.policy())
            #expect((read.format == .binary) == binary, "\(file): \(read.format)")
            #expect(read.bytes == files[file], "\(file)")
        }
    }

    @Test func anEmptyFileOrAWasmFileWithoutTheMagicIsAParseError() throws {
        let dir = try LoadPathTests.directory(try Self.files())
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for file in ["empty", "empty.wat", "empty.wasm"] {
            let path = dir + "/" + file
            #expect(throws: CordonError.invalidModule(stage: "parse", message: "\(path) is empty: neither a WebAssembly binary nor WebAssembly text")) {
                _ = try ModuleFile.read(path: path, policy: Fixtures.policy())
            }
        }
        let path = dir + "/garbage.wasm"
        #expect(throws: CordonError.invalidModule(stage: "parse", message: "\(path) is not a WebAssembly binary (no \\0asm magic); use .wat for text")) {
            _ = try ModuleFile.read(path: path, policy: Fixtures.policy())
        }
    }

    /// What the rule refuses never reaches a worker; text that is garbage does, and the worker's WAT
    /// parser refuses it; commented text without an extension loads and answers.
    @Test func loadRefusesBeforeSpawningAndTheWorkerJudgesTheText() async throws {
        let dir = try LoadPathTests.directory(try Self.files())
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let audit = try AuditLogHandle.temporary("module-format")
        defer { audit.remove() }
        let supervisor = try Fixtures.supervisor(audit: audit)
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "commented"), path: dir + "/commented")
        #expect(try await plugin.call("add", [.i32(40), .i32(2)]) == [.i32(42)])
        for (file, stage) in [("empty", "parse"), ("empty.wasm", "parse"), ("garbage.wasm", "parse"), ("garbage.bin", "wat")] {
            do {
                _ = try await supervisor.load(manifest: PluginManifest(name: "bad"), path: dir + "/" + file)
                Issue.record("\(file) loaded")
            } catch {
                guard case .invalidModule(let got, let message) = error else { Issue.record("\(file): \(error)"); continue }
                #expect(got == stage, "\(file): \(got): \(message)")
            }
        }
        await supervisor.shutdown()
        let spawns = PauseTests.auditRecords(try audit.closeAndRead()).filter { $0["type"] as? String == "worker.spawn" }
        #expect(spawns.count == 2, "one worker for the commented text, one for the garbage text: \(spawns)")
    }

    /// `cordon run` (through `Supervisor.load(manifest:path:)`) and `cordon inspect` (which assembles
    /// text itself) take and refuse the same files.
    @Test(.enabled(if: ExamplesSupport.hasCordon, "cordon binary not built: swift build --product cordon"))
    func runAndInspectAgree() async throws {
        let dir = try LoadPathTests.directory(try Self.files())
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // (file, what `run` says, what `inspect` says): nil for a file both take. The garbage is text
        // to both, refused where it is assembled: by the worker for `run`, in-process for `inspect`.
        let cases: [(String, String?, String?)] = [
            ("commented", nil, nil), ("binary-named.wat", nil, nil), ("empty", "is empty", "is empty"),
            ("garbage.wasm", "no \\0asm magic", "no \\0asm magic"), ("garbage.bin", "UTF-8", "UTF-8"),
        ]
        for (file, runSays, inspectSays) in cases {
            let path = dir + "/" + file
            let run = try await ExamplesSupport.cordon(["run", path, "--export", "add", "40", "2"])
            let inspect = try await ExamplesSupport.cordon(["inspect", path])
            if let runSays, let inspectSays {
                #expect(run.status == 65 && run.stderr.contains(runSays), "run \(file): \(run.status) \(run.stderr)")
                #expect(inspect.status == 65 && inspect.stderr.contains(inspectSays), "inspect \(file): \(inspect.status) \(inspect.stderr)")
            } else {
                #expect(run.status == 0 && run.stdout == "42\n", "run \(file): \(run.stderr)")
                #expect(inspect.status == 0 && inspect.stdout.contains("add (i32, i32) -> (i32)"), "inspect \(file): \(inspect.stdout)\(inspect.stderr)")
            }
        }
    }
}
