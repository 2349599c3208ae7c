/// The guest ABI as the CLI describes it (docs/abi.md): each host function of module `env`, its
/// canonical signature, and the capability it needs. Mirrors CordonWorkerRuntime's HostABI and
/// Cordon's capability table, which are internal to those modules.
enum HostFunctionTable {
    /// A host function's canonical signature and required capability.
    struct Entry {
        var signature: String
        /// nil: every plugin may call it (rate-limited instead).
        var capability: String?
    }

    /// Parameter groups per function, as the worker's linker checks them: I = integer (i32 or i64),
    /// P = a pointer pair (i32, i32) for an input string or an output buffer.
    static let shapes: [String: [String]] = [
        "host_log": ["IP"], "host_get_config": ["PP"], "host_set_config": ["PP"], "host_send_message": ["PP"],
        "host_receive_message": ["P"], "host_call_tool": ["PPP"], "host_storage_get": ["PP"],
        "host_storage_set": ["PP"], "host_storage_delete": ["P"], "host_random_bytes": ["P"], "host_now_ms": [""],
        "host_sleep_ms": ["I"], "host_alloc": ["I"], "host_free": ["I", "II"], "abort": ["IIII"],
    ]

    /// Whether the worker would link an import of `name` declared with these types (custom
    /// functions take (in_ptr, in_len, out_ptr, out_cap)); at most one i32/i64 result.
    static func accepts(_ name: String, parameters: [String], results: [String]) -> Bool {
        guard results.count <= 1, results.allSatisfy({ $0 == "i32" || $0 == "i64" }) else { return false }
        return (shapes[name] ?? ["PP"]).contains { shape in
            var index = 0
            for group in shape {
                if group == "I" {
                    guard index < parameters.count, parameters[index] == "i32" || parameters[index] == "i64" else { return false }
                    index += 1
                } else {
                    guard index + 1 < parameters.count, parameters[index] == "i32", parameters[index + 1] == "i32" else { return false }
                    index += 2
                }
            }
            return index == parameters.count
        }
    }

    static let entries: [String: Entry] = [
        "host_log": Entry(signature: "(level: i32, ptr: i32, len: i32) -> i32", capability: nil),
        "host_get_config": Entry(signature: "(key_ptr, key_len, out_ptr, out_cap: i32) -> i32", capability: "read_config"),
        "host_set_config": Entry(signature: "(key_ptr, key_len, value_ptr, value_len: i32) -> i32", capability: "write_config"),
        "host_send_message": Entry(signature: "(target_ptr, target_len, payload_ptr, payload_len: i32) -> i32", capability: "send_message"),
        "host_receive_message": Entry(signature: "(out_ptr, out_cap: i32) -> i32", capability: "receive_message"),
        "host_call_tool": Entry(signature: "(name_ptr, name_len, args_ptr, args_len, out_ptr, out_cap: i32) -> i32", capability: "call_tool"),
        "host_storage_get": Entry(signature: "(key_ptr, key_len, out_ptr, out_cap: i32) -> i32", capability: "storage"),
        "host_storage_set": Entry(signature: "(key_ptr, key_len, value_ptr, value_len: i32) -> i32", capability: "storage"),
        "host_storage_delete": Entry(signature: "(key_ptr, key_len: i32) -> i32", capability: "storage"),
        "host_random_bytes": Entry(signature: "(out_ptr, out_cap: i32) -> i32", capability: "random"),
        "host_now_ms": Entry(signature: "() -> i64", capability: "timer"),
        "host_sleep_ms": Entry(signature: "(ms: i32|i64) -> i32", capability: "timer"),
        "host_alloc": Entry(signature: "(size: i32) -> i32 (forwarded to the guest's cordon_alloc/malloc)", capability: nil),
        "host_free": Entry(signature: "(ptr: i32 [, size: i32]) (forwarded to the guest's cordon_free/free)", capability: nil),
        "abort": Entry(signature: "(msg, file, line, column: i32) (AssemblyScript; traps)", capability: nil),
    ]
}
