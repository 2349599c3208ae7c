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
        C: clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -Wl,--export-dynamic. With --wasi: clang --target=wasm32-wasi --sysroot=/usr -resource-dir <llvm clang dir> -O2, linking wasi-libc into a WASI command module (Debian packages wasi-libc and libclang-rt-dev-wasm32). -I adds include directories; the source's own directory is searched first, then the cordon.h built into this binary, so `#include "cordon.h"` works anywhere.

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

    @Flag(help: "C only: link wasi-libc (a WASI command module importing wasi_snapshot_preview1).")
    var wasi = false

    @Flag(help: "Print the compiler command.")
    var verbose = false

    func validate() throws {
        if !(source.hasSuffix(".c") || source.hasSuffix(".swift") || source.hasSuffix(".wat")) {
            throw ValidationError("the source must be a .c, .swift or .wat file, got '\(source)'")
        }
        if wasi, !source.hasSuffix(".c") {
            throw ValidationError("--wasi builds C sources only, got '\(source)'")
        }
    }

    /// Where Debian's wasi-libc puts the wasm32-wasi sysroot's libraries (the sysroot itself is /usr).
    static let wasiLibraries = "/usr/lib/wasm32-wasi"

    /// The clang resource directory holding the wasm32 compiler runtime
    /// (`lib/wasi/libclang_rt.builtins-wasm32.a`, from libclang-rt-dev-wasm32), or nil when none is installed.
    static func wasiResourceDirectory() -> String? {
        let llvm = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib")) ?? []
        var found: [String] = []
        for root in llvm where root.hasPrefix("llvm-") {
            let clang = "/usr/lib/\(root)/lib/clang"
            for version in (try? FileManager.default.contentsOfDirectory(atPath: clang)) ?? [] {
                let directory = "\(clang)/\(version)"
                if FileManager.default.fileExists(atPath: "\(directory)/lib/wasi/libclang_rt.builtins-wasm32.a") {
                    found.append(directory)
                }
            }
        }
        // The newest runtime when several LLVM versions are installed.
        return found.sorted { $0.compare($1, options: .numeric) == .orderedAscending }.last
    }

    /// The clang command for a WASI build, or the packages that are missing for one.
    private func wasiCommand(clang: String, directory: String) throws(CLIFailure) -> [String] {
        var missing: [String] = []
        if !FileManager.default.fileExists(atPath: Self.wasiLibraries + "/libc.a") { missing.append("wasi-libc") }
        let resource = Self.wasiResourceDirectory()
        if resource == nil { missing.append("libclang-rt-dev-wasm32") }
        guard let resource, missing.isEmpty else {
            throw CLIFailure(ExitStatus.noInput, "error: --wasi needs the Debian package\(missing.count > 1 ? "s" : "") \(missing.joined(separator: " and ")) "
                + "(\(Self.wasiLibraries)/libc.a and lib/wasi/libclang_rt.builtins-wasm32.a under /usr/lib/llvm-*/lib/clang/*); "
                + "install with: apt-get install \(missing.joined(separator: " ")) (or make deps)")
        }
        return [clang, "--target=wasm32-wasi", "--sysroot=/usr", "-resource-dir", resource, "-O2",
                "-I", directory.isEmpty ? "." : directory] + includes.flatMap { ["-I", $0] } + [source, "-o", output]
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
            if wasi {
                command = try wasiCommand(clang: try Self.locate("clang", environment: "CORDON_CLANG"), directory: directory)
            } else if source.hasSuffix(".c") {
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
