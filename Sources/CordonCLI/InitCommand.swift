import ArgumentParser
import Foundation

/// `cordon init`: writes a small plugin project that the two commands it prints build and run.
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a plugin project (C, Embedded Swift or WAT) that builds and runs as it is.",
        discussion: """
        Writes NAME/NAME.c, NAME/NAME.swift or NAME/NAME.wat: an export `greet` that reads the configuration value `name` (capability read_config), logs a greeting and returns its length. Then prints the two commands that build and run it. The C header and the Embedded Swift PDK come from the cordon binary itself, so the project needs nothing else.

        \(ExitStatus.table)
        """)

    enum Language: String, ExpressibleByArgument, CaseIterable {
        case c, swift, wat
        var fileExtension: String { rawValue }
    }

    @Option(name: .long, help: "The plugin's language: c, swift or wat.")
    var lang: Language

    @Argument(help: "The project's name: a new directory of that name is created (letters, digits, - and _).")
    var name: String

    func validate() throws {
        let base = (name as NSString).lastPathComponent
        guard !base.isEmpty, base.utf8.count <= 64,
              base.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_") }),
              base.first != "-" else {
            throw ValidationError("the project name must be 1–64 letters, digits, '-' or '_' (not starting with '-'), got '\(base)'")
        }
    }

    func run() async throws {
        try await runReportingFailures {
            let base = (name as NSString).lastPathComponent
            let fileManager = FileManager.default
            guard !fileManager.fileExists(atPath: name) else {
                throw CLIFailure(ExitStatus.invalidInput, "error: \(name) already exists; choose another name or remove it")
            }
            guard mkdir(name, 0o755) == 0 else {
                throw CLIFailure(ExitStatus.ioError, "error: cannot create \(name): \(String(cString: strerror(errno)))")
            }
            let source = "\(name)/\(base).\(lang.fileExtension)"
            let module = "\(name)/\(base).wasm"
            let build = "cordon build \(source) -o \(module)"
            let run = "cordon run \(module) --export greet --grant read_config --config name=World"
            let text = Self.template(lang, name: base, build: build, run: run)
            guard fileManager.createFile(atPath: source, contents: Data(text.utf8)) else {
                throw CLIFailure(ExitStatus.ioError, "error: cannot write \(source)")
            }
            print("created \(source)")
            print("next:")
            print("  \(build)")
            print("  \(run)")
        }
    }

    /// The project's one source file. Each prints "[NAME] info: hello, World" and returns 12.
    static func template(_ language: Language, name: String, build: String, run: String) -> String {
        switch language {
        case .c:
            return """
            /* \(name): a Cordon plugin in C (docs/plugins.md).
             *   \(build)
             *   \(run)
             * stderr: [\(name)] info: hello, World     stdout: 12
             */
            #include "cordon.h"

            static char value[256];
            static char message[300];

            /* greet() -> length of the greeting; reads configuration "name" (needs read_config). */
            CORDON_EXPORT("greet") int32_t greet(void) {
                int32_t n = cordon_config("name", value, (int32_t)sizeof value);
                if (n == CORDON_E_NOT_FOUND) { value[0] = 'y'; value[1] = 'o'; value[2] = 'u'; n = 3; }
                else if (n < 0) return n;                       /* -2: read_config was not granted */
                else if (n > (int32_t)sizeof value) return CORDON_E_TOO_LARGE;
                const char *hello = "hello, ";
                int32_t length = 0;
                for (int32_t i = 0; hello[i]; i++) message[length++] = hello[i];
                for (int32_t i = 0; i < n; i++) message[length++] = value[i];
                host_log(CORDON_INFO, message, length);
                return length;
            }

            """
        case .swift:
            return """
            // \(name): a Cordon plugin in Embedded Swift (docs/plugins.md).
            //   \(build)
            //   \(run)
            // stderr: [\(name)] info: hello, World     stdout: 12

            /// greet() -> length of the greeting; reads configuration "name" (needs read_config).
            @_expose(wasm, "greet")
            @_cdecl("greet")
            func greet() -> Int32 {
                let name: String
                do { name = try Cordon.config("name") ?? "you" } catch { return error.rawValue }
                let message = "hello, " + name
                Cordon.log(.info, message)
                return Int32(message.utf8.count)
            }

            """
        case .wat:
            return """
            ;; \(name): a Cordon plugin in WebAssembly text (docs/abi.md).
            ;;   \(build)
            ;;   \(run)
            ;; stderr: [\(name)] info: hello, World     stdout: 12
            (module
              (import "env" "host_log" (func $log (param i32 i32 i32) (result i32)))
              (import "env" "host_get_config" (func $config (param i32 i32 i32 i32) (result i32)))
              (memory (export "memory") 1)
              (data (i32.const 0) "name")
              (data (i32.const 16) "hello, ")
              ;; greet() -> length of the greeting; reads configuration "name" (needs read_config).
              (func (export "greet") (result i32)
                (local $n i32)
                ;; the value lands right after "hello, " (16 + 7), at most 256 bytes
                (local.set $n (call $config (i32.const 0) (i32.const 4) (i32.const 23) (i32.const 256)))
                (if (i32.lt_s (local.get $n) (i32.const 0)) (then (return (local.get $n))))
                (if (i32.gt_s (local.get $n) (i32.const 256)) (then (return (i32.const -5))))
                (drop (call $log (i32.const 2) (i32.const 16) (i32.add (i32.const 7) (local.get $n))))
                (i32.add (i32.const 7) (local.get $n))))

            """
        }
    }
}
