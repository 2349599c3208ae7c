import CordonPolicy
import Testing

/// `canonicalJSON` is what audit records' `policy_sha256` hashes: complete, stable, independent of layout.
@Suite struct CanonicalPolicyTests {
    static let shipped = ["/default.json", "/strict.json", "/docker-default-compatible.json"]

    /// Nothing the parser keeps is lost: the canonical form parses back to the same policy, and is a fixed point.
    @Test(arguments: shipped)
    func canonicalFormRoundTrips(file: String) throws {
        let policy = try SandboxPolicy.load(path: Paths.policies + file)
        let canonical = policy.canonicalJSON
        let reparsed = try SandboxPolicy.parse(canonical, file: "canonical")
        #expect(reparsed == policy)
        #expect(reparsed.canonicalJSON == canonical)
    }

    /// Key order, whitespace, comments and explicit defaults do not change it; a changed value does.
    @Test func layoutDoesNotChangeTheCanonicalForm() throws {
        let plain = try SandboxPolicy.parse(policyJSON(), file: "a.json")
        let reordered = try SandboxPolicy.parse(Array("""
        {
          "limits": {"maxLogBytesPerSecond": 0, "maxMessageBytes": 4096, "maxHostCallBytes": 1024, "maxHostCallsPerCall": 10,
                     "maxHostCallsPerSecond": 10, "maxCPUSecondsPerWorker": 5, "maxWallTimeMillisecondsPerCall": 100},
          "wasm": {"maxReentryDepth": 1, "maxCallDepth": 100, "maxFuelPerCall": 0, "maxTableElements": 100, "maxMemoryPages": 16},
          "identity": {"gidStrategy": "perSlot", "uidRangeCount": 10, "uidRangeStart": 200000},
          "namespaces": {"cgroup": "optional", "pid": "optional", "uts": "optional", "ipc": "optional",
                         "network": "optional", "mount": "optional", "user": "optional"},
          "rlimits": {"stackBytes": 8388608, "lockedMemoryBytes": 0, "coreBytes": 0, "fileSizeBytes": 0, "processes": 0,
                      "openFiles": 32, "cpuSecondsHard": 6, "cpuSecondsSoft": 5, "addressSpaceBytes": 1073741824},
          "seccomp": {"syscalls": [{"comment": "io", "action": "SCMP_ACT_ALLOW", "names": ["read", "write"], "args": []},
                                   {"args": [{"op": "SCMP_CMP_EQ", "value": 1, "index": 1, "valueTwo": 0}],
                                    "action": "SCMP_ACT_ALLOW", "names": ["futex"], "includes": {}}],
                      "flags": [], "defaultAction": "SCMP_ACT_TRAP"},
          "name": "t"
        }
        """.utf8), file: "b.json")
        #expect(reordered.canonicalJSON == plain.canonicalJSON)
        var changed = plain
        changed.wasm.maxCallDepth += 1
        #expect(changed.canonicalJSON != plain.canonicalJSON)
    }

    /// The exact bytes for a small policy: the format is a contract with audit consumers, so a change
    /// to it must be deliberate (and documented in docs/policies.md).
    @Test func canonicalBytesAreStable() throws {
        let policy = try SandboxPolicy.parse(policyJSON(), file: "a.json")
        let expected = #"{"identity":{"gidStrategy":"perSlot","uidRangeCount":10,"uidRangeStart":200000},"#
            + #""limits":{"maxCPUSecondsPerWorker":5,"maxHostCallBytes":1024,"maxHostCallsPerCall":10,"maxHostCallsPerSecond":10,"#
            + #""maxLogBytesPerSecond":0,"maxMessageBytes":4096,"maxWallTimeMillisecondsPerCall":100},"name":"t","#
            + #""namespaces":{"cgroup":"optional","ipc":"optional","mount":"optional","network":"optional","pid":"optional","#
            + #""user":"optional","uts":"optional"},"rlimits":{"addressSpaceBytes":1073741824,"coreBytes":0,"#
            + #""cpuSecondsHard":6,"cpuSecondsSoft":5,"fileSizeBytes":0,"lockedMemoryBytes":0,"openFiles":32,"processes":0,"#
            + #""stackBytes":8388608},"seccomp":{"archMap":[],"architectures":[],"defaultAction":"SCMP_ACT_TRAP","flags":[],"#
            + #""syscalls":[{"action":"SCMP_ACT_ALLOW","args":[],"excludes":{"arches":[],"caps":[]},"#
            + #""includes":{"arches":[],"caps":[]},"names":["read","write"]},{"action":"SCMP_ACT_ALLOW","#
            + #""args":[{"index":1,"op":"SCMP_CMP_EQ","value":1,"valueTwo":0}],"excludes":{"arches":[],"caps":[]},"#
            + #""includes":{"arches":[],"caps":[]},"names":["futex"]}]},"wasm":{"maxCallDepth":100,"maxFuelPerCall":0,"#
            + #""maxMemoryPages":16,"maxModuleBytes":67108864,"maxReentryDepth":1,"maxTableElements":100}}"#
        #expect(String(decoding: policy.canonicalJSON, as: UTF8.self) == expected)
        // Strings escape exactly `"`, `\` and control characters.
        var odd = policy
        odd.seccomp.syscalls[0].includes.caps = ["a\"b\\c\nd/é"]
        #expect(String(decoding: odd.canonicalJSON, as: UTF8.self).contains(#"{"arches":[],"caps":["a\"b\\c\u000ad/é"]}"#))
    }
}
