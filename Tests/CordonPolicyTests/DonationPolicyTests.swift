import CordonJail
import CordonPolicy
import Glibc
import Testing

/// `wasi.donateReadOnlyFiles`: the key, the built-ins, and the seccomp rules it adds to the worker's
/// filter — exactly recvmsg on the donation socket, dup3 into the donated range, and the four reads
/// on fds inside it.
@Suite struct DonationPolicyTests {
    @Test func theKeyDefaultsToTrueAndStrictTurnsItOff() throws {
        #expect(WASIPolicy.standard.donateReadOnlyFiles)
        #expect(SandboxPolicy.builtinDefault.wasi.donateReadOnlyFiles)
        #expect(!SandboxPolicy.builtinStrict.wasi.donateReadOnlyFiles)
        let off = try SandboxPolicy.parse(policyJSON(extra: #","wasi":{"donateReadOnlyFiles":false}"#), file: "t.json")
        #expect(!off.wasi.donateReadOnlyFiles)
        let canonical = String(decoding: off.canonicalJSON, as: UTF8.self)
        #expect(canonical.contains(#""wasi":{"clockResolutionNanoseconds":1000,"donateReadOnlyFiles":false,"#))
        #expect(try SandboxPolicy.parse(off.canonicalJSON, file: "canonical.json") == off)
        // true is the default: it leaves the canonical form (and the digest) as if the key were absent.
        let on = try SandboxPolicy.parse(policyJSON(extra: #","wasi":{"donateReadOnlyFiles":true}"#), file: "t.json")
        #expect(on.canonicalJSON == (try SandboxPolicy.parse(policyJSON(), file: "t.json")).canonicalJSON)
        expectError(policyJSON(extra: #","wasi":{"donateReadOnlyFiles":"yes"}"#), path: "$.wasi.donateReadOnlyFiles",
                    .wrongType(expected: .boolean, found: .string))
    }

    @Test func policyCheckShowsTheRules() throws {
        let on = try PolicyCompiler.describe(.builtinDefault)
        #expect(on.contains("donateReadOnlyFiles=true"))
        #expect(on.contains("# file donation: the filter also allows recvmsg on fd 6, dup3 into fds 16..<32"))
        #expect(on.contains("recvmsg") && on.contains("dup3") && on.contains("preadv"))
        let off = try PolicyCompiler.describe(.builtinStrict)
        #expect(off.contains("donateReadOnlyFiles=false"))
        #expect(!off.contains("recvmsg") && !off.contains("dup3") && !off.contains("preadv"))
    }

    /// The rules are added to a user's profile without rewriting it, and only with the key.
    @Test func theRulesAreAddedOnlyWithTheKey() {
        let profile = SandboxPolicy.builtinDefault.seccomp
        #expect(PolicyCompiler.effectiveProfile(profile, runningAsRoot: true).syscalls == profile.syscalls)
        let added = PolicyCompiler.effectiveProfile(profile, runningAsRoot: true, donatesFiles: true).syscalls.dropFirst(profile.syscalls.count)
        #expect(added.flatMap(\.names).sorted() == ["dup3", "pread64", "preadv", "read", "readv", "recvmsg"])
        #expect(added.allSatisfy { $0.action == .allow && !$0.args.isEmpty })
    }
}

/// (c) Real processes, real seccomp: the probe confines itself with a plan whose policy donates, then
/// tries one thing. Everything outside the donation rules is stopped by the filter; what the rules
/// allow reaches the kernel (EBADF: the fd is not open in the probe).
@Suite(.enabled(if: getuid() == 0, "the escape probes need root (uid switch, PID namespace)"))
struct DonationEscapeTests {
    static let donating: ConfinementPlan = try! testPlan(.builtinDefault, defaultAction: .trap)
    static let notDonating: ConfinementPlan = {
        var policy = SandboxPolicy.builtinDefault
        policy.wasi.donateReadOnlyFiles = false
        return try! testPlan(policy, defaultAction: .trap)
    }()

    /// attempt → the syscall seccomp must stop it at.
    static let denied: [(String, String)] = [
        ("read-stdin", "read"), ("read-below-donated", "read"), ("readv-above-donated", "readv"),
        ("pread-outside-donated", "pread64"), ("fstat-donated", "fstat"), ("openat-donated", "openat"),
        ("write-donated", "write"), ("dup3-outside-donated", "dup3"), ("recvmsg-other", "recvmsg"),
    ]

    @Test(arguments: denied.map(\.0))
    func theFilterStopsEverythingElse(_ attempt: String) throws {
        let expected = try #require(Self.denied.first { $0.0 == attempt }?.1)
        let o = runProbe(Self.donating, attempt)
        #expect(o.end == .exited(159), "\(attempt): \(o)")
        let nr = try #require(o.sigsysSyscall, "\(o)")
        #expect(SyscallTable.name(of: nr, arch: o.report[2]) == expected, "\(attempt) stopped at nr \(nr)")
    }

    @Test(arguments: ["read-donated", "preadv-donated", "recvmsg-donation"])
    func theDonationRulesReachTheKernel(_ attempt: String) {
        let o = runProbe(Self.donating, attempt)
        #expect(o.end == .exited(1) && o.failedErrno == EBADF, "\(attempt): \(o)")
        // Without the key the same calls are stopped.
        let without = runProbe(Self.notDonating, attempt)
        #expect(without.end == .exited(159), "\(attempt) without donation: \(without)")
    }

    @Test func dup3LandsOnlyInTheRange() {
        #expect(runProbe(Self.donating, "dup3-into-donated").end == .exited(0))
        #expect(runProbe(Self.notDonating, "dup3-into-donated").end == .exited(159))
    }
}
