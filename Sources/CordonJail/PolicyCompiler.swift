import CCordonShims
import CordonPolicy
import CSeccomp
import Glibc

/// Supervisor-side: turns a `SandboxPolicy` into a `ConfinementPlan` (libseccomp builds the BPF here, in
/// the trusted process, so the worker only has to hand bytes to the kernel).
public enum PolicyCompiler {
    /// Compiles `policy` for worker `slot`. `createdNamespaces` is the NamespacePlanner attempt the spawn
    /// succeeded with: the part NamespacePlanner.cloneNamespaces says the clone created, plus the part
    /// the worker will create itself.
    /// `filter` may be a BPF program from `compileFilter(for: policy)` computed earlier: building it
    /// with libseccomp is the expensive part, and it does not depend on the slot.
    public static func compile(_ policy: SandboxPolicy, slot: UInt32, supervisorPID: Int32,
                               createdNamespaces: NamespaceSet, runningAsRoot: Bool,
                               filter precompiled: [UInt8]? = nil) throws(JailError) -> ConfinementPlan {
        func fail(_ detail: String, _ e: Int32 = EINVAL) -> JailError { JailError(step: .compile, errno: e, detail: detail) }
        guard supervisorPID > 0 else { throw fail("supervisor pid must be positive") }

        // Namespaces: a required namespace that is not in the attempt means the spawn must not proceed.
        let required = NamespaceSet.enforced(by: policy.namespaces)
        let satisfiedByUidSwitch: NamespaceSet = runningAsRoot ? [.user] : []
        let missing = required.subtracting(createdNamespaces).subtracting(satisfiedByUidSwitch)
        guard missing.isEmpty else {
            let floor = missing.intersection(NamespaceSet.heldByFloor(policy.namespaces))
            if !floor.isEmpty {
                throw fail("policy \(policy.name) does not run a worker without \(floor.layerNames.joined(separator: ", ")) " +
                           "(not in the attempt \(createdNamespaces)); opt into degradation with \"namespaces\": {\"allowDegraded\": true}", EPERM)
            }
            throw fail("required namespaces \(missing) are not in the attempt \(createdNamespaces)", EPERM)
        }
        let disabled = NamespaceSet(policy.namespaces, .disabled)
        guard createdNamespaces.isDisjoint(with: disabled) else { throw fail("attempt includes disabled namespaces") }
        if !runningAsRoot {
            guard !createdNamespaces.contains(.pid) else { throw fail("a PID namespace needs a root supervisor", EPERM) }
            guard createdNamespaces.isEmpty || createdNamespaces.contains(.user) else {
                throw fail("without root, namespaces need a user namespace", EPERM)
            }
        }

        // Identity: root hands out a distinct host uid per slot; non-root keeps its own (mapped 1:1).
        let uid: UInt32, gid: UInt32
        if runningAsRoot {
            guard slot < policy.identity.uidRangeCount else {
                throw fail("slot \(slot) is outside the policy's uid range (count \(policy.identity.uidRangeCount))", ERANGE)
            }
            uid = policy.identity.uidRangeStart + slot
            switch policy.identity.gid {
            case .perSlot: gid = uid
            case .fixed(let g): gid = g
            }
        } else {
            uid = getuid()
            gid = getgid()
        }

        let r = policy.rlimits
        let rlimits: [PlannedRLimit] = [
            .init(resource: RLimitResource.addressSpace, soft: r.addressSpaceBytes, hard: r.addressSpaceBytes),
            .init(resource: RLimitResource.cpu, soft: r.cpuSecondsSoft, hard: r.cpuSecondsHard),
            .init(resource: RLimitResource.openFiles, soft: r.openFiles, hard: r.openFiles),
            .init(resource: RLimitResource.fileSize, soft: r.fileSizeBytes, hard: r.fileSizeBytes),
            .init(resource: RLimitResource.core, soft: r.coreBytes, hard: r.coreBytes),
            .init(resource: RLimitResource.lockedMemory, soft: r.lockedMemoryBytes, hard: r.lockedMemoryBytes),
            .init(resource: RLimitResource.stack, soft: r.stackBytes, hard: r.stackBytes),
            .init(resource: RLimitResource.nproc, soft: r.processes, hard: r.processes),
        ]

        let filter: [UInt8]
        if let precompiled { filter = precompiled } else {
            filter = try compileFilter(for: policy, runningAsRoot: runningAsRoot)
        }
        var flags = SeccompFlags.tsync
        if policy.seccomp.usesNotify { flags |= SeccompFlags.newListener | SeccompFlags.tsyncESRCH }
        if policy.seccomp.flags.contains(.log) { flags |= SeccompFlags.log }
        if policy.seccomp.flags.contains(.waitKillableRecv) { flags |= SeccompFlags.waitKillableRecv }
        // The policy, not the kernel's boot mode, decides store bypass: a kernel that ties the
        // mitigation to seccomp (`spec_store_bypass_disable=seccomp`, the default before 5.16) would
        // otherwise turn it on for every worker whatever the policy says.
        if !policy.mitigatesSpeculativeStoreBypass { flags |= SeccompFlags.specAllow }

        return ConfinementPlan(
            policyName: policy.name, slot: slot, supervisorPID: supervisorPID, runningAsRoot: runningAsRoot,
            requestedNamespaces: createdNamespaces, requiredNamespaces: required,
            cloneNamespaces: NamespacePlanner.cloneNamespaces(for: createdNamespaces, runningAsRoot: runningAsRoot),
            workerNamespaces: NamespacePlanner.workerNamespaces(for: createdNamespaces, runningAsRoot: runningAsRoot),
            uid: uid, gid: gid, rlimits: rlimits, defaultAction: policy.seccomp.defaultAction,
            seccompFlags: flags, filter: filter, requiresSpeculationControl: policy.requiresSpeculationControl,
            mitigatesStoreBypass: policy.mitigatesSpeculativeStoreBypass)
    }

