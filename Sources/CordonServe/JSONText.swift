import Foundation

/// A JSON value already rendered, for building small answers without an encoder round trip.
public struct JSONText: Sendable {
    public let text: String

    public static func string(_ s: String) -> JSONText {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return JSONText(text: out + "\"")
    }

    public static func int(_ n: Int64) -> JSONText { JSONText(text: String(n)) }
    public static func uint(_ n: UInt64) -> JSONText { JSONText(text: String(n)) }
    public static func double(_ d: Double) -> JSONText { JSONText(text: d.isFinite ? String(format: "%.3f", d) : "null") }
    public static func bool(_ b: Bool) -> JSONText { JSONText(text: b ? "true" : "false") }
    public static func array(_ items: [JSONText]) -> JSONText { JSONText(text: "[" + items.map(\.text).joined(separator: ",") + "]") }
    public static func object(_ members: [(String, JSONText)]) -> JSONText {
        JSONText(text: "{" + members.map { "\(string($0.0).text):\($0.1.text)" }.joined(separator: ",") + "}")
    }
    public static let null = JSONText(text: "null")
}
