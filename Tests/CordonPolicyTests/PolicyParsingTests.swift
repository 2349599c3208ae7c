import CordonJail
import CordonPolicy
import Testing

/// A compact valid policy with one hole per section for the error tests.
func policyJSON(name: String = "\"t\"", seccomp: String? = nil, rlimits: String? = nil, namespaces: String? = nil,
                identity: String? = nil, wasm: String? = nil, limits: String? = nil, extra: String = "") -> [UInt8] {
    let s = seccomp ?? #"{"defaultAction":"SCMP_ACT_TRAP","syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW"},{"names":["futex"],"action":"SCMP_ACT_ALLOW","args":[{"index":1,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#
    let r = rlimits ?? #"{"addressSpaceBytes":1073741824,"cpuSecondsSoft":5,"cpuSecondsHard":6,"openFiles":32,"processes":0,"fileSizeBytes":0,"coreBytes":0,"lockedMemoryBytes":0,"stackBytes":8388608}"#
    let n = namespaces ?? #"{"user":"optional","mount":"optional","network":"optional","ipc":"optional","uts":"optional","pid":"optional","cgroup":"optional"}"#
    let i = identity ?? #"{"uidRangeStart":200000,"uidRangeCount":10,"gidStrategy":"perSlot"}"#
    let w = wasm ?? #"{"maxMemoryPages":16,"maxTableElements":100,"maxFuelPerCall":0,"maxCallDepth":100,"maxReentryDepth":1}"#
    let l = limits ?? #"{"maxWallTimeMillisecondsPerCall":100,"maxCPUSecondsPerWorker":5,"maxHostCallsPerSecond":10,"maxHostCallsPerCall":10,"maxHostCallBytes":1024,"maxMessageBytes":4096,"maxLogBytesPerSecond":0}"#
    return Array(#"{"name":\#(name),"seccomp":\#(s),"rlimits":\#(r),"namespaces":\#(n),"identity":\#(i),"wasm":\#(w),"limits":\#(l)\#(extra)}"#.utf8)
}

func expectError(_ bytes: [UInt8], path: String, _ reason: PolicyError.Reason, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        _ = try SandboxPolicy.parse(bytes, file: "test.json")
        Issue.record("parsed, expected \(reason) at \(path)", sourceLocation: sourceLocation)
    } catch {
        #expect(error.file == "test.json", sourceLocation: sourceLocation)
        #expect(error.path == path, sourceLocation: sourceLocation)
        #expect(error.reason == reason, sourceLocation: sourceLocation)
    }
}

@Suite struct PolicyParsingTests {
    @Test func baseFixtureParses() throws {
        let p = try SandboxPolicy.parse(policyJSON(), file: "test.json")
        #expect(p.name == "t")
        #expect(p.seccomp.syscalls[1].args == [SeccompArg(index: 1, value: 1, op: .equal)])
    }

