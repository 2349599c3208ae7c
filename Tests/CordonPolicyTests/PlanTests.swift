import CordonJail
import CordonPolicy
import Glibc
import Testing

@Suite struct PlanTests {
    static func plan() throws -> ConfinementPlan {
        try PolicyCompiler.compile(.builtinDefault, slot: 3, supervisorPID: 4242,
                                   createdNamespaces: [.mount, .network, .ipc, .uts, .pid, .cgroup], runningAsRoot: true)
    }

    @Test func compileAssignsIdentityAndFlags() throws {
        let p = try Self.plan()
        #expect(p.uid == 200_003 && p.gid == 200_003)
        #expect(p.cloneNamespaces == [.mount, .network, .ipc, .uts, .pid, .cgroup])
        #expect(p.workerNamespaces.isEmpty)
        #expect(p.wantsListener)
        #expect(p.seccompFlags & SeccompFlags.tsync != 0)
        #expect(p.filter.count % 8 == 0 && p.filter.count > 8)
        #expect(p.rlimits.contains { $0.resource == RLimitResource.nproc && $0.hard == 0 })
    }

    @Test func roundTrip() throws {
        let p = try Self.plan()
        #expect(try ConfinementPlan.decode(p.encoded()) == p)
    }

    @Test func everyTruncationAndExtensionIsRejected() throws {
        let bytes = try Self.plan().encoded()
        for n in 0..<bytes.count {
            #expect(throws: JailError.self) { try ConfinementPlan.decode(Array(bytes.prefix(n))) }
        }
        #expect(throws: JailError.self) { try ConfinementPlan.decode(bytes + [0]) }
        var badMagic = bytes; badMagic[0] ^= 1
        #expect(throws: JailError.self) { try ConfinementPlan.decode(badMagic) }
        var badVersion = bytes; badVersion[4] = 9
        #expect(throws: JailError.self) { try ConfinementPlan.decode(badVersion) }
        do {
            _ = try ConfinementPlan.decode(Array(bytes.prefix(20)))
        } catch {
            #expect(error.step == .planDecode && error.errno == EINVAL)
        }
    }

    @Test func rootPlanMustLeaveRoot() throws {
        var p = try Self.plan()
        p.uid = 0
        #expect(throws: JailError.self) { try ConfinementPlan.decode(p.encoded()) }
    }

