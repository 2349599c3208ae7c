import Glibc

/// A confinement (or plan/compile) failure: which step, the errno, and what was being done.
public struct JailError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The step of the fixed confinement order (or the supervisor-side phase) that failed.
    public enum Step: String, Sendable, Hashable, CaseIterable {
        /// Supervisor: turning a policy into a plan (libseccomp, identity, namespaces).
        case compile
        /// Worker: the plan bytes are malformed.
        case planDecode = "plan-decode"
        /// 1. PR_SET_PDEATHSIG and the parent check.
        case parentDeath = "parent-death"
        /// Facts gathered while /proc is still reachable (cap_last_cap, thread count).
        case preflight
        /// 2. Verifying / creating namespaces.
        case namespaces
        /// 2. uid_map / gid_map / setgroups for a user namespace.
        case userMapping = "user-mapping"
        /// 2. Making the root private, the empty tmpfs root, pivot_root.
        case mount
        /// 3. setrlimit.
        case rlimits
        /// 4. Bounding set, ambient set, securebits, capability sets.
        case capabilities
        /// 4. setgroups / setresgid / setresuid and the re-armed parent-death signal.
        case credentials
        /// 5. PR_SET_NO_NEW_PRIVS.
        case noNewPrivs = "no-new-privs"
        /// 5. PR_SET_DUMPABLE.
        case dumpable
        /// 5b. PR_SET_SPECULATION_CTRL (store bypass, indirect branch).
        case speculation
        /// 6. The SIGSYS reporter and seccomp(SECCOMP_SET_MODE_FILTER).
        case seccomp
    }

    public var step: Step
    /// The errno the failing call returned (EINVAL for validation failures).
    public var errno: Int32
    /// The call or check that failed, e.g. "pivot_root(\".\", \".\")".
    public var detail: String

    public init(step: Step, errno: Int32, detail: String) {
        self.step = step
        self.errno = errno
        self.detail = detail
    }

    public var description: String {
        "confinement step \(step.rawValue) failed: \(detail): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}
