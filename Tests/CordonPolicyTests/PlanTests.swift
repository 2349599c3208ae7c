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

    @Test func planner() {
        let d = NamespacePlanner.attempts(for: SandboxPolicy.builtinDefault.namespaces, runningAsRoot: true)
        #expect(d.first == [.mount, .network, .ipc, .uts, .pid, .cgroup])
        #expect(d.last == [])
        #expect(d.count == 7)
        #expect(d[1] == [.mount, .network, .ipc, .uts, .pid])  // cgroup is given up first
        let s = NamespacePlanner.attempts(for: SandboxPolicy.builtinStrict.namespaces, runningAsRoot: true)
        #expect(s == [[.mount, .network, .ipc, .uts, .pid, .cgroup]])
        let n = NamespacePlanner.attempts(for: SandboxPolicy.builtinDefault.namespaces, runningAsRoot: false)
        #expect(n.first == [.user, .mount, .network, .ipc, .uts, .cgroup])
        #expect(n.allSatisfy { !$0.contains(.pid) && ($0.isEmpty || $0.contains(.user)) })
        #expect(n.last == [])
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