    /// The BPF program `compile` embeds in every plan of `policy`: its seccomp profile with what the
    /// rest of the policy adds (the donation rules of `wasi.donateReadOnlyFiles`), for a supervisor that
    /// is or is not root (`effectiveProfile`).
    public static func compileFilter(for policy: SandboxPolicy, runningAsRoot: Bool) throws(JailError) -> [UInt8] {
        try compileFilter(policy.seccomp, runningAsRoot: runningAsRoot, donatesFiles: policy.wasi.donateReadOnlyFiles)
    }

    /// The BPF program for a bare seccomp profile; a policy's is `compileFilter(for:runningAsRoot:)`.
    package static func compileFilter(_ profile: SeccompProfile, runningAsRoot: Bool, donatesFiles: Bool) throws(JailError) -> [UInt8] {
        try SeccompBuilder.exportBPF(effectiveProfile(profile, runningAsRoot: runningAsRoot, donatesFiles: donatesFiles))
    }

    /// The profile a worker loads. Without root and with a listener, one rule is added: `prctl` with
    /// exactly `PR_SET_DUMPABLE, 0`, for the step the worker takes after the listener hand-over
    /// (`ConfinementPlan.defersDumpable`). Making itself less accessible is all it allows.
    ///
    /// With `donatesFiles` (the policy's `wasi.donateReadOnlyFiles`), the rules a worker needs to take
    /// and read files the broker donates (docs/wasi.md) are added, and nothing more: `recvmsg` on the
    /// donation socket only, `dup3` only into the donated range with `O_CLOEXEC`, and `read`, `readv`,
    /// `pread64`, `preadv` only on fds inside that range. No open, no stat, no write on them.
    public static func effectiveProfile(_ profile: SeccompProfile, runningAsRoot: Bool, donatesFiles: Bool = false) -> SeccompProfile {
        var effective = profile
        if !runningAsRoot, profile.usesNotify {
            effective.syscalls.append(SeccompRule(names: ["prctl"], action: .allow, args: [
                SeccompArg(index: 0, value: UInt64(Confinement.PR.setDumpable), op: .equal),
                SeccompArg(index: 1, value: 0, op: .equal),
            ]))
        }
        if donatesFiles { effective.syscalls += donationRules }
        return effective
    }

