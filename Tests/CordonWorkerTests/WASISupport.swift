// Shared pieces of the WASI tests: an in-process transport that plays the supervisor's broker, a
// module that wraps every WASI function in an export of the same type, and the wasi-libc toolchain.
import CordonChannel
@testable import CordonWorkerRuntime
import Foundation
import WAT

/// Answers brokered calls with a closure and records every request and output chunk, in order.
final class Broker: HostCallTransport {
    enum Event: Equatable { case request(HostCallRequest), output(OutputChunk) }
    var events: [Event] = []
    var answer: (HostCallRequest) -> (status: Int64, data: [UInt8]) = { _ in (0, []) }

    var requests: [HostCallRequest] { events.compactMap { if case .request(let r) = $0 { r } else { nil } } }
    var outputs: [OutputChunk] { events.compactMap { if case .output(let o) = $0 { o } else { nil } } }

    func perform(_ request: HostCallRequest) throws -> HostCallReply {
        events.append(.request(request))
        let (status, data) = answer(request)
        return HostCallReply(id: request.id, status: status, data: data)
    }

    func emit(_ output: OutputChunk) throws { events.append(.output(output)) }

    /// Everything sent on `stream`, concatenated.
    func text(_ stream: CordonChannel.OutputStream) -> String {
        String(decoding: outputs.filter { $0.stream == stream }.flatMap(\.data), as: UTF8.self)
    }
}

enum WASIModules {
    static let limits = WasmLimits(maxMemoryPages: 64, maxTableElements: 64, maxFuelPerCall: 0,
                                   maxReentryDepth: 4, maxHostCallBytes: 1024, maxCallDepth: 10_000)

    /// Memory fixtures of the `all` module.
    static let path = 0x100, newPath = 0x200, iovecs = 0x300, scratch = 0x800, result = 0x900
    static let pathText = "dir/file.txt", newPathText = "new/name"

    /// A module importing every WASI function and exporting each as `call_<name>` with the same
    /// type, plus `load8` / `load32` / `load64` to read memory back, and `extra` functions.
    static func all(imports moreImports: String = "", extra: String = "") -> String {
        var imports = "", exports = ""
        for function in WASIFunction.allCases {
            let type = function.type
            let params = type.parameters.map { "\($0)" }.joined(separator: " ")
            let results = type.results.map { "\($0)" }.joined(separator: " ")
            let signature = "(param \(params))" + (results.isEmpty ? "" : " (result \(results))")
            imports += "  (import \"wasi_snapshot_preview1\" \"\(function.name)\" (func $\(function.name) \(signature)))\n"
            let gets = type.parameters.indices.map { "(local.get \($0))" }.joined(separator: " ")
            exports += "  (func (export \"call_\(function.name)\") \(signature) (call $\(function.name) \(gets)))\n"
        }
        return """
        (module
        \(imports)
        \(moreImports)
          (memory (export "memory") 1)
          (data (i32.const 256) "\(pathText)")
          (data (i32.const 512) "\(newPathText)")
          ;; two iovecs: (1024, 5) and (1040, 3)
          (data (i32.const 768) "\\00\\04\\00\\00\\05\\00\\00\\00\\10\\04\\00\\00\\03\\00\\00\\00")
          (data (i32.const 1024) "hello")
          (data (i32.const 1040) "abc")
        \(exports)
          (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
          (func (export "load32") (param i32) (result i32) (i32.load (local.get 0)))
          (func (export "load64") (param i32) (result i64) (i64.load (local.get 0)))
          (func (export "store32") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
        \(extra)
        )
        """
    }

    static func load(_ wat: String, wasi: WASIBootstrap = WASIBootstrap(), transport: HostCallTransport,
                     limits: WasmLimits = WASIModules.limits) throws -> PluginRuntime {
        try load(wasm: try wat2wasm(wat), wasi: wasi, transport: transport, limits: limits)
    }