    @Test func shippedPoliciesLoad() throws {
        let d = try SandboxPolicy.load(path: Paths.policies + "/default.json")
        #expect(d.name == "default")
        #expect(d.seccomp.defaultAction == .notify)
        #expect(d.namespaces.pid == .optional)
        let s = try SandboxPolicy.load(path: Paths.policies + "/strict.json")
        #expect(s.name == "strict")
        #expect(s.namespaces == NamespacePolicy(user: .required, mount: .required, network: .required, ipc: .required,
                                                uts: .required, pid: .required, cgroup: .required))
        #expect(s.seccomp.syscalls == d.seccomp.syscalls)
        #expect(s.rlimits.addressSpaceBytes < d.rlimits.addressSpaceBytes)
        #expect(s.limits.maxWallTimeMillisecondsPerCall < d.limits.maxWallTimeMillisecondsPerCall)
    }

    @Test func builtinsAreByteIdenticalToTheFiles() throws {
        let defaultSame = Array(SandboxPolicy.defaultJSON.utf8) == readFileBytes(Paths.policies + "/default.json")
        #expect(defaultSame, "BuiltinPolicies.swift is stale: run policies/embed.sh")
        let strictSame = Array(SandboxPolicy.strictJSON.utf8) == readFileBytes(Paths.policies + "/strict.json")
        #expect(strictSame, "BuiltinPolicies.swift is stale: run policies/embed.sh")
        #expect(SandboxPolicy.builtinDefault == (try SandboxPolicy.load(path: Paths.policies + "/default.json")))
        #expect(SandboxPolicy.builtinStrict == (try SandboxPolicy.load(path: Paths.policies + "/strict.json")))
    }

    @Test func unknownKeys() {
        expectError(policyJSON(extra: #","color":"red""#), path: "$.color", .unknownKey("color"))
        expectError(policyJSON(rlimits: #"{"nofile":3}"#), path: "$.rlimits.nofile", .unknownKey("nofile"))
        expectError(policyJSON(seccomp: #"{"defaultAction":"SCMP_ACT_TRAP","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","arg":[]}]}"#),
                    path: "$.seccomp.syscalls[0].arg", .unknownKey("arg"))
        expectError(policyJSON(seccomp: #"{"defaultAction":"SCMP_ACT_TRAP","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ","mask":1}]}]}"#),
                    path: "$.seccomp.syscalls[0].args[0].mask", .unknownKey("mask"))
        expectError(policyJSON(extra: #","a b":1"#), path: #"$["a b"]"#, .unknownKey("a b"))
    }

    /// In a rule that does not allow (an allow rule skips it: MobyProfileTests).
    @Test func unknownSyscallHasExactPath() {
        let s = #"{"defaultAction":"SCMP_ACT_TRAP","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"},{"names":["read"],"action":"SCMP_ACT_ALLOW"},{"names":["read"],"action":"SCMP_ACT_ALLOW"},{"names":["write","not_a_syscall"],"action":"SCMP_ACT_ERRNO"}]}"#
        expectError(policyJSON(seccomp: s), path: "$.seccomp.syscalls[3].names[1]", .unknownSyscall("not_a_syscall"))
    }

    @Test func unknownActionAndOp() {
        expectError(policyJSON(seccomp: #"{"defaultAction":"SCMP_ACT_TRAP","syscalls":[{"names":["read"],"action":"SCMP_ACT_PERMIT"}]}"#),
                    path: "$.seccomp.syscalls[0].action", .unknownAction("SCMP_ACT_PERMIT"))
        expectError(policyJSON(seccomp: #"{"defaultAction":"KILL"}"#), path: "$.seccomp.defaultAction", .unknownAction("KILL"))
        expectError(policyJSON(seccomp: #"{"defaultAction":"SCMP_ACT_TRAP","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_IN"}]}]}"#),
                    path: "$.seccomp.syscalls[0].args[0].op", .unknownOp("SCMP_CMP_IN"))
        expectError(policyJSON(seccomp: #"{"defaultAction":"SCMP_ACT_TRAP","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_VAX"]}"#),
                    path: "$.seccomp.architectures[1]", .unknownArchitecture("SCMP_ARCH_VAX"))
    }

    @Test func wrongTypes() {
        expectError(policyJSON(rlimits: #"{"addressSpaceBytes":"1073741824"}"#), path: "$.rlimits.addressSpaceBytes",
                    .wrongType(expected: .integer, found: .string))
        expectError(policyJSON(wasm: #"{"maxMemoryPages":1.5,"maxTableElements":1,"maxFuelPerCall":0,"maxCallDepth":1,"maxReentryDepth":0}"#),
                    path: "$.wasm.maxMemoryPages", .wrongType(expected: .integer, found: .number))
        expectError(policyJSON(seccomp: #"{"defaultAction":"SCMP_ACT_TRAP","syscalls":{"names":["read"]}}"#),
                    path: "$.seccomp.syscalls", .wrongType(expected: .array, found: .object))
        expectError(policyJSON(seccomp: #"{"defaultAction":"SCMP_ACT_TRAP","syscalls":[{"names":["read",7],"action":"SCMP_ACT_ALLOW"}]}"#),
                    path: "$.seccomp.syscalls[0].names[1]", .wrongType(expected: .string, found: .integer))
        expectError(policyJSON(name: "true"), path: "$.name", .wrongType(expected: .string, found: .boolean))
        expectError(policyJSON(namespaces: "[]"), path: "$.namespaces", .wrongType(expected: .object, found: .array))
    }

    @Test func duplicates() {
        expectError(policyJSON(extra: #","name":"u""#), path: "$.name", .duplicate("name"))
        expectError(policyJSON(limits: #"{"maxMessageBytes":1,"maxMessageBytes":2}"#), path: "$.limits.maxMessageBytes",
                    .duplicate("maxMessageBytes"))
        expectError(policyJSON(seccomp: #"{"defaultAction":"SCMP_ACT_TRAP","syscalls":[{"names":["read","write","read"],"action":"SCMP_ACT_ALLOW"}]}"#),
                    path: "$.seccomp.syscalls[0].names[2]", .duplicate("read"))
    }

    @Test func outOfRange() {
        let base = #"{"addressSpaceBytes":1073741824,"cpuSecondsSoft":5,"cpuSecondsHard":6,"openFiles":32,"processes":P,"fileSizeBytes":0,"coreBytes":0,"lockedMemoryBytes":0,"stackBytes":8388608}"#
        expectError(policyJSON(rlimits: base.replacingFirst("P", with: "1")), path: "$.rlimits.processes",
                    .outOfRange(value: "1", range: 0...0))
        expectError(policyJSON(rlimits: base.replacingFirst("P", with: "-1")), path: "$.rlimits.processes",
                    .outOfRange(value: "-1", range: 0...0))
        expectError(policyJSON(seccomp: #"{"defaultAction":"SCMP_ACT_TRAP","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#),
                    path: "$.seccomp.syscalls[0].args[0].index", .outOfRange(value: "6", range: 0...5))
        expectError(policyJSON(seccomp: #"{"defaultAction":"SCMP_ACT_TRAP","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":18446744073709551616,"op":"SCMP_CMP_EQ"}]}]}"#),
                    path: "$.seccomp.syscalls[0].args[0].value", .outOfRange(value: "18446744073709551616", range: 0...UInt64.max))
        expectError(policyJSON(identity: #"{"uidRangeStart":200000,"uidRangeCount":0,"gidStrategy":"perSlot"}"#),
                    path: "$.identity.uidRangeCount", .outOfRange(value: "0", range: 1...65_536))
    }

    /// `wasm.maxModuleBytes` is optional (64 MiB when absent), bounded to 1 KiB … 1 GiB, and kept.
    @Test func maxModuleBytes() throws {
        let plain = try SandboxPolicy.parse(policyJSON(), file: "a.json")
        #expect(plain.wasm.maxModuleBytes == 64 << 20)
        let wasm = #"{"maxMemoryPages":16,"maxTableElements":100,"maxFuelPerCall":0,"maxCallDepth":100,"maxReentryDepth":1,"maxModuleBytes":N}"#
        let set = try SandboxPolicy.parse(policyJSON(wasm: wasm.replacingFirst("N", with: "2000000")), file: "a.json")
        #expect(set.wasm.maxModuleBytes == 2_000_000)
        expectError(policyJSON(wasm: wasm.replacingFirst("N", with: "1023")), path: "$.wasm.maxModuleBytes",
                    .outOfRange(value: "1023", range: 1024...(1 << 30)))
        expectError(policyJSON(wasm: wasm.replacingFirst("N", with: "1073741825")), path: "$.wasm.maxModuleBytes",
                    .outOfRange(value: "1073741825", range: 1024...(1 << 30)))
        expectError(policyJSON(wasm: wasm.replacingFirst("N", with: "\"big\"")), path: "$.wasm.maxModuleBytes",
                    .wrongType(expected: .integer, found: .string))
        #expect(SandboxPolicy.builtinDefault.wasm.maxModuleBytes == 64 << 20)
        #expect(SandboxPolicy.builtinStrict.wasm.maxModuleBytes == 16 << 20)
    }

    @Test func missingKeys() {
        expectError(policyJSON(wasm: #"{"maxMemoryPages":16,"maxTableElements":100,"maxCallDepth":100,"maxReentryDepth":1}"#),
                    path: "$.wasm", .missing(key: "maxFuelPerCall"))
        expectError(Array(#"{"name":"x"}"#.utf8), path: "$", .missing(key: "seccomp"))
        expectError(policyJSON(seccomp: #"{"syscalls":[]}"#), path: "$.seccomp", .missing(key: "defaultAction"))
        expectError(policyJSON(seccomp: #"{"defaultAction":"SCMP_ACT_TRAP","syscalls":[{"names":["read"]}]}"#),
                    path: "$.seccomp.syscalls[0]", .missing(key: "action"))
    }

    /// Every limit is named `max…`; a key spelt the way older files did is an unknown key with its
    /// path (no aliases), so an old policy fails loudly instead of losing a limit.
    @Test func limitKeysWithoutMaxAreUnknown() {
        expectError(policyJSON(wasm: #"{"maxMemoryPages":16,"maxTableElements":100,"fuelPerCall":0,"maxCallDepth":100,"maxReentryDepth":1}"#),
                    path: "$.wasm.fuelPerCall", .unknownKey("fuelPerCall"))
        for old in ["wallTimeMillisecondsPerCall", "cpuSecondsPerWorker", "hostCallsPerSecond", "hostCallsPerCall", "logBytesPerSecond"] {
            let renamed = "max" + old.prefix(1).uppercased() + old.dropFirst()
            let limits = #"{"maxWallTimeMillisecondsPerCall":100,"maxCPUSecondsPerWorker":5,"maxHostCallsPerSecond":10,"maxHostCallsPerCall":10,"maxHostCallBytes":1024,"maxMessageBytes":4096,"maxLogBytesPerSecond":0}"#
                .replacingFirst("\"" + (old == "cpuSecondsPerWorker" ? "maxCPUSecondsPerWorker" : renamed) + "\"", with: "\"" + old + "\"")
            expectError(policyJSON(limits: limits), path: "$.limits.\(old)", .unknownKey(old))
        }
    }

    @Test func invalidJSONHasLineAndColumn() {
        expectError(Array("{\n  \"name\": \"x\",\n}".utf8), path: "$", .invalidJSON(.unexpectedCharacter(UInt8(ascii: "}")), offset: 17, line: 3, column: 1))
        expectError(Array("{\"name\": \"x\"".utf8), path: "$", .invalidJSON(.unexpectedEnd, offset: 12, line: 1, column: 13))
        expectError(Array("{} {}".utf8), path: "$", .invalidJSON(.trailingData, offset: 3, line: 1, column: 4))
        expectError(Array("[01]".utf8), path: "$", .invalidJSON(.invalidNumber, offset: 2, line: 1, column: 3))
        expectError(Array(String(repeating: "[", count: 100).utf8), path: "$", .invalidJSON(.nestingTooDeep(limit: 64), offset: 64, line: 1, column: 65))
        expectError(Array("\"\\ud800\"".utf8), path: "$", .invalidJSON(.invalidUnicodeEscape, offset: 7, line: 1, column: 8))
    }

    @Test func refusedAndInconsistent() {
        expectError(policyJSON(seccomp: #"{"defaultAction":"SCMP_ACT_ALLOW"}"#), path: "$.seccomp.defaultAction",
                    .unsupported(.permissiveDefaultAction))
        expectError(policyJSON(seccomp: #"{"defaultAction":"SCMP_ACT_TRAP","defaultErrnoRet":1}"#), path: "$.seccomp.defaultErrnoRet",
                    .unsupported(.errnoRetWithoutErrno))
        expectError(policyJSON(seccomp: #"{"defaultAction":"SCMP_ACT_TRAP","listenerPath":"/run/x.sock"}"#), path: "$.seccomp.listenerPath",
                    .unsupported(.listenerPath))
        expectError(policyJSON(seccomp: #"{"defaultAction":"SCMP_ACT_TRAP","flags":["SECCOMP_FILTER_FLAG_SPEC_ALLOW"]}"#),
                    path: "$.seccomp.flags[0]", .unsupported(.filterFlag))
        expectError(policyJSON(rlimits: #"{"addressSpaceBytes":1073741824,"cpuSecondsSoft":7,"cpuSecondsHard":6,"openFiles":32,"processes":0,"fileSizeBytes":0,"coreBytes":0,"lockedMemoryBytes":0,"stackBytes":8388608}"#),
                    path: "$.rlimits.cpuSecondsSoft", .inconsistent(.softAboveHard))
        expectError(policyJSON(identity: #"{"uidRangeStart":65500,"uidRangeCount":100,"gidStrategy":"perSlot"}"#),
                    path: "$.identity.uidRangeStart", .inconsistent(.uidRangeIncludesReserved))
        expectError(policyJSON(namespaces: #"{"user":"maybe","mount":"optional","network":"optional","ipc":"optional","uts":"optional","pid":"optional","cgroup":"optional"}"#),
                    path: "$.namespaces.user", .unknownValue("maybe", allowed: ["required", "optional", "disabled"]))
    }

    @Test func unreadableFile() {
        do {
            _ = try SandboxPolicy.load(path: "/nonexistent/policy.json")
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.reason == .unreadable(errno: 2))
            #expect(error.description.contains("/nonexistent/policy.json"))
        }
    }

    @Test func dockerShapedPolicyLoadsAndCompiles() throws {
        let p = try SandboxPolicy.load(path: Paths.policies + "/docker-default-compatible.json")
        #expect(p.seccomp.defaultAction == .errno)
        #expect(p.seccomp.defaultErrnoRet == 1)
        #expect(p.seccomp.archMap.count == 2)
        #expect(p.seccomp.syscalls.contains { $0.names == ["clone3"] && $0.errnoRet == 38 })
        let text = try PolicyCompiler.describe(p)
        #expect(text.contains("personality"))
        // includes.caps / includes.minKernel rules are skipped: mount must not be allowed.
        let plan = try PolicyCompiler.compile(p, slot: 0, supervisorPID: 1, createdNamespaces: [.mount], runningAsRoot: true)
        #expect(!plan.filter.isEmpty)
    }

    @Test func bareMobyProfileParses() throws {
        let text = #"""
        {"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,
         "archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86","SCMP_ARCH_X32"]}],
         "syscalls":[{"names":["read","socketcall"],"action":"SCMP_ACT_ALLOW","args":[],"comment":"","includes":{},"excludes":{}},
                     {"names":["clone3"],"action":"SCMP_ACT_ERRNO","errnoRet":38,"args":null,"excludes":{"caps":["CAP_SYS_ADMIN"]}},
                     {"names":["ptrace"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"4.8"}}]}
        """#
        let profile = try SeccompProfile.parse(Array(text.utf8), file: "moby.json")
        #expect(profile.syscalls.count == 3)
        #expect(profile.syscalls[2].includes.minKernel == "4.8")
    }

    /// moby's default profile maps architectures this libseccomp may not know (SCMP_ARCH_LOONGARCH64,
    /// libseccomp ≥ 2.5.5). moby reads only the native architecture's entry; so does Cordon: other
    /// entries are skipped whether or not libseccomp knows them, and only the native entry's names
    /// must resolve, because that entry is what gets filtered.
    @Test func archMapSkipsForeignArchitecturesItDoesNotKnow() throws {
        let native = try #require(["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"].first {
            SyscallTable.architecture(named: $0) == SyscallTable.nativeArchitecture
        })
        func profile(_ archMap: String) -> [UInt8] {
            policyJSON(seccomp: #"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"archMap":"# + archMap
                                + #","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}"#)
        }
        let foreign = #"[{"architecture":"\#(native)","subArchitectures":[]},"#
            + #"{"architecture":"SCMP_ARCH_LOONGARCH64","subArchitectures":null},"#
            + #"{"architecture":"SCMP_ARCH_MADEUP9000","subArchitectures":["SCMP_ARCH_MADEUP32"]},"#
            + #"{"architecture":"SCMP_ARCH_S390X","subArchitectures":["SCMP_ARCH_S390"]}]"#
        let p = try SandboxPolicy.parse(profile(foreign), file: "moby.json")
        #expect(p.seccomp.archMap.count == 4)
        // It compiles to a loadable filter for the native architecture.
        let plan = try PolicyCompiler.compile(p, slot: 0, supervisorPID: 1, createdNamespaces: [.mount], runningAsRoot: true)
        #expect(!plan.filter.isEmpty)
        // A made-up architecture filtered on this machine (a sub-architecture of the native entry) is an error.
        expectError(profile(#"[{"architecture":"\#(native)","subArchitectures":["SCMP_ARCH_MADEUP32"]}]"#),
                    path: "$.seccomp.archMap[0].subArchitectures[0]", .unknownArchitecture("SCMP_ARCH_MADEUP32"))
        // So is a name that is not an architecture name at all, native or not.
        expectError(profile(#"[{"architecture":"loong64","subArchitectures":[]}]"#),
                    path: "$.seccomp.archMap[0].architecture", .unknownArchitecture("loong64"))
    }

    @Test func syscallTableRoundTrips() {
        for name in ["read", "openat", "clone3", "futex", "seccomp", "io_uring_setup"] {
            let nr = SyscallTable.number(of: name)
            #expect(nr != nil)
            #expect(SyscallTable.name(of: nr!, arch: nil) == name)
        }
        #expect(SyscallTable.number(of: "no_such_call") == nil)
        #expect(SyscallTable.number(of: "socketcall") == nil)  // i386-only
        #expect(SyscallTable.isKnown("socketcall"))
    }

    /// The supervisor asks a worker to release its idle code pages only where `madvise` cannot be the
    /// syscall that gets it killed.
    @Test func unconditionalAllowanceOfASyscall() throws {
        let base = try SandboxPolicy.parse(policyJSON(), file: "test.json").seccomp
        #expect(base.allowsUnconditionally("read"))
        #expect(!base.allowsUnconditionally("futex"))       // only with an argument condition
        #expect(!base.allowsUnconditionally("madvise"))     // falls to the TRAP default
        var permissive = base
        permissive.defaultAction = .allow
        #expect(permissive.allowsUnconditionally("madvise"))
        permissive.syscalls.append(SeccompRule(names: ["madvise"], action: .errno))
        #expect(!permissive.allowsUnconditionally("madvise"))
        var conditional = base
        conditional.syscalls.append(SeccompRule(names: ["madvise"], action: .allow,
                                                includes: SeccompRuleCondition(arches: ["amd64"])))
        #expect(!conditional.allowsUnconditionally("madvise"))
        // The shipped policies allow madvise only with the advice the worker uses: the idle release
        // (MADV_DONTNEED) is always let through, MADV_MERGEABLE (KSM) never.
        for path in ["/default.json", "/strict.json"] {
            let shipped = try SandboxPolicy.load(path: Paths.policies + path).seccomp
            #expect(!shipped.allowsUnconditionally("madvise"))
            #expect(shipped.allows("madvise", arguments: [2: 4]))          // MADV_DONTNEED
            #expect(shipped.allows("madvise", arguments: [2: 8]))          // MADV_FREE
            #expect(!shipped.allows("madvise", arguments: [2: 12]))        // MADV_MERGEABLE
            #expect(!shipped.allows("madvise", arguments: [2: 25]))        // MADV_COLLAPSE
            #expect(!shipped.allows("madvise", arguments: [:]))
            #expect(shipped.allows("mremap", arguments: [3: 1]))           // MREMAP_MAYMOVE
            #expect(!shipped.allows("mremap", arguments: [3: 1 | 2]))      // MREMAP_FIXED
            #expect(!shipped.allows("mremap", arguments: [3: 1 | 4]))      // MREMAP_DONTUNMAP
        }
        // A deny rule that may match the call wins; one that cannot match does not.
        var denying = permissive
        denying.syscalls = [SeccompRule(names: ["madvise"], action: .errno, args: [SeccompArg(index: 2, value: 12, op: .equal)])]
        #expect(denying.allows("madvise", arguments: [2: 4]))
        #expect(!denying.allows("madvise", arguments: [2: 12]))
        #expect(!denying.allows("madvise", arguments: [:]))
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let r = self.firstRange(of: target) else { return self }
        var s = self
        s.replaceSubrange(r, with: replacement)
        return s
    }
}
