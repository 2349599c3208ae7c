import CCordonShims
#if canImport(Glibc)
import Glibc
#endif

/// The worker executable a supervisor spawns. A root supervisor opens it once, checks that only
/// root can change it (root-owned regular file, not group- or other-writable), and execs that open
/// file for every worker (`cordon_spawn_fd`): what was checked is what runs, whatever later happens
/// at the path. Anyone who could write the binary, or swap the path between check and exec, would
/// otherwise run code as root before confinement. A non-root supervisor execs by path: it could
/// not make a worker more privileged than itself anyway.
final class WorkerBinary: Sendable {
    let path: String
    /// The open executable (close-on-exec), or -1 when workers are exec'd by path.
    let fd: CInt

    init(path: String, runningAsRoot: Bool) throws(CordonError) {
        self.path = path
        guard runningAsRoot else {
            fd = -1
            return
        }
        // O_NOFOLLOW is not used: a symlink to a checked file is fine, what is opened is what is checked.
        let opened = open(path, O_RDONLY | O_CLOEXEC)
        guard opened >= 0 else {
            throw .invalidConfiguration(field: "workerExecutable", reason: "\(path): cannot open: \(Errno.describe(errno))")
        }
        if let problem = Self.problem(opened) {
            close(opened)
            throw .invalidConfiguration(field: "workerExecutable", reason: "\(path): \(problem); a root supervisor runs only a root-owned worker binary that no one else can write")
        }
        fd = opened
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Why the open file `fd` must not be exec'd by a root supervisor, or nil.
    static func problem(_ fd: CInt) -> String? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return "fstat failed: \(Errno.describe(errno))" }
        let mode = st.st_mode & 0o7777
        if st.st_mode & S_IFMT != S_IFREG { return "not a regular file" }
        if st.st_uid != 0 { return "owned by uid \(st.st_uid), not root" }
        if mode & 0o020 != 0 { return "group-writable (mode \(String(mode, radix: 8)))" }
        if mode & 0o002 != 0 { return "writable by others (mode \(String(mode, radix: 8)))" }
        if mode & 0o111 == 0 { return "not executable (mode \(String(mode, radix: 8)))" }
        return nil
    }
}
