import CCap
import CCordonShims
import CordonPolicy
import Glibc

/// What confinement achieved, for the worker's hello message (and the supervisor's audit record).
public struct ConfinementReport: Sendable, Hashable {
    /// Layers in the order they were put in place, e.g. "namespace.pid", "rlimits", "uid:200003", "seccomp.notify".
    public var layers: [String]
    /// The seccomp user-notification listener fd in this process, or -1 when the filter has no NOTIFY action.
    public var listenerFD: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(layers: [String], listenerFD: Int32, uid: UInt32, gid: UInt32) {
        self.layers = layers
        self.listenerFD = listenerFD
        self.uid = uid
        self.gid = gid
    }
}

/// Worker-side: applies a `ConfinementPlan` to the calling process in the fixed order of docs/policies.md.
///
/// Every step is checked and verified; the first failure throws and the caller must exit — a half-confined
/// worker must never load a plugin. The process must be single-threaded (checked in preflight).
public enum Confinement {
    /// Where the empty root is built (any existing directory works: the mount namespace is private).
    static let newRootCandidates = ["/tmp", "/mnt"]

    /// Applies `plan`. `sigsysSlot` (3 × u32 in memory shared with the supervisor) receives the SIGSYS
    /// reporter's account when the default action is SCMP_ACT_TRAP; nil leaves the kernel's default
    /// (the process dies by SIGSYS).
    public static func apply(_ plan: ConfinementPlan, sigsysSlot: UnsafeMutablePointer<UInt32>?) throws(JailError) -> ConfinementReport {
        var layers: [String] = []

        // MARK: 1. Parent death. First, so that a supervisor that dies now takes the worker with it.
        try prctlChecked(.parentDeath, PR.setPdeathsig, UInt(SIGKILL), "prctl(PR_SET_PDEATHSIG, SIGKILL)")
        // /proc/self/stat reports the parent as seen from the /proc mount's PID namespace, i.e. the
        // supervisor's, even when getppid() says 0. The fd is kept to re-check after the uid switch
        // (then /proc is gone), and closed before the filter is loaded.
        let statFD = open("/proc/self/stat", O_RDONLY | O_CLOEXEC)
        guard statFD >= 0 else { throw JailError(step: .parentDeath, errno: errno, detail: "open(/proc/self/stat)") }
        var statOpen = true
        defer { if statOpen { close(statFD) } }
        try checkParent(statFD, plan, detail: "parent before confinement")
        let seenParent = getppid()
        if plan.cloneNamespaces.contains(.pid) {
            // Inside a new PID namespace the parent is outside it: getppid() is 0 and must be.
            guard seenParent == 0 else { throw JailError(step: .parentDeath, errno: ESRCH, detail: "getppid() = \(seenParent) in a new PID namespace") }
        } else {
            guard seenParent == plan.supervisorPID else {
                throw JailError(step: .parentDeath, errno: ESRCH, detail: "getppid() = \(seenParent), expected \(plan.supervisorPID)")
            }
        }
        layers.append("parent-death")

        // MARK: Preflight: facts that need /proc, gathered before step 2 removes it.
        let lastCap = try lastCapability()
        let threads = try threadCount()
        guard threads == 1 else {
            throw JailError(step: .preflight, errno: EBUSY, detail: "\(threads) threads; confinement needs a single-threaded process")
        }

        // MARK: 2. Namespaces, then the empty root.
        let outerUID = getuid(), outerGID = getgid()
        var before: [String: String] = [:]
        if !plan.workerNamespaces.isEmpty {
            guard !plan.runningAsRoot, plan.uid == outerUID, plan.gid == outerGID else {
                throw JailError(step: .namespaces, errno: EINVAL, detail: "worker-created namespaces are for a non-root supervisor with the same uid")
            }
            // Remember what we are in now: after unshare(CLONE_NEWUSER) the supervisor's /proc/<pid>/ns
            // links are unreadable (ptrace access across user namespaces), so compare with ourselves.
            for entry in NamespaceSet.table where plan.workerNamespaces.contains(entry.set) {
                before[entry.procName] = try nsLink("/proc/self/ns/\(entry.procName)")
            }
            guard cordon_unshare(Int32(truncatingIfNeeded: plan.workerNamespaces.cloneFlags)) == 0 else {
                throw JailError(step: .namespaces, errno: errno, detail: "unshare(\(plan.workerNamespaces))")
            }
            if plan.workerNamespaces.contains(.user) {
                // "deny" first: an unprivileged writer may not map gids while setgroups(2) is allowed,
                // and denying it keeps a dropped supplementary group from being re-joined.
                try writeProcFile("/proc/self/setgroups", "deny")
                try writeProcFile("/proc/self/gid_map", "\(outerGID) \(outerGID) 1\n")
                try writeProcFile("/proc/self/uid_map", "\(outerUID) \(outerUID) 1\n")
                guard getuid() == outerUID, getgid() == outerGID else {
                    throw JailError(step: .userMapping, errno: EINVAL, detail: "identity map did not take effect")
                }
            }
        }
        let created = plan.cloneNamespaces.union(plan.workerNamespaces)
        for entry in NamespaceSet.table where created.contains(entry.set) {
            let mine = try nsLink("/proc/self/ns/\(entry.procName)")
            let old: String
            if let b = before[entry.procName] { old = b } else {
                old = try nsLink("/proc/\(plan.supervisorPID)/ns/\(entry.procName)")
            }
            guard mine != old else {
                throw JailError(step: .namespaces, errno: EPERM, detail: "namespace \(entry.name) was not created (\(mine))")
            }
            layers.append("namespace.\(entry.name)")
        }
        let missing = plan.requiredNamespaces.subtracting(created).subtracting(plan.runningAsRoot ? [.user] : [])
        guard missing.isEmpty else { throw JailError(step: .namespaces, errno: EPERM, detail: "required namespaces \(missing) missing") }
        if created.contains(.mount) {
            try emptyRoot()
            layers.append("filesystem.empty-root")
        }

        // MARK: 3. Resource limits (RLIMIT_NPROC waits for the uid switch: it counts per real uid).
        let nproc = RLimitResource.nproc
        for limit in plan.rlimits where limit.resource != nproc { try setLimit(limit) }
        layers.append("rlimits")

        // MARK: 4. Capabilities and identity.
        // Emptying the bounding set and locking securebits need CAP_SETPCAP: root has it, and so does a
        // worker in its own user namespace. A non-root worker without one (the policy made the user
        // namespace optional and the kernel refused it, or disabled it) holds no capabilities at all;
        // its sets are verified empty below, and no_new_privs (step 5) keeps it from ever gaining one
        // through exec. The layer then says exactly that: `capabilities.none-held`. A root plan always
        // takes the full path: there a missing CAP_SETPCAP is a failure, not a degradation.
        let privileged = plan.runningAsRoot || holdsEffective(capability: CAP_SETPCAP)
        if !privileged {
            try prctlChecked(.capabilities, PR.capAmbient, PR.capAmbientClearAll, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)")
        }
        for cap in 0...lastCap where privileged {
            let held = cordon_prctl(PR.capbsetRead, UInt(cap), 0, 0, 0)
            if held < 0 {
                if errno == EINVAL { break }  // beyond what this kernel knows
                throw JailError(step: .capabilities, errno: errno, detail: "prctl(PR_CAPBSET_READ, \(cap))")
            }
            if held == 1 { try prctlChecked(.capabilities, PR.capbsetDrop, UInt(cap), "prctl(PR_CAPBSET_DROP, \(cap))") }
        }
        if privileged {
            try prctlChecked(.capabilities, PR.capAmbient, PR.capAmbientClearAll, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)")
            // Lock the legacy "root is all-powerful" rules off, and forbid keeping or raising capabilities
            // across the uid switch below; needs CAP_SETPCAP, which this process still has.
            try prctlChecked(.capabilities, PR.setSecurebits, PR.securebitsLocked, "prctl(PR_SET_SECUREBITS)")
        }
        if plan.runningAsRoot {
            guard setgroups(0, nil) == 0 else { throw JailError(step: .credentials, errno: errno, detail: "setgroups(0)") }
            guard cordon_setresgid(plan.gid, plan.gid, plan.gid) == 0 else {
                throw JailError(step: .credentials, errno: errno, detail: "setresgid(\(plan.gid))")
            }
            // Changing all three uids away from 0 clears the permitted and effective sets (no KEEP_CAPS).
            guard cordon_setresuid(plan.uid, plan.uid, plan.uid) == 0 else {
                throw JailError(step: .credentials, errno: errno, detail: "setresuid(\(plan.uid))")
            }
            try verifyIdentity(plan)
        }
        // A credential change clears the parent-death signal: re-arm it, then look again, because the
        // supervisor may have died in the window (the worker would then have been re-parented).
        try prctlChecked(.credentials, PR.setPdeathsig, UInt(SIGKILL), "prctl(PR_SET_PDEATHSIG) after setresuid")
        var armed: Int32 = 0
        let got = withUnsafeMutablePointer(to: &armed) { cordon_prctl(PR.getPdeathsig, UInt(bitPattern: $0), 0, 0, 0) }
        guard got == 0, armed == SIGKILL else {
            throw JailError(step: .credentials, errno: errno, detail: "PR_GET_PDEATHSIG is \(armed)")
        }
        try checkParent(statFD, plan, detail: "parent after the uid switch")
        close(statFD)
        statOpen = false
        for limit in plan.rlimits where limit.resource == nproc { try setLimit(limit) }
        try clearCapabilitySets(boundingSetMustBeEmpty: privileged)
        // Read now: after step 6 even getuid(2) is outside the allow-list.
        let finalUID = getuid(), finalGID = getgid()
        // Whatever the plan says, a worker never continues as uid/gid 0 (e.g. a non-root plan run as root).
        guard finalUID != 0, geteuid() != 0, finalGID != 0, getegid() != 0 else {
            throw JailError(step: .credentials, errno: EPERM, detail: "still uid/gid 0 after the identity step")
        }
        layers.append(privileged ? "capabilities" : "capabilities.none-held")
        layers.append("uid:\(finalUID)")
        layers.append("gid:\(finalGID)")

        // MARK: 5. No new privileges (required for an unprivileged seccomp load; blocks setuid exec), not dumpable.
        try prctlChecked(.noNewPrivs, PR.setNoNewPrivs, 1, "prctl(PR_SET_NO_NEW_PRIVS, 1)")
        guard cordon_prctl(PR.getNoNewPrivs, 0, 0, 0, 0) == 1 else {
            throw JailError(step: .noNewPrivs, errno: EINVAL, detail: "PR_GET_NO_NEW_PRIVS is not 1")
        }
        layers.append("no_new_privs")
        // Deferred (non-root with a listener): done by finishAfterHandOver before the worker reads
        // anything but the supervisor's acknowledgement, so it holds before any plugin byte; a failure
        // there ends the worker.
        if !plan.defersDumpable { try prctlChecked(.dumpable, PR.setDumpable, 0, "prctl(PR_SET_DUMPABLE, 0)") }
        layers.append("non-dumpable")

        // MARK: 5b. Speculation. Indirect-branch speculation is never restricted per task unless
        // asked, and it crosses tasks: always force-disabled (FORCE: the plugin cannot re-enable it).
        // Store bypass only when the policy asks (it leaks within this process alone, and the seccomp
        // step passes SPEC_ALLOW otherwise, so the kernel's boot mode does not decide it either).
        for control in plan.speculationControls {
            if let layer = try control.forceDisable(required: plan.requiresSpeculationControl) { layers.append(layer) }
        }

        // MARK: 6. Seccomp, last: every step above needs syscalls the filter forbids.
        if plan.defaultAction == .trap, let slot = sigsysSlot {
            guard cordon_install_sigsys_reporter(slot) == 0 else {
                throw JailError(step: .seccomp, errno: errno, detail: "sigaction(SIGSYS)")
            }
            layers.append("sigsys-reporter")
        }
        let rc = plan.filter.withUnsafeBytes { cordon_seccomp_load_bpf($0.baseAddress, $0.count, plan.seccompFlags) }
        guard rc >= 0 else {
            throw JailError(step: .seccomp, errno: errno, detail: "seccomp(SECCOMP_SET_MODE_FILTER, 0x\(String(plan.seccompFlags, radix: 16)))")
        }
        let listener: Int32 = plan.wantsListener ? rc : -1
        layers.append("seccomp." + actionLayerName(plan.defaultAction))
        return ConfinementReport(layers: layers, listenerFD: listener, uid: finalUID, gid: finalGID)
    }

