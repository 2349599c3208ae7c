import CordonJail
import CordonPolicy
import Glibc
import Testing

/// Real processes, real seccomp: the probe confines itself exactly like a worker, then tries one thing.
/// Probes run with defaultAction TRAP (+ the SIGSYS reporter) or KILL_PROCESS: in NOTIFY mode nobody
/// would answer the listener and the probe would block forever.
@Suite(.enabled(if: getuid() == 0, "the escape catalogue needs root (uid switch, PID namespace)"))
struct EscapeTests {
    /// attempt → the syscall seccomp must stop it at.
    static let catalogue: [(String, String)] = [
        ("socket", "socket"), ("connect", "connect"), ("open-etc-passwd", "openat"), ("execve", "execve"),
        ("fork", "fork"), ("clone", "clone"), ("clone3", "clone3"), ("ptrace", "ptrace"), ("kill-parent", "kill"),
        ("setuid0", "setuid"), ("mount", "mount"), ("unshare", "unshare"), ("bpf", "bpf"),
        ("perf_event_open", "perf_event_open"), ("io_uring_setup", "io_uring_setup"), ("userfaultfd", "userfaultfd"),
        ("keyctl", "keyctl"), ("process_vm_readv", "process_vm_readv"), ("mmap-exec", "mmap"),
        ("mprotect-exec", "mprotect"), ("memfd_create", "memfd_create"), ("chdir-open", "chdir"),
        ("setrlimit-raise", "setrlimit"), ("capset", "capset"), ("prctl", "prctl"), ("ioctl-tiocsti", "ioctl"),
        ("reboot", "reboot"), ("write-stdout", "write"), ("futex-requeue", "futex"), ("chroot", "chroot"),
        ("open-by-handle", "open_by_handle_at"), ("pidfd_open", "pidfd_open"), ("setns", "setns"),
        ("madvise-mergeable", "madvise"), ("mremap-fixed", "mremap"),
    ]

    static let trapPlan: ConfinementPlan = try! testPlan(.builtinDefault, defaultAction: .trap)

