import CordonPolicy

/// The layers a worker under a policy is meant to achieve, in exactly the vocabulary of
/// `ConfinementReport.layers` (the hello), so that `layers_requested` minus `layers_achieved` in a
/// `worker.spawn` record is a real degradation and nothing else.
public enum RequestedLayers {
    /// What `Confinement.apply` reports when every step the policy asks of this supervisor succeeds:
    /// the best namespace attempt (`NamespacePlanner.attempts(...).first`: a root supervisor gives
    /// identity by a uid switch instead of a user namespace, and a non-root one can never enter a
    /// PID namespace), the empty root when that attempt has a mount namespace, and every fixed step.
    /// Per-worker facts (`uid:`, `gid:`, `sigsys-reporter`) are achieved-only.
    public static func of(_ policy: SandboxPolicy, runningAsRoot: Bool) -> [String] {
        let best = NamespacePlanner.attempts(for: policy.namespaces, runningAsRoot: runningAsRoot).first ?? []
        var layers = ["parent-death"] + best.layerNames
        if best.contains(.mount) { layers.append("filesystem.empty-root") }
        layers += ["rlimits", "capabilities", "no_new_privs", "non-dumpable"]
        layers += SpeculationControl.applied(mitigatingStoreBypass: policy.mitigatesSpeculativeStoreBypass).map(\.layer)
        layers.append("seccomp." + Confinement.actionLayerName(policy.seccomp.defaultAction))
        return layers
    }
}