    /// The donation rules. The range is a power-of-two block aligned to its size, so "inside it" is
    /// one masked comparison (libseccomp cannot AND two comparisons on one argument). The mask covers
    /// the low 32 bits, the `int` the kernel reads the fd as.
    static var donationRules: [SeccompRule] {
        let range = WASIPolicy.donatedFDs
        let size = UInt64(range.count)
        precondition(size.nonzeroBitCount == 1 && UInt64(range.lowerBound) % size == 0, "donated fd range must be an aligned power of two")
        let inRange = { (index: UInt32) in
            SeccompArg(index: index, value: 0xFFFF_FFFF & ~(size - 1), valueTwo: UInt64(range.lowerBound), op: .maskedEqual)
        }
        return [
            SeccompRule(names: ["recvmsg"], action: .allow, args: [
                SeccompArg(index: 0, value: UInt64(WASIPolicy.donationSocketFD), op: .equal),
            ]),
            SeccompRule(names: ["dup3"], action: .allow, args: [inRange(1), SeccompArg(index: 2, value: UInt64(O_CLOEXEC), op: .equal)]),
            SeccompRule(names: ["read", "readv", "pread64", "preadv"], action: .allow, args: [inRange(0)]),
        ]
    }

    /// Human-readable effective policy for `cordon policy check`: the filter as libseccomp's PFC
    /// (pseudo-code of the exact BPF), the limits and the namespace plan.
    public static func describe(_ policy: SandboxPolicy) throws -> String {
        // The PFC shows the donation rules the worker really loads; the non-root prctl rule is a note below.
        let pfc = try SeccompBuilder.exportPFC(effectiveProfile(policy.seccomp, runningAsRoot: true,
                                                                donatesFiles: policy.wasi.donateReadOnlyFiles))
        let r = policy.rlimits, l = policy.limits, w = policy.wasm, i = policy.identity, n = policy.namespaces
        var out = "# policy \(policy.name)\n"
        out += "# seccomp default \(policy.seccomp.defaultAction)"
        if let e = policy.seccomp.defaultErrnoRet { out += " errno \(e)" }
        out += ", \(policy.seccomp.syscalls.count) rules\n"
        out += "# rlimits: AS=\(r.addressSpaceBytes) CPU=\(r.cpuSecondsSoft)/\(r.cpuSecondsHard) NOFILE=\(r.openFiles) "
        out += "NPROC=\(r.processes) FSIZE=\(r.fileSizeBytes) CORE=\(r.coreBytes) MEMLOCK=\(r.lockedMemoryBytes) STACK=\(r.stackBytes)\n"
        out += "# namespaces: user=\(n.user.rawValue) mount=\(n.mount.rawValue) network=\(n.network.rawValue) "
        out += "ipc=\(n.ipc.rawValue) uts=\(n.uts.rawValue) pid=\(n.pid.rawValue) cgroup=\(n.cgroup.rawValue)"
        out += n.allowDegraded ? " allowDegraded (user and mount may be given up)\n" : "\n"
        out += "# speculation control: indirect branch\(policy.mitigatesSpeculativeStoreBypass ? " and store bypass" : "") force-disabled, "
        out += "\(policy.requiresSpeculationControl ? "required" : "reported when unavailable")\n"
        for root in [true, false] {
            let attempts = NamespacePlanner.attempts(for: n, runningAsRoot: root).map(\.description).joined(separator: " → ")
            out += "# attempts (\(root ? "root" : "non-root")): \(attempts)\n"
        }
        let gid: String
        switch i.gid { case .perSlot: gid = "perSlot"; case .fixed(let g): gid = "fixed \(g)" }
        out += "# identity: uids \(i.uidRangeStart)..<\(UInt64(i.uidRangeStart) + UInt64(i.uidRangeCount)) gid \(gid)\n"
        out += "# wasm: pages=\(w.maxMemoryPages) table=\(w.maxTableElements) fuel=\(w.maxFuelPerCall) depth=\(w.maxCallDepth) "
        out += "reentry=\(w.maxReentryDepth) module_bytes=\(w.maxModuleBytes)\n"
        out += "# limits: wall=\(l.maxWallTimeMillisecondsPerCall)ms cpu=\(l.maxCPUSecondsPerWorker)s hostcalls=\(l.maxHostCallsPerSecond)/s,\(l.maxHostCallsPerCall)/call "
        out += "hostcallBytes=\(l.maxHostCallBytes) messageBytes=\(l.maxMessageBytes) log=\(l.maxLogBytesPerSecond)B/s\n"
        let x = policy.wasi
        out += "# wasi: openFiles=\(x.maxOpenFiles) writeBytesPerCall=\(x.maxWriteBytesPerCall) outputBytes=\(x.maxOutputBytes) "
        out += "clockResolution=\(x.clockResolutionNanoseconds)ns donateReadOnlyFiles=\(x.donateReadOnlyFiles)\n"
        for skipped in policy.seccomp.skippedSyscalls {
            // Allowed by the file, unknown to this libseccomp: not in the filter, so the default denies it.
            out += "# skipped: \(skipped.name) at \(skipped.path) (unknown to libseccomp \(SeccompBuilder.libraryVersion); denied by the default)\n"
        }
        if policy.wasi.donateReadOnlyFiles {
            let r = WASIPolicy.donatedFDs
            out += "# file donation: the filter also allows recvmsg on fd \(WASIPolicy.donationSocketFD), dup3 into fds \(r.lowerBound)..<\(r.upperBound) "
            out += "(O_CLOEXEC) and read/readv/pread64/preadv on fds \(r.lowerBound)..<\(r.upperBound)\n"
        }
        if policy.seccomp.usesNotify {
            out += "# non-root supervisor: the filter also allows prctl(PR_SET_DUMPABLE, 0), for the step after the listener hand-over\n"
        }
        return out + pfc
    }
}