    @Test func compileRefusesWhatThePolicyForbids() {
        // strict requires every namespace: an attempt without network must not compile.
        #expect(throws: JailError.self) {
            try PolicyCompiler.compile(.builtinStrict, slot: 0, supervisorPID: 1, createdNamespaces: [.mount, .pid], runningAsRoot: true)
        }
        // A slot outside the uid range.
        #expect(throws: JailError.self) {
            try PolicyCompiler.compile(.builtinDefault, slot: 1000, supervisorPID: 1, createdNamespaces: [], runningAsRoot: true)
        }
        // Without root there is no PID namespace.
        #expect(throws: JailError.self) {
            try PolicyCompiler.compile(.builtinDefault, slot: 0, supervisorPID: 1, createdNamespaces: [.user, .pid], runningAsRoot: false)
        }
    }

    /// The default policy fails closed: a worker without user+mount namespaces is refused unless the
    /// policy opts into degradation, and the error names the missing layer and the opt-in.
    @Test func defaultPolicyRefusesToCompileBelowTheFloor() throws {
        do {
            _ = try PolicyCompiler.compile(.builtinDefault, slot: 0, supervisorPID: 1, createdNamespaces: [.network], runningAsRoot: true)
            Issue.record("compiled without a mount namespace")
        } catch {
            #expect(error.errno == EPERM)
            #expect(error.detail.contains("namespace.mount") && error.detail.contains("allowDegraded"), "\(error)")
        }
        do {
            _ = try PolicyCompiler.compile(.builtinDefault, slot: 0, supervisorPID: 1, createdNamespaces: [], runningAsRoot: false)
            Issue.record("compiled without user and mount namespaces")
        } catch {
            #expect(error.detail.contains("namespace.user, namespace.mount"), "\(error)")
        }
        var degradable = SandboxPolicy.builtinDefault
        degradable.namespaces.allowDegraded = true
        let plan = try PolicyCompiler.compile(degradable, slot: 0, supervisorPID: 1, createdNamespaces: [], runningAsRoot: false)
        #expect(plan.requiredNamespaces.isEmpty)
        // The worker is told the floor too, and checks it itself (a tampered plan is refused at step 2).
        let strictPlan = try PolicyCompiler.compile(.builtinDefault, slot: 0, supervisorPID: 1, createdNamespaces: [.mount], runningAsRoot: true)
        #expect(strictPlan.requiredNamespaces == [.user, .mount])
    }

    @Test func speculationRequirementTravelsInThePlan() throws {
        var policy = SandboxPolicy.builtinDefault
        policy.requiresSpeculationControl = true
        let plan = try PolicyCompiler.compile(policy, slot: 0, supervisorPID: 1, createdNamespaces: [.mount], runningAsRoot: true)
        #expect(plan.requiresSpeculationControl)
        #expect(try ConfinementPlan.decode(plan.encoded()).requiresSpeculationControl)
        #expect(!(try Self.plan()).requiresSpeculationControl)
    }

    /// Store bypass is the policy's choice: off by default (the filter is loaded with SPEC_ALLOW, so the
    /// kernel's seccomp mode cannot turn it on), on with `mitigateSpeculativeStoreBypass`; the built-in
    /// strict policy asks for it. Indirect branch is always in the plan.
    @Test func storeBypassMitigationTravelsInThePlan() throws {
        let plain = try Self.plan()
        #expect(!plain.mitigatesStoreBypass && plain.seccompFlags & SeccompFlags.specAllow != 0)
        #expect(plain.speculationControls == [.indirectBranch])
        var policy = SandboxPolicy.builtinDefault
        policy.mitigatesSpeculativeStoreBypass = true
        let plan = try PolicyCompiler.compile(policy, slot: 0, supervisorPID: 1, createdNamespaces: [.mount], runningAsRoot: true)
        #expect(plan.mitigatesStoreBypass && plan.seccompFlags & SeccompFlags.specAllow == 0)
        #expect(plan.speculationControls == [.storeBypass, .indirectBranch])
        let decoded = try ConfinementPlan.decode(plan.encoded())
        #expect(decoded.mitigatesStoreBypass && !decoded.requiresSpeculationControl)
        #expect(try ConfinementPlan.decode(plain.encoded()).seccompFlags == plain.seccompFlags)
        #expect(SandboxPolicy.builtinStrict.mitigatesSpeculativeStoreBypass && !SandboxPolicy.builtinDefault.mitigatesSpeculativeStoreBypass)
        #expect(RequestedLayers.of(policy, runningAsRoot: true).contains("speculation.store-bypass"))
        #expect(!RequestedLayers.of(.builtinDefault, runningAsRoot: true).contains("speculation.store-bypass"))
        #expect(RequestedLayers.of(.builtinDefault, runningAsRoot: true).contains("speculation.indirect-branch"))
    }

    /// The key parses, is canonical only when true (policies without it keep their digest), and
    /// must be a boolean.
    @Test func storeBypassKeyParsesAndKeepsDigests() throws {
        func withKey(_ value: String) throws -> [UInt8] {
            var text = SandboxPolicy.defaultJSON
            let closing = try #require(text.lastIndex(of: "}"))
            text.replaceSubrange(closing...closing, with: ", \"mitigateSpeculativeStoreBypass\": \(value)}")
            return Array(text.utf8)
        }
        let parsed = try SandboxPolicy.parse(try withKey("true"), file: "t.json")
        #expect(parsed.mitigatesSpeculativeStoreBypass)
        #expect(parsed.canonicalJSON != SandboxPolicy.builtinDefault.canonicalJSON)
        #expect(String(decoding: parsed.canonicalJSON, as: UTF8.self).contains("\"mitigateSpeculativeStoreBypass\":true"))
        #expect(!(try SandboxPolicy.parse(try withKey("false"), file: "t.json")).mitigatesSpeculativeStoreBypass)
        let bad = try withKey("1")
        #expect(throws: PolicyError.self) { try SandboxPolicy.parse(bad, file: "t.json") }
    }

    @Test func planner() {
        let d = NamespacePlanner.attempts(for: SandboxPolicy.builtinDefault.namespaces, runningAsRoot: true)
        #expect(d.first == [.mount, .network, .ipc, .uts, .pid, .cgroup])
        #expect(d.last == [.mount])   // the floor: never without a mount namespace (user: the uid switch)
        #expect(d.count == 6)
        #expect(d[1] == [.mount, .network, .ipc, .uts, .pid])  // cgroup is given up first
        let s = NamespacePlanner.attempts(for: SandboxPolicy.builtinStrict.namespaces, runningAsRoot: true)
        #expect(s == [[.mount, .network, .ipc, .uts, .pid, .cgroup]])
        let n = NamespacePlanner.attempts(for: SandboxPolicy.builtinDefault.namespaces, runningAsRoot: false)
        #expect(n.first == [.user, .mount, .network, .ipc, .uts, .cgroup])
        #expect(n.allSatisfy { !$0.contains(.pid) && $0.isSuperset(of: [.user, .mount]) })
        #expect(n.last == [.user, .mount])
        // Opting into degradation gives the floor up too, in the documented order.
        var degradable = SandboxPolicy.builtinDefault.namespaces
        degradable.allowDegraded = true
        #expect(NamespacePlanner.attempts(for: degradable, runningAsRoot: true).last == [])
        #expect(NamespacePlanner.attempts(for: degradable, runningAsRoot: false).last == [])
        // "disabled" is an explicit opt-out: the floor holds only what the policy asks for.
        var noMount = SandboxPolicy.builtinDefault.namespaces
        noMount.mount = .disabled
        #expect(NamespacePlanner.attempts(for: noMount, runningAsRoot: true).last == [])
        #expect(NamespaceSet([.network, .pid]).cloneFlags == 0x6000_0000)
        #expect(NamespaceSet.all.names == ["user", "mount", "net", "ipc", "uts", "pid", "cgroup"])
    }

    @Test func describeShowsTheFilter() throws {
        let text = try PolicyCompiler.describe(.builtinDefault)
        #expect(text.contains("# policy default"))
        #expect(text.contains("futex"))
        #expect(text.contains("NPROC=0"))
    }
}
