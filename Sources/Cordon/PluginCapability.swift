/// Something a plugin may do through a host function. A manifest asks for capabilities; the
/// application grants a subset; a host call needing an ungranted capability is denied and audited.
public enum PluginCapability: Sendable, Hashable, CustomStringConvertible {
    case readConfig, writeConfig, sendMessage, receiveMessage, callTool, storage, random, timer
    /// WASI file access beneath the load's preopens (`WASIConfiguration`); every brokered `wasi.*`
    /// call needs it, and a load with preopens fails without it.
    case filesystem
    /// An application-defined host function, by name.
    case custom(String)

    /// The manifest spelling (`"read_config"`, …, `"custom:NAME"`).
    public var description: String {
        switch self {
        case .readConfig: "read_config"
        case .writeConfig: "write_config"
        case .sendMessage: "send_message"
        case .receiveMessage: "receive_message"
        case .callTool: "call_tool"
        case .storage: "storage"
        case .random: "random"
        case .timer: "timer"
        case .filesystem: "filesystem"
        case .custom(let name): "custom:\(name)"
        }
    }

    /// Parses the manifest spelling; nil for an unknown capability.
    public init?(_ text: String) {
        switch text {
        case "read_config", "readConfig": self = .readConfig
        case "write_config", "writeConfig": self = .writeConfig
        case "send_message", "sendMessage": self = .sendMessage
        case "receive_message", "receiveMessage": self = .receiveMessage
        case "call_tool", "callTool": self = .callTool
        case "storage": self = .storage
        case "random": self = .random
        case "timer": self = .timer
        case "filesystem": self = .filesystem
        default:
            guard text.hasPrefix("custom:"), text.count > 7 else { return nil }
            self = .custom(String(text.dropFirst(7)))
        }
    }

    /// The capability a host function needs; nil for functions every plugin may use (host_log,
    /// host_alloc/host_free, abort), which are rate-limited instead.
    public static func required(forHostFunction name: String) -> PluginCapability? {
        switch name {
        case "host_get_config": .readConfig
        case "host_set_config": .writeConfig
        case "host_send_message": .sendMessage
        case "host_receive_message": .receiveMessage
        case "host_call_tool": .callTool
        case "host_storage_get", "host_storage_set", "host_storage_delete": .storage
        case "host_random_bytes": .random
        case "host_now_ms", "host_sleep_ms": .timer
        case "host_log": nil
        case _ where name.hasPrefix("wasi."): .filesystem
        default: .custom(name)
        }
    }
}