extension SeccompProfile {
    /// Whether any action (default or rule) is SCMP_ACT_NOTIFY, so the load needs NEW_LISTENER.
    public var usesNotify: Bool { defaultAction == .notify || syscalls.contains { $0.action == .notify } }
}

/// libseccomp driving: filter construction, moby rule conditions, export to BPF / PFC.
enum SeccompBuilder {
    /// The kernel action word for `action` (SCMP_ACT_ERRNO/TRACE are function-like macros Swift cannot import).
    static func actionValue(_ action: SeccompAction, errnoRet: UInt32?) -> UInt32 {
        switch action {
        case .killThread: 0x0000_0000
        case .killProcess: 0x8000_0000
        case .trap: 0x0003_0000
        // OCI: an ERRNO action without errnoRet returns EPERM.
        case .errno: 0x0005_0000 | ((errnoRet ?? UInt32(EPERM)) & 0xFFFF)
        case .trace: 0x7FF0_0000 | ((errnoRet ?? UInt32(EPERM)) & 0xFFFF)
        case .allow: 0x7FFF_0000
        case .log: 0x7FFC_0000
        case .notify: 0x7FC0_0000
        }
    }

    /// The linked libseccomp's version ("2.5.4"), for messages about names it does not know.
    static var libraryVersion: String {
        guard let v = seccomp_version() else { return "?" }
        return "\(v.pointee.major).\(v.pointee.minor).\(v.pointee.micro)"
    }

