import Foundation
import Testing
import WasmParser

/// `cordon build --wasi` links wasi-libc into a WASI command module, and `cordon inspect` names the
/// WASI functions it imports with the capability each needs. The module is only parsed here.
@Suite struct WasiBuildTests {
    static let hello = """
    #include <stdio.h>
    int main(void) { printf("hello from wasi-libc\\n"); return 0; }
    """

    /// The import names of module `wasi_snapshot_preview1`, read with WasmParser.
    static func wasiImports(_ bytes: [UInt8]) throws -> Set<String> {
        var parser = Parser(bytes: bytes)
        var names: Set<String> = []
        while let payload = try parser.parseNext() {
            if case .importSection(let imports) = payload {
                for entry in imports where entry.module == "wasi_snapshot_preview1" { names.insert(entry.name) }
            }
        }
        return names
    }

    @Test func buildsAHelloWorldAgainstWasiLibcAndInspectsIt() async throws {
        let directory = try ExamplesSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = directory + "/hello.c", output = directory + "/hello.wasm"
        try Self.hello.write(toFile: source, atomically: true, encoding: .utf8)
        let built = try await ExamplesSupport.cordon(["build", "--wasi", source, "-o", output])
        #expect(built.status == 0, "\(built.stderr)")
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: output)))
        let imports = try Self.wasiImports(bytes)
        #expect(imports.contains("fd_write"), "\(imports)")
        #expect(imports.contains("proc_exit"), "\(imports)")

        let text = try await ExamplesSupport.cordon(["inspect", output])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("wasi (wasi_snapshot_preview1):"))
        #expect(text.stdout.contains("  fd_write: none on stdio; filesystem (when a directory is granted) on other descriptors"))
        #expect(text.stdout.contains("  proc_exit: no capability"))

        let json = try await ExamplesSupport.cordon(["inspect", "--json", output])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let wasi = try #require(object["wasi"] as? [[String: Any]])
        let byName = Dictionary(uniqueKeysWithValues: wasi.compactMap { entry in (entry["name"] as? String).map { ($0, entry) } })
        #expect(Set(byName.keys) == imports)
        #expect(byName["fd_write"]?["requirement"] as? String == "filesystem_beyond_stdio")
        #expect(byName["fd_write"]?["capability"] as? String == "filesystem (when a directory is granted)")
        #expect(byName["proc_exit"]?["requirement"] as? String == "none")
        #expect(byName["proc_exit"]?["capability"] is NSNull)
        #expect(object["wasi_capabilities"] as? [String] == ["filesystem (when a directory is granted)"])
        #expect(object["bytes"] as? Int == bytes.count)
    }

    /// A path_* import needs the filesystem capability whatever the descriptor; clocks need nothing.
    @Test func inspectNamesTheCapabilityOfEachWasiImport() async throws {
        let directory = try ExamplesSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/imports.wat"
        try """
        (module
          (import "wasi_snapshot_preview1" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))
          (import "env" "host_log" (func (param i32 i32 i32) (result i32))))
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let json = try await ExamplesSupport.cordon(["inspect", "--json", path])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let wasi = try #require(object["wasi"] as? [[String: Any]])
        #expect(wasi.map { $0["name"] as? String } == ["clock_time_get", "path_open"])
        #expect(wasi.map { $0["requirement"] as? String } == ["none", "filesystem"])
        #expect(object["capabilities"] as? [String] == [])
        #expect((object["imports"] as? [[String: Any]])?.count == 3)
        #expect((object["warnings"] as? [String])?.isEmpty == true)
    }
}
