import Cordon
import CordonAudit
import Foundation
import WAT

/// Reading plugin files and turning command-line words into typed WebAssembly values.
enum PluginInput {
    /// The module bytes of a binary file, or of a text file compiled in-process (the WAT compiler
    /// only parses text; no guest code runs in the CLI process). Binary or text is decided by the
    /// rule `cordon run` loads by (`ModuleFile.format(of:path:)`), so the two commands agree.
    static func module(at path: String) throws(CLIFailure) -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIFailure(ExitStatus.noInput, "error: file not found: \(path)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIFailure(ExitStatus.noInput, "error: cannot read \(path)")
        }
        let bytes = [UInt8](data)
        do throws(CordonError) {
            if try ModuleFile.format(of: bytes, path: path) == .binary { return bytes }
        } catch {
            throw CLIFailure(error)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CLIFailure(ExitStatus.invalidInput, "error: invalid plugin: \(path) is not UTF-8 text")
        }
        do { return try wat2wasm(text) } catch {
            throw CLIFailure(ExitStatus.invalidInput, "error: invalid plugin: \(path): WAT: \(error)")
        }
    }

    /// The plugin name for a synthesized manifest: the file name without its extension.
    static func stem(of path: String) -> String {
        let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        return name.isEmpty ? "plugin" : String(name.prefix(128))
    }

    /// Parses `words` as the arguments of `signature`; count or type mismatches are usage errors.
    static func arguments(_ words: [String], for signature: ExportedFunction) throws(CLIFailure) -> [WasmValue] {
        guard words.count == signature.parameters.count else {
            let types = signature.parameters.map(\.description).joined(separator: ", ")
            throw CLIFailure(ExitStatus.usage,
                             "error: '\(signature.name)' takes \(signature.parameters.count) argument\(signature.parameters.count == 1 ? "" : "s") (\(types)), got \(words.count)")
        }
        var values: [WasmValue] = []
        for (index, (word, type)) in zip(words, signature.parameters).enumerated() {
            guard let value = value(word, as: type) else {
                throw CLIFailure(ExitStatus.usage, "error: argument \(index + 1) of '\(signature.name)' must be \(type), got '\(word)'")
            }
            values.append(value)
        }
        return values
    }

    /// One value: integers may be signed or unsigned within the type's width (decimal or 0x hex).
    static func value(_ word: String, as type: WasmType) -> WasmValue? {
        switch type {
        case .i32:
            if let v = Int32(word) { return .i32(UInt32(bitPattern: v)) }
            if let v = UInt32(word) { return .i32(v) }
            if word.hasPrefix("0x"), let v = UInt32(word.dropFirst(2), radix: 16) { return .i32(v) }
            return nil
        case .i64:
            if let v = Int64(word) { return .i64(UInt64(bitPattern: v)) }
            if let v = UInt64(word) { return .i64(v) }
            if word.hasPrefix("0x"), let v = UInt64(word.dropFirst(2), radix: 16) { return .i64(v) }
            return nil
        case .f32:
            return Float(word).map { .f32($0.bitPattern) }
        case .f64:
            return Double(word).map { .f64($0.bitPattern) }
        }
    }

    /// A result as JSON: integers as numbers, floats as numbers unless NaN/infinite (then strings).
    static func json(_ value: WasmValue) -> String {
        switch value {
        case .i32, .i64: return value.description
        case .f32(let bits):
            let f = Float(bitPattern: bits)
            return f.isFinite ? "\(f)" : "\"\(f)\""
        case .f64(let bits):
            let d = Double(bitPattern: bits)
            return d.isFinite ? "\(d)" : "\"\(d)\""
        }
    }

    /// A JSON string literal, escaped as the audit log escapes its strings.
    static func jsonString(_ text: String) -> String {
        String(decoding: CanonicalJSON.encode(.string(text)), as: UTF8.self)
    }
}