    /// Names moby uses for the native architecture in `includes.arches` / `excludes.arches`.
    static var nativeArchNames: Set<String> {
        switch SyscallTable.nativeArchitecture {
        case SyscallTable.architecture(named: "SCMP_ARCH_X86_64"): ["amd64", "x86_64", "SCMP_ARCH_X86_64"]
        case SyscallTable.architecture(named: "SCMP_ARCH_AARCH64"): ["arm64", "aarch64", "SCMP_ARCH_AARCH64"]
        default: []
        }
    }

    /// moby semantics for a worker that holds no capabilities (see docs/policies.md).
    static func ruleApplies(_ rule: SeccompRule) -> Bool {
        if !rule.includes.caps.isEmpty { return false }  // the worker holds no capability
        if !rule.includes.arches.isEmpty && rule.includes.arches.allSatisfy({ !nativeArchNames.contains($0) }) { return false }
        if let k = rule.includes.minKernel {
            // Unknown running kernel: skip the rule (these rules allow newer syscalls; skipping denies).
            guard let need = KernelVersion(k), let have = KernelVersion.running, have >= need else { return false }
        }
        if rule.excludes.arches.contains(where: { nativeArchNames.contains($0) }) { return false }
        return true  // excludes.caps never matches: the worker holds no capability
    }

    static func compareOp(_ op: SeccompOp) -> scmp_compare {
        switch op {
        case .notEqual: SCMP_CMP_NE
        case .lessThan: SCMP_CMP_LT
        case .lessOrEqual: SCMP_CMP_LE
        case .equal: SCMP_CMP_EQ
        case .greaterOrEqual: SCMP_CMP_GE
        case .greaterThan: SCMP_CMP_GT
        case .maskedEqual: SCMP_CMP_MASKED_EQ
        }
    }

    static func fail(_ detail: String, _ rc: Int32) -> JailError {
        JailError(step: .compile, errno: rc < 0 ? -rc : rc, detail: detail)
    }

    /// Builds the libseccomp context; the caller releases it.
    static func build(_ profile: SeccompProfile) throws(JailError) -> scmp_filter_ctx {
        let defaultValue = actionValue(profile.defaultAction, errnoRet: profile.defaultErrnoRet)
        guard let ctx = seccomp_init(defaultValue) else { throw fail("seccomp_init", EINVAL) }
        do throws(JailError) {
            // A syscall from a foreign ABI (i386 int 0x80, x32) is an escape attempt: kill, do not ask.
            var rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, 0x8000_0000)
            guard rc == 0 else { throw fail("seccomp_attr_set(ACT_BADARCH)", rc) }
            // Cordon sets NO_NEW_PRIVS itself (step 5); the exported BPF does not depend on this.
            rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)
            guard rc == 0 else { throw fail("seccomp_attr_set(CTL_NNP)", rc) }

            var arches = Set(profile.architectures.compactMap(SyscallTable.architecture(named:)))
            for entry in profile.archMap where SyscallTable.architecture(named: entry.architecture) == SyscallTable.nativeArchitecture {
                arches.formUnion(entry.subArchitectures.compactMap(SyscallTable.architecture(named:)))
            }
            arches.remove(SyscallTable.nativeArchitecture)  // seccomp_init already added it
            for a in arches.sorted() {
                rc = seccomp_arch_add(ctx, a)
                guard rc == 0 || rc == -EEXIST else { throw fail("seccomp_arch_add(\(a))", rc) }
            }