    /// The last step, once the supervisor has taken the seccomp listener: a plan that `defersDumpable`
    /// makes the worker non-dumpable now (the filter allows exactly `prctl(PR_SET_DUMPABLE, 0)` for it).
    public static func finishAfterHandOver(_ plan: ConfinementPlan) throws(JailError) {
        guard plan.defersDumpable else { return }
        try prctlChecked(.dumpable, PR.setDumpable, 0, "prctl(PR_SET_DUMPABLE, 0) after the listener hand-over")
    }

    static func actionLayerName(_ a: SeccompAction) -> String {
        switch a {
        case .killThread: "kill_thread"
        case .killProcess: "kill_process"
        case .trap: "trap"
        case .errno: "errno"
        case .trace: "trace"
        case .allow: "allow"
        case .log: "log"
        case .notify: "notify"
        }
    }

    // MARK: - Helpers

    /// prctl option numbers and values (linux/prctl.h, linux/securebits.h).
    enum PR {
        static let setPdeathsig: Int32 = 1
        static let getPdeathsig: Int32 = 2
        static let setDumpable: Int32 = 4
        static let capbsetRead: Int32 = 23
        static let capbsetDrop: Int32 = 24
        static let setSecurebits: Int32 = 28
        static let setNoNewPrivs: Int32 = 38
        static let getNoNewPrivs: Int32 = 39
        static let capAmbient: Int32 = 47
        static let capAmbientClearAll: UInt = 4
        /// NOROOT|NOROOT_LOCKED|KEEP_CAPS_LOCKED (KEEP_CAPS off)|NO_CAP_AMBIENT_RAISE|…_LOCKED.
        static let securebitsLocked: UInt = 0x01 | 0x02 | 0x20 | 0x40 | 0x80
    }

