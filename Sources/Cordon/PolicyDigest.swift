import CordonPolicy

public extension SandboxPolicy {
    /// Lower-case hex SHA-256 of `canonicalJSON`: the `policy_sha256` in this policy's audit records.
    var sha256: String { ModuleCache.digest(canonicalJSON) }
}
