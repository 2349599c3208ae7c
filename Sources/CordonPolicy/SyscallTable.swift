import CSeccomp
import Glibc

/// Syscall names ↔ numbers, from libseccomp's tables (so policy names mean what the compiled filter does).
public enum SyscallTable {
    /// The native-architecture number of `name`, or nil if libseccomp does not know it or the native
    /// architecture lacks it (libseccomp then answers a negative pseudo-number).
    public static func number(of name: String) -> Int32? {
        let nr = seccomp_syscall_resolve_name(name)
        return nr >= 0 ? nr : nil
    }

    /// Whether libseccomp knows `name` on some architecture (negative pseudo-numbers count: e.g.
    /// `socketcall` exists only on i386, and Docker profiles list it for all architectures).
    public static func isKnown(_ name: String) -> Bool {
        seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR
    }

    /// The name of syscall `nr` on `arch` (an AUDIT_ARCH_* / SCMP_ARCH_* value; nil = native).
    public static func name(of nr: Int32, arch: UInt32? = nil) -> String? {
        let a = arch ?? seccomp_arch_native()
        guard let p = seccomp_syscall_resolve_num_arch(a, nr) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// The native architecture token (SCMP_ARCH_* value, which equals the kernel's AUDIT_ARCH_*).
    public static var nativeArchitecture: UInt32 { seccomp_arch_native() }

    /// Resolves an OCI architecture name (`SCMP_ARCH_X86_64`) to its libseccomp token.
    public static func architecture(named ociName: String) -> UInt32? {
        guard ociName.hasPrefix("SCMP_ARCH_") else { return nil }
        let short = String(ociName.dropFirst("SCMP_ARCH_".count)).lowercased()
        let token = seccomp_arch_resolve_name(short)
        return token == 0 ? nil : token
    }
}
