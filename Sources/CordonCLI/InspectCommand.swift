import ArgumentParser
import Foundation
import WasmParser
import WasmTypes

/// `cordon inspect`: what a module imports and exports, and the capabilities it would need. Parses
/// only; the module is never instantiated in the CLI process.
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a plugin's imports, exports, memory and needed capabilities (parses only, never runs it).",
        discussion: ExitStatus.table)

    @Argument(help: "The plugin: a .wasm or .wat file.")
    var plugin: String

    func run() async throws {
        try await runReportingFailures { try execute() }
    }

    private func execute() throws {
        let bytes = try PluginInput.module(at: plugin)
        let module: ModuleSummary
        do { module = try ModuleSummary(bytes: bytes) } catch {
            throw CLIFailure(ExitStatus.invalidInput, "error: invalid plugin: \(plugin): \(error)")
        }
        print("plugin: \(plugin) (\(bytes.count) bytes)")
        print("imports:")
        if module.imports.isEmpty { print("  (none)") }
        var capabilities: Set<String> = []
        var problems: [String] = []
        for entry in module.imports {
            let name = "\(entry.module).\(entry.name)"
            guard let type = entry.type else {
                print("  \(name): \(entry.kind)")
                problems.append("\(name) is a \(entry.kind) import; Cordon provides only functions")
                continue
            }
            var note: String
            if entry.module != "env" {
                note = "NOT PROVIDED (Cordon provides only module env)"
                problems.append("\(name): unknown import module")
            } else if let known = HostFunctionTable.entries[entry.name] {
                note = known.capability.map { "needs \($0)" } ?? "always allowed"
                if let capability = known.capability { capabilities.insert(capability) }
            } else {
                note = "custom host function: needs custom:\(entry.name), and the application must register it"
                capabilities.insert("custom:\(entry.name)")
            }
            if entry.module == "env",
               !HostFunctionTable.accepts(entry.name, parameters: type.parameters.map { "\($0)" }, results: type.results.map { "\($0)" }) {
                let expected = HostFunctionTable.entries[entry.name]?.signature ?? "(in_ptr, in_len, out_ptr, out_cap: i32) -> i32"
                note += "; WRONG SIGNATURE, expected \(expected)"
                problems.append("\(name) is declared \(Self.format(type)); Cordon expects \(expected)")
            }
            print("  \(name) \(Self.format(type))  [\(note)]")
        }
        print("exports:")
        if module.exports.isEmpty { print("  (none)") }
        for export in module.exports {
            if let type = export.type {
                print("  \(export.name) \(Self.format(type))")
            } else {
                print("  \(export.name): \(export.kind)")
            }
        }
        print("memory:")
        if module.memories.isEmpty { print("  (none)") }
        for memory in module.memories {
            let max = memory.limits.max.map { "\($0) pages" } ?? "unbounded"
            print("  \(memory.exported ? "exported" : "internal")\(memory.imported ? " imported" : ""): min \(memory.limits.min) pages (\(memory.limits.min * 64) KiB), max \(max)")
        }
        if !module.exports.contains(where: { $0.name == "memory" && $0.kind == "memory" }) {
            print("  note: no exported 'memory': host functions that pass (ptr, len) will return -3 (invalid argument)")
        }
        let bytesConvention = module.exports.contains { $0.name == "cordon_alloc" && $0.type != nil }
        print("bytes convention: \(bytesConvention ? "yes (exports cordon_alloc)" : "no (no cordon_alloc export)")")
        print("capabilities needed: \(capabilities.isEmpty ? "(none)" : capabilities.sorted().joined(separator: ", "))")
        for problem in problems { print("warning: \(problem); loading will fail at link") }
    }

    static func format(_ type: FunctionType) -> String {
        let params = type.parameters.map { "\($0)" }.joined(separator: ", ")
        let results = type.results.map { "\($0)" }.joined(separator: ", ")
        return "(\(params)) -> (\(results))"
    }
}

/// The parts of a module `inspect` shows, read section by section with WasmParser.
struct ModuleSummary {
    /// One import; `type` is set for function imports.
    struct ImportEntry { var module: String, name: String, kind: String, type: FunctionType? }
    /// One export; `type` is set for function exports.
    struct ExportEntry { var name: String, kind: String, type: FunctionType? }
    /// One memory, defined or imported, and whether it is exported.
    struct MemoryEntry { var limits: Limits, imported: Bool, exported: Bool }

    var imports: [ImportEntry] = []
    var exports: [ExportEntry] = []
    var memories: [MemoryEntry] = []

    init(bytes: [UInt8]) throws {
        var parser = Parser(bytes: bytes)
        var types: [FunctionType?] = []
        var functionTypes: [FunctionType?] = []   // by function index: imports first, then definitions
        var rawExports: [Export] = []
        while let payload = try parser.parseNext() {
            switch payload {
            case .typeSection(let groups):
                for group in groups {
                    for sub in group.types {
                        if case .function(let f) = sub.body { types.append(f) } else { types.append(nil) }
                    }
                }
            case .importSection(let list):
                for entry in list {
                    switch entry.descriptor {
                    case .function(let index):
                        let type = Int(index) < types.count ? types[Int(index)] : nil
                        functionTypes.append(type)
                        imports.append(ImportEntry(module: entry.module, name: entry.name, kind: "function", type: type))
                    case .memory(let limits):
                        memories.append(MemoryEntry(limits: limits, imported: true, exported: false))
                        imports.append(ImportEntry(module: entry.module, name: entry.name, kind: "memory", type: nil))
                    case .table:
                        imports.append(ImportEntry(module: entry.module, name: entry.name, kind: "table", type: nil))
                    case .global:
                        imports.append(ImportEntry(module: entry.module, name: entry.name, kind: "global", type: nil))
                    default:
                        imports.append(ImportEntry(module: entry.module, name: entry.name, kind: "other", type: nil))
                    }
                }
            case .functionSection(let indices):
                for index in indices { functionTypes.append(Int(index) < types.count ? types[Int(index)] : nil) }
            case .memorySection(let list):
                for memory in list { memories.append(MemoryEntry(limits: memory.type, imported: false, exported: false)) }
            case .exportSection(let list):
                rawExports = list
            default:
                break
            }
        }
        for export in rawExports {
            switch export.descriptor {
            case .function(let index):
                exports.append(ExportEntry(name: export.name, kind: "function",
                                           type: Int(index) < functionTypes.count ? functionTypes[Int(index)] : nil))
            case .memory(let index):
                if Int(index) < memories.count { memories[Int(index)].exported = true }
                exports.append(ExportEntry(name: export.name, kind: "memory", type: nil))
            case .table:
                exports.append(ExportEntry(name: export.name, kind: "table", type: nil))
            case .global:
                exports.append(ExportEntry(name: export.name, kind: "global", type: nil))
            default:
                exports.append(ExportEntry(name: export.name, kind: "other", type: nil))
            }
        }
        exports.sort { $0.name < $1.name }
    }
}
