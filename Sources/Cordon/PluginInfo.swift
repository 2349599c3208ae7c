import Foundation

/// One entry of `Supervisor.plugins()`: what a registry of loaded plugins shows about each.
public struct PluginInfo: Sendable, Hashable, Identifiable {
    /// The load id (`PluginHandle.id`).
    public var id: String
    /// The manifest's name; unique among the plugins of one supervisor.
    public var name: String
    public var version: String
    public var state: PluginState
    /// The effective grant: what the application granted ∩ what the manifest asked.
    public var capabilities: Set<PluginCapability>
    /// When `load` admitted the plugin.
    public var loadedAt: Date
    /// When its last call ended (or, without any call yet, when it was loaded).
    public var lastActivity: Date
}
