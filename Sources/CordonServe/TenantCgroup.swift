import Cordon
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Creates `cordon/<tenant>` with the tenant's memory, CPU and pids limits, and names the
/// `cgroup.procs` files its supervisor places each worker in (`SupervisorConfiguration.workerCgroup`).
/// cgroup v2 when `/sys/fs/cgroup` is the unified hierarchy, the v1 memory, cpu and pids
/// controllers otherwise.
enum TenantCgroup {
    struct SetupError: Error, CustomStringConvertible {
        let description: String
    }

    static func create(tenant: String, quota: TenantQuota, root: String = "/sys/fs/cgroup") throws(SetupError) -> WorkerCgroup {
        let memory = String(quota.memoryMiB << 20)
        let period = 100_000
        let cpuQuota = quota.cpuPercent * period / 100
        // Workers are single-threaded; the warm pool and restarts can hold a few more at once.
        let pids = String(quota.workers * 2 + 8)
        if FileManager.default.fileExists(atPath: root + "/cgroup.controllers") {
            try write(root + "/cgroup.subtree_control", "+memory +cpu +pids", optional: true)
            try makeDirectory(root + "/cordon")
            try write(root + "/cordon/cgroup.subtree_control", "+memory +cpu +pids")
            let dir = root + "/cordon/" + tenant
            try makeDirectory(dir)
            try write(dir + "/memory.max", memory)
            try write(dir + "/cpu.max", "\(cpuQuota) \(period)")
            try write(dir + "/pids.max", pids)
            return WorkerCgroup(name: "cordon/\(tenant)", procsFiles: [dir + "/cgroup.procs"])
        }
        var files: [String] = []
        for (controller, settings) in [
            ("memory", [("memory.limit_in_bytes", memory)]),
            ("cpu", [("cpu.cfs_period_us", String(period)), ("cpu.cfs_quota_us", String(cpuQuota))]),
            ("pids", [("pids.max", pids)]),
        ] {
            let base = "\(root)/\(controller)"
            guard FileManager.default.fileExists(atPath: base + "/cgroup.procs") else {
                throw SetupError(description: "cgroup v1 controller '\(controller)' is not mounted at \(base)")
            }
            try makeDirectory(base + "/cordon")
            let dir = "\(base)/cordon/\(tenant)"
            try makeDirectory(dir)
            for (file, value) in settings { try write("\(dir)/\(file)", value) }
            files.append(dir + "/cgroup.procs")
        }
        return WorkerCgroup(name: "cordon/\(tenant)", procsFiles: files)
    }

    /// Removes the tenant's cgroup directories once its supervisor has stopped and reaped every
    /// worker (the kernel refuses to remove a cgroup that still holds a process: `EBUSY`), so that a
    /// daemon that stops leaves no cgroups behind, as systemd does for a stopped service. The shared
    /// `cordon` parent stays. Returns one line per directory that could not be removed; a missing
    /// directory is not an error.
    static func remove(tenant: String, root: String = "/sys/fs/cgroup") -> [String] {
        let directories = FileManager.default.fileExists(atPath: root + "/cgroup.controllers")
            ? [root + "/cordon/" + tenant]
            : ["memory", "cpu", "pids"].map { "\(root)/\($0)/cordon/\(tenant)" }
        return directories.compactMap { directory in
            guard rmdir(directory) != 0, errno != ENOENT else { return nil }
            return "cannot remove cgroup \(directory): \(String(cString: strerror(errno))) (errno \(errno))"
        }
    }

    private static func makeDirectory(_ path: String) throws(SetupError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw SetupError(description: "cannot create cgroup \(path): \(String(cString: strerror(errno))) (errno \(errno))")
        }
    }

    private static func write(_ path: String, _ value: String, optional: Bool = false) throws(SetupError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if optional { return }
            throw SetupError(description: "cannot open \(path): \(String(cString: strerror(errno))) (errno \(errno))")
        }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if n != bytes.count && !optional {
            throw SetupError(description: "cannot write \"\(value)\" to \(path): \(String(cString: strerror(errno))) (errno \(errno))")
        }
    }
}
