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

    @Flag(help: "Print one JSON object (fields documented in docs/cli.md) instead of text.")
    var json = false

    func run() async throws {
        try await runReportingFailures { try execute() }
    }

    /// One import as `inspect` reports it.
    struct ImportLine {
        var module: String, name: String, kind: String, type: String?
        /// The capability it needs (nil: none).
        var capability: String?
        var note: String
    }

    private func execute() throws {
        let bytes = try PluginInput.module(at: plugin)
        let module: ModuleSummary
        do { module = try ModuleSummary(bytes: bytes) } catch {
            throw CLIFailure(ExitStatus.invalidInput, "error: invalid plugin: \(plugin): \(error)")
        }
        var capabilities: Set<String> = []
        var wasiCapabilities: Set<String> = []
        var problems: [String] = []
        var lines: [ImportLine] = []
        var wasi: [(name: String, requirement: WasiFunctionTable.Requirement)] = []
        for entry in module.imports {
            let name = "\(entry.module).\(entry.name)"
            guard let type = entry.type else {
                lines.append(ImportLine(module: entry.module, name: entry.name, kind: entry.kind, type: nil, capability: nil,
                                        note: "\(entry.kind) import"))
                problems.append("\(name) is a \(entry.kind) import; Cordon provides only functions")
                continue
            }
            var note: String
            var capability: String?
            if entry.module == WasiFunctionTable.module {
                let requirement = WasiFunctionTable.requirement(of: entry.name)
                wasi.append((entry.name, requirement))
                capability = requirement.capability
                if let capability { wasiCapabilities.insert(capability) }
                note = "WASI: \(requirement.note)"
            } else if entry.module != "env" {
                note = "NOT PROVIDED (Cordon provides only modules env and \(WasiFunctionTable.module))"
                problems.append("\(name): unknown import module")
            } else if let known = HostFunctionTable.entries[entry.name] {
                note = known.capability.map { "needs \($0)" } ?? "always allowed"
                capability = known.capability
                if let capability = known.capability { capabilities.insert(capability) }
            } else {
                note = "custom host function: needs custom:\(entry.name), and the application must register it"
                capability = "custom:\(entry.name)"
                capabilities.insert("custom:\(entry.name)")
            }
            if entry.module == "env",
               !HostFunctionTable.accepts(entry.name, parameters: type.parameters.map { "\($0)" }, results: type.results.map { "\($0)" }) {
                let expected = HostFunctionTable.entries[entry.name]?.signature ?? "(in_ptr, in_len, out_ptr, out_cap: i32) -> i32"
                note += "; WRONG SIGNATURE, expected \(expected)"
                problems.append("\(name) is declared \(Self.format(type)); Cordon expects \(expected)")
            }
            lines.append(ImportLine(module: entry.module, name: entry.name, kind: "function", type: Self.format(type),
                                    capability: capability, note: note))
        }
        let bytesConvention = module.exports.contains { $0.name == "cordon_alloc" && $0.type != nil }
        let exportsMemory = module.exports.contains { $0.name == "memory" && $0.kind == "memory" }
        if json {
            printJSON(size: bytes.count, module: module, imports: lines, wasi: wasi, capabilities: capabilities,
                      wasiCapabilities: wasiCapabilities, bytesConvention: bytesConvention, exportsMemory: exportsMemory,
                      problems: problems)
            return
        }
        print("plugin: \(plugin) (\(bytes.count) bytes)")
        print("imports:")
        if lines.isEmpty { print("  (none)") }
        for line in lines {
            if let type = line.type {
                print("  \(line.module).\(line.name) \(type)  [\(line.note)]")
            } else {
                print("  \(line.module).\(line.name): \(line.kind)")
            }
        }
        if !wasi.isEmpty {
            print("wasi (\(WasiFunctionTable.module)):")
            for function in wasi.sorted(by: { $0.name < $1.name }) {
                print("  \(function.name): \(function.requirement.note)")
            }
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
        if !exportsMemory {
            print("  note: no exported 'memory': host functions that pass (ptr, len) will return -3 (invalid argument)")
        }
        print("bytes convention: \(bytesConvention ? "yes (exports cordon_alloc)" : "no (no cordon_alloc export)")")
        print("capabilities needed: \(capabilities.isEmpty ? "(none)" : capabilities.sorted().joined(separator: ", "))")
        if !wasi.isEmpty {
            print("wasi capabilities needed: \(wasiCapabilities.isEmpty ? "(none)" : wasiCapabilities.sorted().joined(separator: ", "))")
        }
        for problem in problems { print("warning: \(problem); loading will fail at link") }
    }

    /// The `--json` form: one object, keys in this fixed order (docs/cli.md documents each).
    private func printJSON(size: Int, module: ModuleSummary, imports: [ImportLine],
                           wasi: [(name: String, requirement: WasiFunctionTable.Requirement)],
                           capabilities: Set<String>, wasiCapabilities: Set<String>, bytesConvention: Bool,
                           exportsMemory: Bool, problems: [String]) {
        let q = PluginInput.jsonString
        func optional(_ text: String?) -> String { text.map(q) ?? "null" }
        func list(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }
        let importItems = imports.map { line in
            "{\"module\":\(q(line.module)),\"name\":\(q(line.name)),\"kind\":\(q(line.kind)),\"type\":\(optional(line.type)),"
                + "\"capability\":\(optional(line.capability))}"
        }
        let wasiItems = wasi.sorted { $0.name < $1.name }.map { function in
            "{\"name\":\(q(function.name)),\"requirement\":\(q(function.requirement.jsonName)),"
                + "\"capability\":\(optional(function.requirement.capability))}"
        }
        let exportItems = module.exports.map { export in
            "{\"name\":\(q(export.name)),\"kind\":\(q(export.kind)),\"type\":\(optional(export.type.map(Self.format)))}"
        }
        let memoryItems = module.memories.map { memory in
            "{\"min_pages\":\(memory.limits.min),\"max_pages\":\(memory.limits.max.map { "\($0)" } ?? "null"),"
                + "\"imported\":\(memory.imported),\"exported\":\(memory.exported)}"
        }
        let fields = [
            "\"plugin\":\(q(plugin))",
            "\"bytes\":\(size)",
            "\"imports\":\(list(importItems))",
            "\"wasi\":\(list(wasiItems))",
            "\"exports\":\(list(exportItems))",
            "\"memories\":\(list(memoryItems))",
            "\"exports_memory\":\(exportsMemory)",
            "\"bytes_convention\":\(bytesConvention)",
            "\"capabilities\":\(list(capabilities.sorted().map(q)))",
            "\"wasi_capabilities\":\(list(wasiCapabilities.sorted().map(q)))",
            "\"warnings\":\(list(problems.map { q($0 + "; loading will fail at link") }))",
        ]
        print("{" + fields.joined(separator: ",") + "}")
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
