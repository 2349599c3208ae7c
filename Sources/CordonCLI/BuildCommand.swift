import ArgumentParser
import Foundation
import WAT
#if canImport(Glibc)
import Glibc
#endif

/// `cordon build`: compiles a C, Embedded Swift or WAT plugin to a freestanding wasm32 module.
struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Compile a C, Embedded Swift or WAT plugin to WebAssembly (wasm32, no libc).",
        discussion: """
        C: clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -Wl,--export-dynamic. -I adds include directories; the source's own directory is searched first, then the cordon.h built into this binary, so `#include "cordon.h"` works anywhere.

        Swift: swiftc -target wasm32-unknown-none-wasm -enable-experimental-feature Embedded -enable-experimental-feature Extern -wmo -Osize -parse-as-library -Xfrontend -disable-stack-protector -Xlinker --no-entry -Xlinker --wrap=free -Xclang-linker -nostdlib, plus the PDK (CordonPDK.swift: host-function wrappers and a bump allocator): --pdk, else CordonPDK.swift next to the source, else the PDK built into this binary.

        WAT: assembled in-process (WasmKit's WAT).

        Compilers are looked up in $CORDON_CLANG / $CORDON_SWIFTC, /opt/swift/usr/bin, then PATH.

        \(ExitStatus.table)
        """)

    @Argument(help: "The source: FILE.c, FILE.swift or FILE.wat.")
    var source: String

    @Option(name: .shortAndLong, help: "The output .wasm file.")
    var output: String

    @Option(name: .customShort("I"), help: "An extra include directory for C. Repeatable.")
    var includes: [String] = []

    @Option(help: "The Embedded Swift PDK source (default: CordonPDK.swift next to the source, else the built-in PDK).")
    var pdk: String?

    @Flag(help: "Print the compiler command.")
    var verbose = false

    func validate() throws {
        if !(source.hasSuffix(".c") || source.hasSuffix(".swift") || source.hasSuffix(".wat")) {
            throw ValidationError("the source must be a .c, .swift or .wat file, got '\(source)'")
        }
    }

    func run() async throws {
        try await runReportingFailures {
            guard FileManager.default.fileExists(atPath: source) else {
                throw CLIFailure(ExitStatus.noInput, "error: file not found: \(source)")
            }
            if source.hasSuffix(".wat") { return try assemble() }
            let directory = (source as NSString).deletingLastPathComponent
            let kit = try PluginKit.materialize()
            defer { kit.remove() }
            var command: [String]
            if source.hasSuffix(".c") {
                let clang = try Self.locate("clang", environment: "CORDON_CLANG")
                // The source's directory and -I come first, so a project's own cordon.h wins over the built-in one.
                command = [clang, "--target=wasm32", "-O2", "-nostdlib", "-Wl,--no-entry", "-Wl,--export-dynamic",
                           "-I", directory.isEmpty ? "." : directory] + includes.flatMap { ["-I", $0] }
                    + ["-I", kit.directory, source, "-o", output]
            } else {
                let swiftc = try Self.locate("swiftc", environment: "CORDON_SWIFTC")
                var sources = [source]
                if (source as NSString).lastPathComponent != "CordonPDK.swift" {
                    sources.append(try locatePDK(near: directory, builtIn: kit.swiftPDK))
                }
                command = [swiftc, "-target", "wasm32-unknown-none-wasm",
                           "-enable-experimental-feature", "Embedded", "-enable-experimental-feature", "Extern",
                           "-wmo", "-Osize", "-parse-as-library",
                           // No libc: the stack protector's __stack_chk_guard does not exist.
                           "-Xfrontend", "-disable-stack-protector",
                           // Swift reserves `free` for its runtime: the PDK's allocator defines __wrap_free.
                           "-Xlinker", "--no-entry", "-Xlinker", "--wrap=free", "-Xclang-linker", "-nostdlib"] + sources + ["-o", output]
            }
            if verbose { Terminal.error(command.joined(separator: " ")) }
            let status = try await Terminal.withProgress("compiling \((source as NSString).lastPathComponent)") {
                try Self.execute(command)
            }
            guard status == 0 else {
                throw CLIFailure(ExitStatus.invalidInput, "error: compilation of \(source) failed (compiler exit status \(status))")
            }
            print("built \(output)")
        }
    }

    /// --pdk, else CordonPDK.swift next to the source, else the PDK built into this binary.
    private func locatePDK(near directory: String, builtIn: String) throws(CLIFailure) -> String {
        if let pdk {
            guard FileManager.default.fileExists(atPath: pdk) else { throw CLIFailure(ExitStatus.noInput, "error: file not found: \(pdk)") }
            return pdk
        }
        let local = (directory.isEmpty ? "." : directory) + "/CordonPDK.swift"
        return FileManager.default.fileExists(atPath: local) ? local : builtIn
    }

    /// WAT text → binary module, in this process: the text is the user's own source, not a plugin
    /// someone else sent (`cordon run` of a .wat does the same).
    private func assemble() throws(CLIFailure) {
        let text: String
        do { text = try String(contentsOfFile: source, encoding: .utf8) } catch {
            throw CLIFailure(ExitStatus.noInput, "error: cannot read \(source): \(error)")
        }
        let bytes: [UInt8]
        do { bytes = try wat2wasm(text) } catch {
            throw CLIFailure(ExitStatus.invalidInput, "error: \(source): \(error)")
        }
        guard FileManager.default.createFile(atPath: output, contents: Data(bytes)) else {
            throw CLIFailure(ExitStatus.ioError, "error: cannot write \(output)")
        }
        print("built \(output)")
    }

    /// A compiler from the environment variable, /opt/swift/usr/bin, or PATH.
    static func locate(_ tool: String, environment: String) throws(CLIFailure) -> String {
        let env = ProcessInfo.processInfo.environment
        var candidates: [String] = []
        if let explicit = env[environment] { candidates.append(explicit) }
        candidates.append("/opt/swift/usr/bin/\(tool)")
        for dir in (env["PATH"] ?? "/usr/bin:/bin").split(separator: ":") { candidates.append("\(dir)/\(tool)") }
        guard let found = candidates.first(where: { access($0, X_OK) == 0 }) else {
            throw CLIFailure(ExitStatus.noInput, "error: \(tool) not found (looked in $\(environment), /opt/swift/usr/bin and PATH)")
        }
        return found
    }

    /// Runs the compiler with inherited stdout/stderr so its diagnostics reach the user unchanged.
    static func execute(_ command: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        do { try process.run() } catch {
            throw CLIFailure(ExitStatus.osError, "error: cannot run \(command[0]): \(error)")
        }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
