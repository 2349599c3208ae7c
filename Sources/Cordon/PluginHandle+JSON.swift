import Foundation

extension PluginHandle {
    /// Calls an export under the bytes convention with JSON: `input` is encoded with `JSONEncoder`,
    /// the export's output decoded as `Output` with `JSONDecoder`. The output is the guest's: at most
    /// the plugin's message limit, and anything that is not valid JSON of that shape is
    /// `.decodingFailed` naming the export, never a partial value.
    public func call<Input: Encodable, Output: Decodable>(_ export: String, json input: Input,
                                                          as output: Output.Type = Output.self) async throws(CordonError) -> Output {
        let encoded: Data
        do { encoded = try JSONEncoder().encode(input) } catch {
            throw .encodingFailed(export: export, reason: Self.describe(error))
        }
        let bytes = try await call(export, bytes: Array(encoded))
        do { return try JSONDecoder().decode(Output.self, from: Data(bytes)) } catch {
            throw .decodingFailed(export: export, reason: Self.describe(error))
        }
    }

    /// A coding error in one line, bounded: the decoder quotes what it read, and that is the guest's.
    private static func describe(_ error: any Error) -> String {
        let text: String
        switch error {
        case EncodingError.invalidValue(_, let context): text = context.debugDescription
        case DecodingError.dataCorrupted(let context): text = context.debugDescription
        case DecodingError.keyNotFound(let key, _): text = "missing key '\(key.stringValue)'"
        case DecodingError.typeMismatch(let type, let context):
            text = "expected \(type) at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.valueNotFound(let type, let context):
            text = "missing \(type) at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        default: text = "\(error)"
        }
        return String(text.split(separator: "\n", maxSplits: 1).first ?? "").prefix(300).description
    }
}
