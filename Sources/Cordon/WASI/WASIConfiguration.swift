import CCordonShims
import Glibc

/// What a WASI program sees of the world: its arguments, its environment and the host directories
/// it may use. Given to `Supervisor.load(…, wasi:)`; empty by default (no arguments, no
/// environment, no file system).
public struct WASIConfiguration: Sendable, Hashable {
    /// `argv`, program name first (`args_get`).
    public var arguments: [String]
    /// `KEY=VALUE` entries in order (`environ_get`), as execve takes them.
    public var environment: [String]
    /// Directories at guest fds 3, 4, … in this order; they need the `filesystem` capability.
    public var preopens: [WASIPreopen]

    public init(arguments: [String] = [], environment: [String] = [], preopens: [WASIPreopen] = []) {
        self.arguments = arguments
        self.environment = environment
        self.preopens = preopens
    }

    /// Checks the configuration against the grant and the host: preopens need `filesystem`, and
    /// each must be a directory the supervisor can open; no string may hold a NUL byte (the guest
    /// sees C strings), and every environment entry has a `=`.
    func validate(granted: Set<PluginCapability>) throws(CordonError) {
        for (i, a) in arguments.enumerated() where a.utf8.contains(0) {
            throw .invalidConfiguration(field: "wasi.arguments[\(i)]", reason: "contains a NUL byte")
        }
        for (i, e) in environment.enumerated() where e.utf8.contains(0) || !e.contains("=") || e.hasPrefix("=") {
            throw .invalidConfiguration(field: "wasi.environment[\(i)]", reason: "'\(e.prefix(64))' is not KEY=VALUE without NUL bytes")
        }
        if !preopens.isEmpty, !granted.contains(.filesystem) {
            throw .invalidConfiguration(field: "wasi.preopens",
                                        reason: "preopened directories need the 'filesystem' capability, which is not granted")
        }
        for (i, p) in preopens.enumerated() {
            if p.guestPath.isEmpty || p.guestPath.utf8.contains(0) {
                throw .invalidConfiguration(field: "wasi.preopens[\(i)].guestPath", reason: "must be non-empty, without NUL bytes")
            }
            let fd = open(p.hostPath, CORDON_O_PATH | O_DIRECTORY | O_CLOEXEC)
            if fd < 0 {
                let e = errno
                throw .invalidConfiguration(field: "wasi.preopens[\(i)].hostPath",
                                            reason: "cannot open '\(p.hostPath)' as a directory: \(Errno.describe(e))")
            }
            close(fd)
        }
    }
}