    static func prctlChecked(_ step: JailError.Step, _ option: Int32, _ arg: UInt, _ detail: String) throws(JailError) {
        guard cordon_prctl(option, arg, 0, 0, 0) == 0 else { throw JailError(step: step, errno: errno, detail: detail) }
    }

    /// Reads the whole of a small /proc file from offset 0 (pread: the fd is reused).
    static func readSmall(_ fd: Int32) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n >= 0 else { return nil }
        return Array(buffer[0..<n])
    }

    /// The ppid field (4th) of /proc/<pid>/stat; the command name may contain spaces and ')'.
    static func checkParent(_ statFD: Int32, _ plan: ConfinementPlan, detail: String) throws(JailError) {
        guard let bytes = readSmall(statFD) else { throw JailError(step: .parentDeath, errno: errno, detail: "read(/proc/self/stat)") }
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else {
            throw JailError(step: .parentDeath, errno: EINVAL, detail: "unparsable /proc/self/stat")
        }
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 2, let ppid = Int32(String(decoding: fields[1], as: UTF8.self)) else {
            throw JailError(step: .parentDeath, errno: EINVAL, detail: "unparsable /proc/self/stat")
        }
        guard ppid == plan.supervisorPID else {
            throw JailError(step: .parentDeath, errno: ESRCH, detail: "\(detail): ppid \(ppid), expected supervisor \(plan.supervisorPID)")
        }
    }

    static func readFile(_ path: String, step: JailError.Step) throws(JailError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw JailError(step: step, errno: errno, detail: "open(\(path))") }
        defer { close(fd) }
        guard let bytes = readSmall(fd) else { throw JailError(step: step, errno: errno, detail: "read(\(path))") }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The highest capability number: the kernel's answer, cross-checked with libcap's, larger wins
    /// (dropping a number the kernel does not know fails with EINVAL and ends the loop).
    static func lastCapability() throws(JailError) -> Int {
        let text = try readFile("/proc/sys/kernel/cap_last_cap", step: .preflight)
        guard let kernel = Int(text.filter { !$0.isWhitespace }), (0...255).contains(kernel) else {
            throw JailError(step: .preflight, errno: EINVAL, detail: "bad /proc/sys/kernel/cap_last_cap")
        }
        return max(kernel, Int(cap_max_bits()) - 1)
    }

    static func threadCount() throws(JailError) -> Int {
        guard let dir = opendir("/proc/self/task") else { throw JailError(step: .preflight, errno: errno, detail: "opendir(/proc/self/task)") }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            let first = withUnsafeBytes(of: entry.pointee.d_name) { $0[0] }
            if first != UInt8(ascii: ".") { count += 1 }
        }
        return count
    }

    static func nsLink(_ path: String) throws(JailError) -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        let n = buffer.withUnsafeMutableBufferPointer { readlink(path, $0.baseAddress!, $0.count - 1) }
        guard n > 0 else { throw JailError(step: .namespaces, errno: errno, detail: "readlink(\(path))") }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func writeProcFile(_ path: String, _ text: String) throws(JailError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw JailError(step: .userMapping, errno: errno, detail: "open(\(path))") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        // These files must be written in one write(2); a short write is a failure.
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw JailError(step: .userMapping, errno: n < 0 ? errno : EIO, detail: "write(\(path))") }
    }

    /// Private propagation, an empty read-only tmpfs as the new root, the old root detached.
    static func emptyRoot() throws(JailError) {
        func mnt(_ source: String?, _ target: String, _ type: String?, _ flags: UInt, _ data: String?) throws(JailError) {
            let rc = data.map { d in mount(source, target, type, flags, d) } ?? mount(source, target, type, flags, nil)
            guard rc == 0 else {
                throw JailError(step: .mount, errno: errno, detail: "mount(\(source ?? "none"), \(target), \(type ?? "none"), 0x\(String(flags, radix: 16)))")
            }
        }
        // Nothing below may propagate back to the host's mount namespace.
        try mnt(nil, "/", nil, UInt(MS_REC | MS_PRIVATE), nil)
        var st = stat()
        guard let point = newRootCandidates.first(where: { stat($0, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR }) else {
            throw JailError(step: .mount, errno: ENOENT, detail: "no mount point among \(newRootCandidates)")
        }
        let flags = UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC)
        // Tiny: the root holds no files, so a page and a handful of inodes suffice.
        try mnt("cordon", point, "tmpfs", flags, "size=4k,nr_inodes=4,mode=0555")
        guard chdir(point) == 0 else { throw JailError(step: .mount, errno: errno, detail: "chdir(\(point))") }
        // pivot_root(".", ".") stacks the old root on top of the new one (no put_old directory
        // needed, so the new root stays empty); the detach below then removes it.
        guard cordon_pivot_root(".", ".") == 0 else { throw JailError(step: .mount, errno: errno, detail: "pivot_root(\".\", \".\")") }
        guard umount2(".", Int32(MNT_DETACH)) == 0 else { throw JailError(step: .mount, errno: errno, detail: "umount2(old root, MNT_DETACH)") }
        guard chdir("/") == 0 else { throw JailError(step: .mount, errno: errno, detail: "chdir(/)") }
        try mnt(nil, "/", nil, UInt(MS_REMOUNT | MS_BIND | MS_RDONLY) | flags, nil)
        var fsType: Int64 = 0, mountFlags: UInt64 = 0
        guard cordon_statfs("/", &fsType, &mountFlags) == 0 else { throw JailError(step: .mount, errno: errno, detail: "statfs(/)") }
        guard fsType == 0x0102_1994 /* TMPFS_MAGIC */, mountFlags & 1 /* ST_RDONLY */ != 0 else {
            throw JailError(step: .mount, errno: EINVAL, detail: "new root is not a read-only tmpfs")
        }
    }

    static func setLimit(_ limit: PlannedRLimit) throws(JailError) {
        var want = rlimit(rlim_cur: rlim_t(limit.soft), rlim_max: rlim_t(limit.hard))
        let resource = __rlimit_resource_t(UInt32(limit.resource))
        guard setrlimit(resource, &want) == 0 else {
            throw JailError(step: .rlimits, errno: errno, detail: "setrlimit(\(limit.resource), \(limit.soft)/\(limit.hard))")
        }
        var got = rlimit()
        guard getrlimit(resource, &got) == 0, got.rlim_cur == want.rlim_cur, got.rlim_max == want.rlim_max else {
            throw JailError(step: .rlimits, errno: EINVAL, detail: "getrlimit(\(limit.resource)) disagrees")
        }
    }

    static func verifyIdentity(_ plan: ConfinementPlan) throws(JailError) {
        var r: uid_t = 0, e: uid_t = 0, s: uid_t = 0
        var gr: gid_t = 0, ge: gid_t = 0, gs: gid_t = 0
        guard cordon_getresuid(&r, &e, &s) == 0, cordon_getresgid(&gr, &ge, &gs) == 0,
              [r, e, s].allSatisfy({ $0 == plan.uid }), [gr, ge, gs].allSatisfy({ $0 == plan.gid }) else {
            throw JailError(step: .credentials, errno: EINVAL, detail: "uids/gids did not change to \(plan.uid)/\(plan.gid)")
        }
        guard getgroups(0, nil) == 0 else { throw JailError(step: .credentials, errno: EINVAL, detail: "supplementary groups remain") }
        // Regaining root must be impossible now.
        guard setuid(0) != 0 else { throw JailError(step: .credentials, errno: EINVAL, detail: "setuid(0) succeeded after the switch") }
    }

    /// Whether `capability` is in this process's effective set (false if it cannot be read).
    static func holdsEffective(capability: Int32) -> Bool {
        guard let caps = cap_get_proc() else { return false }
        defer { cap_free(UnsafeMutableRawPointer(caps)) }
        var value = CAP_CLEAR
        guard cap_get_flag(caps, cap_value_t(capability), CAP_EFFECTIVE, &value) == 0 else { return false }
        return value == CAP_SET
    }

    /// Clears permitted/effective/inheritable with libcap and verifies the result (and, when it could
    /// be emptied, that the bounding set is empty).
    static func clearCapabilitySets(boundingSetMustBeEmpty: Bool) throws(JailError) {
        guard let empty = cap_init() else { throw JailError(step: .capabilities, errno: errno, detail: "cap_init") }
        defer { cap_free(UnsafeMutableRawPointer(empty)) }
        guard cap_clear(empty) == 0 else { throw JailError(step: .capabilities, errno: errno, detail: "cap_clear") }
        guard cap_set_proc(empty) == 0 else { throw JailError(step: .capabilities, errno: errno, detail: "cap_set_proc(empty)") }
        guard let now = cap_get_proc() else { throw JailError(step: .capabilities, errno: errno, detail: "cap_get_proc") }
        defer { cap_free(UnsafeMutableRawPointer(now)) }
        guard cap_compare(now, empty) == 0 else { throw JailError(step: .capabilities, errno: EPERM, detail: "capabilities remain after cap_set_proc") }
        for cap in 0..<64 where boundingSetMustBeEmpty && cordon_prctl(PR.capbsetRead, UInt(cap), 0, 0, 0) == 1 {
            throw JailError(step: .capabilities, errno: EPERM, detail: "capability \(cap) remains in the bounding set")
        }
    }
}
