import CordonChannel
import WasmKit

/// The one place that turns WasmKit's errors into stable trap kinds. WasmKit 0.4.2 exposes a trap's
/// reason only through its description, so this matches the texts of that exact (pinned) version.
enum TrapClassifier {
    static func classify(_ error: any Error, growthDenied: GrowthDenial?) -> (TrapKind, String) {
        if let failure = error as? RuntimeTrap { return (failure.kind, failure.message) }
        if let failure = error as? HostTransportFailure { return (.hostFunction, failure.description) }
        let text = String(describing: error)
        let message = text.hasPrefix("Trap: ") ? String(text.dropFirst(6)) : text
        let firstLine = message.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? message
        let kind: TrapKind
        switch firstLine {
        case "out of fuel": kind = .outOfFuel
        case "call stack exhausted": kind = .stackExhausted
        case "out of bounds memory access": kind = .outOfBounds
        case "integer divide by zero": kind = .integerDivision
        case "integer overflow": kind = .integerOverflow
        case "invalid conversion to integer": kind = .invalidConversion
        case "unreachable":
            switch growthDenied {
            case .memory: kind = .memoryLimit
            case .table: kind = .tableLimit
            case nil: kind = .unreachable
            }
        default:
            if firstLine.hasPrefix("out of bounds table access") { kind = .outOfBounds }
            else if firstLine.hasPrefix("indirect call") || firstLine.hasPrefix("null function") { kind = .indirectCall }
            else if firstLine.contains("exceeds the resource limit") { kind = .memoryLimit }
            else { kind = .other }
        }
        return (kind, firstLine)
    }
}

/// A trap raised by the runtime itself (re-entry cap, AssemblyScript abort, broken host ABI use).
struct RuntimeTrap: Error, CustomStringConvertible {
    var kind: TrapKind
    var message: String
    var description: String { message }
}
