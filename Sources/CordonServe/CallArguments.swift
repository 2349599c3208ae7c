import Cordon
import CordonPolicy

/// JSON numbers ↔ WebAssembly values, by the export's signature. i32/i64 accept the signed and the
/// unsigned range and answer signed; floats are JSON numbers (non-finite results as strings).
enum CallArguments {
    static func parse(_ bytes: [UInt8], for signature: ExportedFunction) throws(JSONInputError) -> [WasmValue] {
        var r = try JSONObjectReader.parse(bytes)
        let args = r.value("args") ?? .array([])
        try r.finish()
        guard case .array(let items) = args else { throw JSONInputError(path: "$.args", reason: "expected an array, found \(args.kindName)") }
        guard items.count == signature.parameters.count else {
            throw JSONInputError(path: "$.args", reason: "\(signature.name) takes \(signature.parameters.count) argument(s) (\(signature.parameters.map(\.description).joined(separator: ", "))), found \(items.count)")
        }
        var out: [WasmValue] = []
        for (i, (item, type)) in zip(items, signature.parameters).enumerated() {
            let path = "$.args[\(i)]"
            switch type {
            case .i32:
                let n = try JSONObjectReader.integer(item, path: path, in: Int64(Int32.min)...Int64(UInt32.max))
                out.append(.i32(n < 0 ? UInt32(bitPattern: Int32(n)) : UInt32(n)))
            case .i64:
                if case .number(let t) = item, let u = UInt64(t) { out.append(.i64(u)); continue }
                let n = try JSONObjectReader.integer(item, path: path, in: Int64.min...Int64.max)
                out.append(.i64(UInt64(bitPattern: n)))
            case .f32, .f64:
                guard case .number(let t) = item, let d = Double(t) else {
                    throw JSONInputError(path: path, reason: "expected a number, found \(item.kindName)")
                }
                out.append(type == .f32 ? .f32(Float(d).bitPattern) : .f64(d.bitPattern))
            }
        }
        return out
    }

    static func json(_ value: WasmValue) -> JSONText {
        switch value {
        case .i32(let bits): return .int(Int64(Int32(bitPattern: bits)))
        case .i64(let bits): return .int(Int64(bitPattern: bits))
        case .f32(let bits):
            let f = Float(bitPattern: bits)
            return f.isFinite ? JSONText(text: "\(f)") : .string("\(f)")
        case .f64(let bits):
            let d = Double(bitPattern: bits)
            return d.isFinite ? JSONText(text: "\(d)") : .string("\(d)")
        }
    }
}