    static func load(wasm: [UInt8], wasi: WASIBootstrap = WASIBootstrap(), transport: HostCallTransport,
                     limits: WasmLimits = WASIModules.limits) throws -> PluginRuntime {
        try PluginRuntime.load(Bootstrap(moduleLength: UInt64(wasm.count), limits: limits, customFunctions: [], wasi: wasi),
                               module: wasm, transport: transport).get()
    }

    static func failure(_ wat: String) throws -> LoadFailure? {
        final class Unused: HostCallTransport {
            func perform(_ request: HostCallRequest) throws -> HostCallReply { HostCallReply(id: request.id, status: 0, data: []) }
            func emit(_ output: OutputChunk) throws {}
        }
        let module = try wat2wasm(wat)
        let bootstrap = Bootstrap(moduleLength: UInt64(module.count), limits: limits, customFunctions: [])
        if case .failure(let failure) = PluginRuntime.load(bootstrap, module: module, transport: Unused()) { return failure }
        return nil
    }
}

extension PluginRuntime {
    /// Calls `export` with i32/i64 arguments (Int values become i32 unless wrapped in `.i64`).
    func run(_ export: String, _ arguments: [WasmValue] = [], stdin: [UInt8] = []) -> CallOutcome {
        call(CallRequest(id: 7, export: export, arguments: arguments, fuel: 0, stdin: stdin))
    }

    /// The errno a `call_<name>` export returned, or nil for anything but one i32.
    func errno(_ function: String, _ arguments: [WasmValue], stdin: [UInt8] = []) -> UInt32? {
        guard case .values(let values) = run("call_" + function, arguments, stdin: stdin).result,
              values.count == 1, case .i32(let errno) = values[0] else { return nil }
        return errno
    }

    func u32(at address: Int) -> UInt32? {
        guard case .values(let v) = run("load32", [.i32(UInt32(address))]).result, case .i32(let x) = v.first else { return nil }
        return x
    }

    func u64(at address: Int) -> UInt64? {
        guard case .values(let v) = run("load64", [.i32(UInt32(address))]).result, case .i64(let x) = v.first else { return nil }
        return x
    }

    func bytes(at address: Int, count: Int) -> [UInt8] {
        (0..<count).compactMap { i in
            guard case .values(let v) = run("load8", [.i32(UInt32(address + i))]).result, case .i32(let x) = v.first else { return nil }
            return UInt8(truncatingIfNeeded: x)
        }
    }
}

/// i32 and i64 arguments for calls.
func i32(_ v: Int) -> WasmValue { .i32(UInt32(truncatingIfNeeded: v)) }
func i64(_ v: Int64) -> WasmValue { .i64(UInt64(bitPattern: v)) }

/// wasi-libc C programs compiled with the toolchain's clang, when it and wasi-libc are installed.
enum WASIToolchain {
    static let clang = "/opt/swift/usr/bin/clang"
    static let resourceDirectory = "/usr/lib/llvm-14/lib/clang/14.0.6"
    static let sysrootMarker = "/usr/lib/wasm32-wasi/libc.a"

    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: clang) && FileManager.default.fileExists(atPath: sysrootMarker)
            && FileManager.default.fileExists(atPath: resourceDirectory + "/lib/wasi")
    }

    struct CompileError: Error, CustomStringConvertible {
        var description: String
    }

    /// Compiles one C file to a WASI command module.
    static func compile(_ source: String) throws -> [UInt8] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cordon-wasi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("p.c"), output = directory.appendingPathComponent("p.wasm")
        try source.write(to: input, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: clang)
        process.arguments = ["--target=wasm32-wasi", "--sysroot=/usr", "-resource-dir", resourceDirectory, "-O2",
                             input.path, "-o", output.path]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let diagnostics = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CompileError(description: "clang failed (\(process.terminationStatus)): \(String(decoding: diagnostics, as: UTF8.self))")
        }
        return Array(try Data(contentsOf: output))
    }
}