            let skipped = Set(profile.skippedSyscalls.map(\.name))
            for rule in profile.syscalls where ruleApplies(rule) {
                let value = actionValue(rule.action, errnoRet: rule.errnoRet)
                // Same action as the default: a no-op that libseccomp would reject with EACCES.
                if value == defaultValue { continue }
                let conditions = rule.args.map {
                    scmp_arg_cmp(arg: $0.index, op: compareOp($0.op), datum_a: $0.value, datum_b: $0.valueTwo)
                }
                // Conditions on distinct arguments are ANDed in one rule. Several conditions on the same
                // argument cannot be ANDed by libseccomp; like runc, each becomes its own rule (ORed).
                let distinct = Set(rule.args.map(\.index)).count == rule.args.count
                let groups: [[scmp_arg_cmp]] = distinct ? [conditions] : conditions.map { [$0] }
                for name in rule.names {
                    let nr = seccomp_syscall_resolve_name(name)
                    if nr == __NR_SCMP_ERROR {
                        // Left out as runc does: an allow rule under a denying default, and the parser
                        // recorded it (SeccompProfile.skippedSyscalls), so the default denies it and the
                        // records say so. Any other unknown name cannot be filtered as the rule says.
                        if rule.action == .allow, profile.defaultAction.denies, skipped.contains(name) { continue }
                        throw fail("unknown syscall \(name) in a \(rule.action) rule (not in skippedSyscalls)", EINVAL)
                    }
                    for group in groups {
                        rc = group.withUnsafeBufferPointer {
                            seccomp_rule_add_array(ctx, value, nr, UInt32($0.count), $0.baseAddress)
                        }
                        // A pseudo-syscall absent from every filtered architecture (e.g. socketcall on
                        // x86_64 alone) cannot be called, so there is nothing to filter.
                        if rc == -EDOM || (nr < 0 && rc == -EINVAL) { continue }
                        guard rc == 0 else { throw fail("seccomp_rule_add_array(\(name), \(rule.action))", rc) }
                    }
                }
            }
            return ctx
        } catch {
            seccomp_release(ctx)
            throw error
        }
    }

    /// Exports the filter as classic BPF. libseccomp 2.5.4 has no seccomp_export_bpf_mem, so it writes
    /// to a memfd that is read back (no filesystem involved).
    static func exportBPF(_ profile: SeccompProfile) throws(JailError) -> [UInt8] {
        let ctx = try build(profile)
        defer { seccomp_release(ctx) }
        let bytes = try exportViaMemfd("cordon-bpf") { seccomp_export_bpf(ctx, $0) }
        guard !bytes.isEmpty, bytes.count % 8 == 0, bytes.count / 8 <= ConfinementPlan.maxFilterInstructions else {
            throw fail("exported filter has \(bytes.count) bytes (BPF_MAXINSNS is \(ConfinementPlan.maxFilterInstructions))", E2BIG)
        }
        return bytes
    }

    static func exportPFC(_ profile: SeccompProfile) throws(JailError) -> String {
        let ctx = try build(profile)
        defer { seccomp_release(ctx) }
        return String(decoding: try exportViaMemfd("cordon-pfc") { seccomp_export_pfc(ctx, $0) }, as: UTF8.self)
    }

    static func exportViaMemfd(_ name: String, _ export: (Int32) -> Int32) throws(JailError) -> [UInt8] {
        let fd = cordon_memfd_create(name, 1 /* MFD_CLOEXEC */)
        guard fd >= 0 else { throw fail("memfd_create", errno) }
        defer { close(fd) }
        let rc = export(fd)
        guard rc == 0 else { throw fail("seccomp_export(\(name))", rc) }
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw fail("lseek", errno) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw fail("read(memfd)", errno) }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }
}

/// RLIMIT_* numbers (asm-generic values, shared by x86_64 and arm64; Glibc imports them only under _GNU_SOURCE).
public enum RLimitResource {
    public static let cpu: Int32 = 0
    public static let fileSize: Int32 = 1
    public static let stack: Int32 = 3
    public static let core: Int32 = 4
    public static let nproc: Int32 = 6
    public static let openFiles: Int32 = 7
    public static let lockedMemory: Int32 = 8
    public static let addressSpace: Int32 = 9
}
