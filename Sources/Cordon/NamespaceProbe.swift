import CCordonShims
import CordonJail
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Which namespace sets this (non-root) supervisor's workers can create, asked of the kernel once per
/// set with a child that exits at once (`cordon_probe_namespaces`).
enum NamespaceProbe {
    private static let known = Mutex<[UInt64: Int32]>([:])

    /// Nil when an unprivileged worker may unshare `set`; otherwise the errno the kernel refused it
    /// with. Refusals that can pass (ENOSPC, EUSERS: namespace counts at their limit) are not remembered.
    static func refusal(of set: NamespaceSet) -> Int32? {
        let flags = set.cloneFlags
        if let cached = known.withLock({ $0[flags] }) { return cached == 0 ? nil : cached }
        let result = cordon_probe_namespaces(UInt(flags))
        if result != ENOSPC, result != EUSERS { known.withLock { $0[flags] = result } }
        return result == 0 ? nil : result
    }
}
