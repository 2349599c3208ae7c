// Guest ABI: which imports exist and which declared signatures each accepts. docs/abi.md is the
// human-readable form of this file.
import CordonChannel
import WasmKit

/// One parameter group of a host function in the guest ABI (docs/abi.md).
enum ABIParameter: Equatable {
    /// An input byte string: (ptr: i32, len: i32), read from guest memory by the worker.
    case bytes
    /// An output buffer: (out_ptr: i32, out_cap: i32); the reply is written there if it fits.
    case output
    /// An integer passed through (i32 or i64).
    case integer
}

/// The shape of one host function of module `env`.
struct HostFunctionSpec {
    var name: String
    /// Accepted parameter lists (most functions have one; `host_free` takes (ptr) or (ptr, size)).
    var alternatives: [[ABIParameter]]
    /// How the call is served: by the supervisor over the channel, or inside the worker.
    var served: Served

    enum Served { case supervisor, guestAllocator, guestFree, assemblyScriptAbort }

    /// Whether a declared import type is one this function accepts: the parameter groups expand
    /// to i32 pairs (wasm32 pointers) and i32-or-i64 integers; at most one integer result.
    func accepts(_ type: FunctionType) -> Bool {
        alternatives.contains { Self.matches(type, $0) }
    }

    init(name: String, parameters: [ABIParameter], served: Served, alsoAccepting: [[ABIParameter]] = []) {
        self.name = name
        self.alternatives = [parameters] + alsoAccepting
        self.served = served
    }

    /// The first parameter list, which defines how arguments are decoded.
    var parameters: [ABIParameter] { alternatives[0] }

    private static func matches(_ type: FunctionType, _ parameters: [ABIParameter]) -> Bool {
        var index = 0
        let params = type.parameters
        for group in parameters {
            switch group {
            case .bytes, .output:
                guard index + 1 < params.count, params[index] == .i32, params[index + 1] == .i32 else { return false }
                index += 2
            case .integer:
                guard index < params.count, params[index] == .i32 || params[index] == .i64 else { return false }
                index += 1
            }
        }
        guard index == params.count, type.results.count <= 1 else { return false }
        if let result = type.results.first, result != .i32, result != .i64 { return false }
        return true
    }

    /// The canonical signature, for error messages.
    var canonicalSignature: String {
        let expanded = parameters.flatMap { group -> [String] in
            switch group {
            case .bytes: ["ptr: i32", "len: i32"]
            case .output: ["out_ptr: i32", "out_cap: i32"]
            case .integer: ["i32|i64"]
            }
        }
        return "(\(expanded.joined(separator: ", "))) -> i32"
    }
}

/// The host functions Cordon links into module `env`, with the seed's names.
enum HostABI {
    static let functions: [String: HostFunctionSpec] = {
        let specs: [HostFunctionSpec] = [
            .init(name: "host_log", parameters: [.integer, .bytes], served: .supervisor),
            .init(name: "host_get_config", parameters: [.bytes, .output], served: .supervisor),
            .init(name: "host_set_config", parameters: [.bytes, .bytes], served: .supervisor),
            .init(name: "host_send_message", parameters: [.bytes, .bytes], served: .supervisor),
            .init(name: "host_receive_message", parameters: [.output], served: .supervisor),
            .init(name: "host_call_tool", parameters: [.bytes, .bytes, .output], served: .supervisor),
            .init(name: "host_storage_get", parameters: [.bytes, .output], served: .supervisor),
            .init(name: "host_storage_set", parameters: [.bytes, .bytes], served: .supervisor),
            .init(name: "host_storage_delete", parameters: [.bytes], served: .supervisor),
            .init(name: "host_random_bytes", parameters: [.output], served: .supervisor),
            .init(name: "host_now_ms", parameters: [], served: .supervisor),
            .init(name: "host_sleep_ms", parameters: [.integer], served: .supervisor),
            .init(name: "host_alloc", parameters: [.integer], served: .guestAllocator),
            .init(name: "host_free", parameters: [.integer], served: .guestFree, alsoAccepting: [[.integer, .integer]]),
            .init(name: "abort", parameters: [.integer, .integer, .integer, .integer], served: .assemblyScriptAbort),
        ]
        return Dictionary(uniqueKeysWithValues: specs.map { ($0.name, $0) })
    }()

    /// The shape of an application-defined host function: bytes in, bytes out.
    static func custom(_ name: String) -> HostFunctionSpec {
        HostFunctionSpec(name: name, parameters: [.bytes, .output], served: .supervisor)
    }

    /// Module name all Cordon imports live in.
    static let moduleName = "env"
}
