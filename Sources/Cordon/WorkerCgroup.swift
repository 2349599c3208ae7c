#if canImport(Glibc)
import Glibc
#endif

/// The cgroup every worker of a supervisor joins right after clone, before the supervisor sends it
/// a module: its pid is written to each listed `cgroup.procs` (one per cgroup v1 controller, or the
/// one cgroup v2 directory). The application creates the cgroup and sets its limits; a write that
/// fails fails the spawn, so no worker ever runs outside the cgroup it was meant for.
public struct WorkerCgroup: Sendable, Hashable {
    /// The name recorded in each `worker.spawn` audit record (e.g. `cordon/acme`).
    public var name: String
    /// Absolute paths of the `cgroup.procs` files to write the pid into.
    public var procsFiles: [String]

    public init(name: String, procsFiles: [String]) {
        self.name = name
        self.procsFiles = procsFiles
    }

    /// Moves `pid` into every listed cgroup; nil when it is in all of them, else `.spawnFailed`
    /// naming the file and the errno.
    func admit(pid: Int32) -> CordonError? {
        let text = Array("\(pid)\n".utf8)
        for file in procsFiles {
            let fd = open(file, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { return .spawnFailed(step: "cgroup: open \(file)", errno: errno) }
            let written = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            let failure = written == text.count ? 0 : (written < 0 ? errno : EIO)
            close(fd)
            guard failure == 0 else { return .spawnFailed(step: "cgroup: write pid \(pid) to \(file)", errno: failure) }
        }
        return nil
    }
}
