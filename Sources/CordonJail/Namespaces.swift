import CordonPolicy
import Glibc

/// A set of Linux namespaces, convertible to CLONE_NEW* flags.
public struct NamespaceSet: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let user = NamespaceSet(rawValue: 1 << 0)
    public static let mount = NamespaceSet(rawValue: 1 << 1)
    public static let network = NamespaceSet(rawValue: 1 << 2)
    public static let ipc = NamespaceSet(rawValue: 1 << 3)
    public static let uts = NamespaceSet(rawValue: 1 << 4)
    public static let pid = NamespaceSet(rawValue: 1 << 5)
    public static let cgroup = NamespaceSet(rawValue: 1 << 6)
    public static let all: NamespaceSet = [.user, .mount, .network, .ipc, .uts, .pid, .cgroup]

    /// Each namespace with its CLONE_NEW* flag, short name (as in layer names) and /proc/self/ns entry.
    static let table: [(set: NamespaceSet, flag: UInt64, name: String, procName: String)] = [
        (.user, 0x1000_0000, "user", "user"),       // CLONE_NEWUSER
        (.mount, 0x0002_0000, "mount", "mnt"),      // CLONE_NEWNS
        (.network, 0x4000_0000, "net", "net"),      // CLONE_NEWNET
        (.ipc, 0x0800_0000, "ipc", "ipc"),          // CLONE_NEWIPC
        (.uts, 0x0400_0000, "uts", "uts"),          // CLONE_NEWUTS
        (.pid, 0x2000_0000, "pid", "pid"),          // CLONE_NEWPID
        (.cgroup, 0x0200_0000, "cgroup", "cgroup"), // CLONE_NEWCGROUP
    ]

    /// The CLONE_NEW* flags for this set.
    public var cloneFlags: UInt64 { Self.table.reduce(0) { contains($1.set) ? $0 | $1.flag : $0 } }

    /// Short names in a fixed order: "user", "mount", "net", "ipc", "uts", "pid", "cgroup".
    public var names: [String] { Self.table.filter { contains($0.set) }.map(\.name) }

    public var description: String { "[" + names.joined(separator: ",") + "]" }

    /// The namespaces whose requirement in `policy` equals `requirement`.
    public init(_ policy: NamespacePolicy, _ requirement: NamespaceRequirement) {
        var s: NamespaceSet = []
        if policy.user == requirement { s.insert(.user) }
        if policy.mount == requirement { s.insert(.mount) }
        if policy.network == requirement { s.insert(.network) }
        if policy.ipc == requirement { s.insert(.ipc) }
        if policy.uts == requirement { s.insert(.uts) }
        if policy.pid == requirement { s.insert(.pid) }
        if policy.cgroup == requirement { s.insert(.cgroup) }
        self = s
    }

    /// The floor of the jail: a worker never runs without these unless the policy disables them or
    /// sets `namespaces.allowDegraded`. Without a user namespace a non-root worker keeps every
    /// credential of the supervisor's uid; without a mount namespace it sees the host's filesystem.
    public static let floor: NamespaceSet = [.user, .mount]

    /// The namespaces a worker must have under `policy`: the ones it marks required plus, unless it
    /// opts into degradation (`allowDegraded`), the optional part of the floor.
    public static func enforced(by policy: NamespacePolicy) -> NamespaceSet {
        let required = NamespaceSet(policy, .required)
        guard !policy.allowDegraded else { return required }
        return required.union(NamespaceSet(policy, .optional).intersection(floor))
    }

    /// The optional namespaces the floor holds the worker to (what `allowDegraded` would let go).
    public static func heldByFloor(_ policy: NamespacePolicy) -> NamespaceSet {
        enforced(by: policy).subtracting(NamespaceSet(policy, .required))
    }

    /// Layer names as the hello reports them: "namespace.user", "namespace.net", ….
    public var layerNames: [String] { names.map { "namespace.\($0)" } }
}

/// Supervisor-side: which namespace sets to try, and which of them the clone creates vs the worker.
///
/// As root, every namespace except `user` is created by the supervisor's clone (the worker is made
/// unprivileged by a real uid switch instead; a user namespace created by clone would leave the
/// exec'd worker without the capabilities it needs to pivot_root). Without root, the clone creates
/// nothing: the worker unshares `user` plus the rest itself, so that it holds CAP_SYS_ADMIN in the new
/// user namespace; a PID namespace cannot be entered that way, so it is unavailable without root.
public enum NamespacePlanner {
    /// The order optional namespaces are given up when the kernel refuses (least valuable first).
    public static let degradationOrder: [NamespaceSet] = [.cgroup, .uts, .ipc, .network, .mount, .pid, .user]

    /// Namespace sets to try, best first: the first is everything requested; each next one drops one
    /// more optional namespace (`degradationOrder`); the last is the required set alone. Required
    /// namespaces, and the floor (`NamespaceSet.enforced(by:)`), are never dropped. Use the first set the spawn (and, without root, the worker's
    /// unshare) accepts; an EPERM/EINVAL from clone or from the worker's `.namespaces` step means "next".
    public static func attempts(for policy: NamespacePolicy, runningAsRoot: Bool) -> [NamespaceSet] {
        let required = NamespaceSet.enforced(by: policy)
        let optional = NamespaceSet(policy, .optional).subtracting(required)
        func normalize(_ s: NamespaceSet) -> NamespaceSet {
            var s = s
            if runningAsRoot {
                // Root: identity comes from the uid switch (see type comment); user is satisfied by it.
                s.remove(.user)
            } else {
                // Non-root: unshare(CLONE_NEWPID) would only apply to children, which the worker
                // may not have; a required pid stays so that compile() reports it precisely.
                if !required.contains(.pid) { s.remove(.pid) }
                // Every other namespace needs CAP_SYS_ADMIN, which only a new user namespace grants.
                if !s.contains(.user) && !required.contains(.user) { s = s.intersection(required) }
                if !s.subtracting(.user).isEmpty { s.insert(.user) }
            }
            return s
        }
        var result: [NamespaceSet] = []
        var current = required.union(optional)
        func append(_ s: NamespaceSet) { let n = normalize(s); if !result.contains(n) { result.append(n) } }
        append(current)
        for ns in degradationOrder where optional.contains(ns) {
            current.remove(ns)
            append(current)
        }
        append(required)
        return result
    }

    /// The part of `attempt` the supervisor's clone creates (pass `.cloneFlags` to cordon_spawn).
    public static func cloneNamespaces(for attempt: NamespaceSet, runningAsRoot: Bool) -> NamespaceSet {
        runningAsRoot ? attempt.subtracting(.user) : []
    }

    /// The part of `attempt` the worker creates itself with unshare(2).
    public static func workerNamespaces(for attempt: NamespaceSet, runningAsRoot: Bool) -> NamespaceSet {
        runningAsRoot ? [] : attempt.subtracting(.pid)
    }
}
