/// Where a plugin is in its life.
public enum PluginState: String, Sendable, Hashable, CustomStringConvertible {
    case created, starting, ready, running, restarting, backingOff, stopped, failed
    public var description: String { rawValue }
}
