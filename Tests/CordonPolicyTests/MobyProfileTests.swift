import CordonJail
import CordonPolicy
import Foundation
import Testing

/// Docker's current default profile (Tests/Fixtures/seccomp/moby-default.json) allows syscalls newer
/// than libseccomp 2.5.4. Like runc, Cordon skips such a name only in a rule that allows it under a
/// default that denies (the filter then denies it), records it, and refuses it anywhere else.
@Suite struct MobyProfileTests {
    static let fixture = Paths.repo + "/Tests/Fixtures/seccomp/moby-default.json"
    /// The names upstream added to the allow-list after libseccomp 2.5.4 was released.
    static let newerNames = ["cachestat", "fchmodat2", "futex_requeue", "futex_wait", "futex_wake", "listmount",
                             "lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr", "map_shadow_stack",
                             "mseal", "statmount", "uretprobe"]

    /// The fixture's first rule (the big allow-list) as the file spells it.
    static func allowList() throws -> [String] {
        let object = try JSONSerialization.jsonObject(with: Data(readFileBytes(fixture))) as? [String: Any]
        let rules = try #require(object?["syscalls"] as? [[String: Any]])
        return try #require(rules.first?["names"] as? [String])
    }

    /// The fixture as the `seccomp` section of a Cordon policy.
    static func policyBytes() -> [UInt8] {
        policyJSON(name: "\"moby-default\"", seccomp: String(decoding: readFileBytes(fixture), as: UTF8.self))
    }

    @Test func bareProfileParsesAndRecordsWhatItSkips() throws {
        let profile = try SeccompProfile.load(path: Self.fixture)
        let names = try Self.allowList()
        // Exactly the names this libseccomp does not know, each with the path of its place in the file.
        let unknown = Self.newerNames.filter { !SyscallTable.isKnown($0) }
        #expect(!unknown.isEmpty, "libseccomp knows every newer name; the test needs an older one")
        #expect(Set(profile.skippedSyscalls.map(\.name)) == Set(unknown))
        for skipped in profile.skippedSyscalls {
            let index = try #require(names.firstIndex(of: skipped.name))
            #expect(skipped.path == "$.syscalls[0].names[\(index)]")
        }
        // The rules keep the file's names; the filter leaves the skipped ones to the default (deny).
        #expect(profile.syscalls[0].names == names)
        for name in unknown { #expect(!profile.allowsUnconditionally(name)) }
        #expect(profile.allowsUnconditionally("read"))
        // The archMap entry this libseccomp does not know (LOONGARCH64) is skipped, as before.
        #expect(profile.archMap.contains { $0.architecture == "SCMP_ARCH_LOONGARCH64" })
    }

    @Test func asAPolicySectionItCompilesForTheNativeArchitectureAndSaysWhatItSkipped() throws {
        let policy = try SandboxPolicy.parse(Self.policyBytes(), file: "moby-default.json")
        let names = try Self.allowList()
        #expect(!policy.seccomp.skippedSyscalls.isEmpty)
        for skipped in policy.seccomp.skippedSyscalls {
            #expect(skipped.path == "$.seccomp.syscalls[0].names[\(try #require(names.firstIndex(of: skipped.name)))]")
        }
        let plan = try PolicyCompiler.compile(policy, slot: 0, supervisorPID: 1, createdNamespaces: [.mount], runningAsRoot: true)
        #expect(!plan.filter.isEmpty)
        #expect(plan.defaultAction == .errno)
        // `cordon policy check` prints this text: one line per skipped name, with its path.
        let text = try PolicyCompiler.describe(policy)
        for skipped in policy.seccomp.skippedSyscalls {
            #expect(text.contains("# skipped: \(skipped.name) at \(skipped.path) (unknown to libseccomp"), "\(text.prefix(2000))")
        }
        // The canonical form keeps the names, so it parses back to the same policy (skips and paths included),
        // and the digest tells this file from one that never listed them.
        let canonical = try SandboxPolicy.parse(policy.canonicalJSON, file: "canonical.json")
        #expect(canonical == policy)
        var without = policy
        without.seccomp.syscalls[0].names.removeAll { !SyscallTable.isKnown($0) }
        without.seccomp.skippedSyscalls = []
        #expect(without.canonicalJSON != policy.canonicalJSON)
        // Both compile to the same filter: skipping is exactly leaving the names out.
        let plain = try PolicyCompiler.compile(without, slot: 0, supervisorPID: 1, createdNamespaces: [.mount], runningAsRoot: true)
        #expect(plain.filter == plan.filter)
    }

    /// A rule that denies, traps, kills, logs, traces or notifies on a name libseccomp cannot resolve
    /// cannot be filtered as written: an error at the name's path, whatever the default.
    @Test(arguments: ["SCMP_ACT_ERRNO", "SCMP_ACT_TRAP", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL", "SCMP_ACT_LOG",
                      "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE"])
    func anUnknownNameInARuleThatDoesNotAllowIsAnError(action: String) {
        for defaultAction in ["SCMP_ACT_ERRNO", "SCMP_ACT_KILL_PROCESS"] where defaultAction != action {
            let s = #"{"defaultAction":"\#(defaultAction)","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"},"#
                + #"{"names":["write","mseal_from_the_future"],"action":"\#(action)"}]}"#
            expectError(policyJSON(seccomp: s), path: "$.seccomp.syscalls[1].names[1]", .unknownSyscall("mseal_from_the_future"))
        }
    }

    /// Under a default that does not deny, leaving an allowed name out would not deny it either; such a
    /// default is refused before any rule is read (Cordon filters are allow-lists).
    @Test func anAllowDefaultIsRefusedBeforeAnyUnknownNameCouldBeSkipped() {
        for defaultAction in ["SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE"] {
            let s = #"{"defaultAction":"\#(defaultAction)","syscalls":[{"names":["mseal_from_the_future"],"action":"SCMP_ACT_ALLOW"}]}"#
            expectError(policyJSON(seccomp: s), path: "$.seccomp.defaultAction", .unsupported(.permissiveDefaultAction))
        }
    }

    /// A duplicate is a duplicate whether or not libseccomp knows the name.
    @Test func aSkippedNameListedTwiceIsADuplicate() {
        let s = #"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["mseal_from_the_future","read","mseal_from_the_future"],"action":"SCMP_ACT_ALLOW"}]}"#
        expectError(policyJSON(seccomp: s), path: "$.seccomp.syscalls[0].names[2]", .duplicate("mseal_from_the_future"))
    }

    /// The compiler leaves out only what the parser recorded: a profile built in code with an unknown
    /// name it does not declare skipped is refused, not silently narrowed.
    @Test func theCompilerRefusesAnUnknownNameTheProfileDoesNotDeclareSkipped() throws {
        var profile = SeccompProfile(defaultAction: .errno, syscalls: [SeccompRule(names: ["read", "mseal_from_the_future"], action: .allow)])
        #expect(throws: JailError.self) { _ = try PolicyCompiler.compileFilter(profile, runningAsRoot: true, donatesFiles: false) }
        profile.skippedSyscalls = [SeccompSkippedSyscall(name: "mseal_from_the_future", path: "syscalls[0].names[1]")]
        #expect(try !PolicyCompiler.compileFilter(profile, runningAsRoot: true, donatesFiles: false).isEmpty)
        // Declared skipped but in a deny rule: still refused.
        profile.syscalls.append(SeccompRule(names: ["mseal_from_the_future"], action: .killProcess))
        #expect(throws: JailError.self) { _ = try PolicyCompiler.compileFilter(profile, runningAsRoot: true, donatesFiles: false) }
    }
}
