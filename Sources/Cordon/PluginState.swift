/// Where a plugin is in its life. `paused`: `PluginHandle.pause()` stopped its workers (SIGSTOP);
/// calls are refused until `resume()`.
public enum PluginState: String, Sendable, Hashable, CustomStringConvertible {
    case created, starting, ready, running, restarting, backingOff, stopped, failed, paused
    public var description: String { rawValue }
}