    @Test func catalogueIsLargeEnough() { #expect(Self.catalogue.count >= 25) }

    @Test func noneSucceeds() {
        let o = runProbe(Self.trapPlan, "none")
        #expect(o.end == .exited(0), "\(o)")
        #expect(o.report[4] == 2)
    }

    @Test(arguments: catalogue.map(\.0))
    func seccompStopsEveryAttempt(_ attempt: String) throws {
        let expected = try #require(Self.catalogue.first { $0.0 == attempt }?.1)
        let o = runProbe(Self.trapPlan, attempt)
        // 159: the SIGSYS reporter's exit status; the kernel's si_syscall names the call.
        #expect(o.end == .exited(159), "\(attempt): \(o)")
        #expect(o.report[4] == 1, "confined but the attempt must never return: \(o)")
        let nr = try #require(o.sigsysSyscall, "\(o)")
        #expect(SyscallTable.name(of: nr, arch: o.report[2]) == expected, "\(attempt) stopped at nr \(nr)")
    }

    /// The advice the worker needs passes the filter; MADV_MERGEABLE (above) does not.
    @Test func madviseDontNeedIsAllowed() {
        let o = runProbe(Self.trapPlan, "madvise-dontneed")
        #expect(o.end == .exited(0), "\(o)")
    }

    @Test(arguments: ["socket", "execve", "mmap-exec", "clone3"])
    func killProcessDiesBySIGSYS(_ attempt: String) throws {
        let plan = try testPlan(.builtinDefault, defaultAction: .killProcess)
        let o = runProbe(plan, attempt)
        #expect(o.end == .signaled(SIGSYS), "\(attempt): \(o)")
    }

    /// Defence in depth: with seccomp deliberately opened for these calls, the other layers still
    /// stop each one; the errno says which layer did.
    static let layered: [(attempt: String, syscalls: [String], errno: Int32, layer: String)] = [
        ("open-etc-passwd", ["openat"], ENOENT, "filesystem.empty-root"),
        ("chdir-open", ["chdir"], ENOENT, "filesystem.empty-root"),
        ("fork", ["fork"], EAGAIN, "rlimits (RLIMIT_NPROC=0 after the uid switch)"),
        ("setuid0", ["setuid"], EPERM, "capabilities (uid 200007, no CAP_SETUID)"),
        ("mount", ["mount"], EPERM, "capabilities (no CAP_SYS_ADMIN)"),
        ("chroot", ["chroot"], EPERM, "capabilities (no CAP_SYS_CHROOT)"),
        ("capset", ["capset"], EPERM, "capabilities (bounding set empty)"),
        ("setrlimit-raise", ["setrlimit"], EPERM, "rlimits (hard limit, no CAP_SYS_RESOURCE)"),
        ("reboot", ["reboot"], EPERM, "capabilities (no CAP_SYS_BOOT)"),
        ("kill-parent", ["kill"], ESRCH, "namespace.pid (supervisor invisible)"),
        ("ptrace", ["ptrace"], ESRCH, "namespace.pid"),
        ("process_vm_readv", ["process_vm_readv"], ESRCH, "namespace.pid"),
        ("pidfd_open", ["pidfd_open"], ESRCH, "namespace.pid"),
    ]

    @Test(arguments: layered.map(\.attempt))
    func otherLayersStopWhatSeccompLetsThrough(_ attempt: String) throws {
        let row = try #require(Self.layered.first { $0.attempt == attempt })
        var policy = SandboxPolicy.builtinDefault
        policy.seccomp.syscalls.append(SeccompRule(names: row.syscalls, action: .allow))
        let plan = try testPlan(policy, defaultAction: .trap)
        let o = runProbe(plan, attempt)
        #expect(o.end == .exited(1), "\(attempt) (\(row.layer)): \(o)")
        #expect(o.failedErrno == row.errno, "\(attempt) expected errno \(row.errno) from \(row.layer): \(o)")
    }

    @Test func liveProbeShowsEveryLayerInProc() throws {
        let plan = try testPlan(.builtinDefault, defaultAction: .killProcess)
        var status = ""
        var nsDiffer: [String: Bool] = [:]
        let o = runProbe(plan, "block") { pid in
            for _ in 0..<500 {
                status = String(decoding: readFileBytes("/proc/\(pid)/status"), as: UTF8.self)
                if status.contains("Seccomp:\t2") { break }
                usleep(10_000)
            }
            for ns in ["net", "mnt", "pid", "ipc", "uts", "cgroup"] {
                nsDiffer[ns] = link("/proc/\(pid)/ns/\(ns)") != link("/proc/self/ns/\(ns)")
            }
        }
        #expect(o.end == .signaled(SIGKILL), "\(o)")
        func field(_ name: String) -> String? {
            status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                .map { String($0.dropFirst(name.count + 1)).trimmingPrefix(while: { $0 == "\t" || $0 == " " }) }
                .map(String.init)
        }
        #expect(field("Seccomp") == "2", "\(status)")
        #expect(field("NoNewPrivs") == "1")
        for cap in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
            #expect(field(cap) == "0000000000000000", "\(cap)")
        }
        #expect(field("Uid") == "200007\t200007\t200007\t200007")
        #expect(field("Gid") == "200007\t200007\t200007\t200007")
        #expect(field("Groups") == "")
        #expect(field("Threads") == "1")
        // Force-disabled speculation, where this kernel lets a task control it (see SpeculationExpectation):
        // indirect branch always; store bypass not under the default policy (SPEC_ALLOW: the filter
        // did not turn it on either), so the probe keeps this process's own state.
        #expect(!Self.trapPlan.mitigatesStoreBypass)
        if SpeculationExpectation.storeBypass != nil {
            #expect(field("Speculation_Store_Bypass") == SpeculationExpectation.ownField("Speculation_Store_Bypass"), "\(status)")
        }
        if let expected = SpeculationExpectation.indirectBranch { #expect(field("SpeculationIndirectBranch") == expected, "\(status)") }
        for (ns, differs) in nsDiffer { #expect(differs, "namespace \(ns) is shared with the test process") }
        #expect(nsDiffer.count == 6)
    }

    func link(_ path: String) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        let n = readlink(path, &buffer, buffer.count - 1)
        return n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "error \(errno)"
    }
}

/// The confinement report and the non-default paths: notify, degraded, strict, non-root.
@Suite(.enabled(if: getuid() == 0, "needs root"))
struct ConfinementPathTests {
    @Test func layersAreReportedInOrder() {
        let o = runProbe(EscapeTests.trapPlan, "none")
        #expect(o.end == .exited(0), "\(o)")
        // Speculation layers depend on the CPU and the kernel's mitigation mode (SpeculationTests).
        #expect(o.layers.filter { !$0.hasPrefix("speculation.") } == [
            "parent-death", "namespace.mount", "namespace.net", "namespace.ipc", "namespace.uts", "namespace.pid",
            "namespace.cgroup", "filesystem.empty-root", "rlimits", "capabilities", "uid:200007", "gid:200007",
            "no_new_privs", "non-dumpable", "sigsys-reporter", "seccomp.trap",
        ])
        #expect(o.listenerFD == -1)
    }

    @Test func notifyModeReturnsAListener() throws {
        // The real default: NOTIFY with NEW_LISTENER|TSYNC|TSYNC_ESRCH. "none" makes no denied call,
        // so nothing waits on the (unread) listener.
        let plan = try testPlan(.builtinDefault, defaultAction: .notify)
        #expect(plan.wantsListener)
        let o = runProbe(plan, "none")
        #expect(o.end == .exited(0), "\(o)")
        #expect(o.listenerFD >= 3, "\(o)")
        #expect(o.layers.last == "seccomp.notify")
    }

    @Test func strictPolicyConfines() throws {
        let o = runProbe(try testPlan(.builtinStrict, defaultAction: .trap, slot: 1), "socket")
        #expect(o.end == .exited(159), "\(o)")
        #expect(o.layers.contains("namespace.pid") && o.layers.contains("uid:300001"), "\(o)")
    }

    @Test func degradedPlanStillHasSeccompAndReportsWhatIsMissing() throws {
        var policy = SandboxPolicy.builtinDefault
        policy.seccomp.defaultAction = .trap
        policy.namespaces.allowDegraded = true   // opted in: without it, compile refuses (PlanTests)
        let plan = try PolicyCompiler.compile(policy, slot: 2, supervisorPID: getpid(), createdNamespaces: [], runningAsRoot: true)
        let o = runProbe(plan, "none")
        #expect(o.end == .exited(0), "\(o)")
        #expect(!o.layers.contains { $0.hasPrefix("namespace.") || $0 == "filesystem.empty-root" }, "\(o)")
        #expect(o.layers.contains("seccomp.trap") && o.layers.contains("capabilities"))
        let stopped = runProbe(plan, "open-etc-passwd")
        #expect(stopped.end == .exited(159), "\(stopped)")
    }

    @Test func tamperedPlanIsRefusedByTheWorker() throws {
        // A plan that drops a namespace its policy requires: the worker itself refuses at step 2.
        var plan = EscapeTests.trapPlan
        plan.cloneNamespaces.remove(.pid)
        plan.requestedNamespaces.remove(.pid)
        plan.requiredNamespaces = [.pid]
        let o = runProbe(plan, "none")
        #expect(o.end == .exited(3), "\(o)")
        #expect(o.report[5] == UInt32(JailError.Step.allCases.firstIndex(of: .namespaces)!), "\(o)")
    }

    @Test(.enabled(if: access("/usr/bin/setpriv", X_OK) == 0))
    func nonRootWorkerUnsharesItsOwnNamespaces() throws {
        let uid: UInt32 = 65_000
        var policy = SandboxPolicy.builtinDefault
        policy.seccomp.defaultAction = .trap
        let attempt = NamespacePlanner.attempts(for: policy.namespaces, runningAsRoot: false)[0]
        var plan = try PolicyCompiler.compile(policy, slot: 0, supervisorPID: getpid(), createdNamespaces: attempt, runningAsRoot: false)
        // compile() took this (root) process's ids; the probe runs as `uid` via setpriv.
        plan.uid = uid
        plan.gid = uid
        let o = runProbe(plan, "socket", asUser: uid)
        #expect(o.end == .exited(159), "\(o)")
        #expect(o.layers.contains("namespace.user") && o.layers.contains("filesystem.empty-root"), "\(o)")
        #expect(o.layers.contains("uid:\(uid)"), "\(o)")
    }
}
