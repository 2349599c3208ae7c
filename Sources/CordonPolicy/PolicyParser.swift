import Glibc

// Policy parsing. Every Cordon section is closed: an unknown key is an error, because a misspelled
// limit silently falling back to a default is exactly the failure a security policy must not have.
// The seccomp section follows OCI plus moby's extensions (see docs/policies.md "Docker profiles").

/// Range table: one place documents every numeric bound (mirrored in docs/policies.md).
enum PolicyRanges {
    static let addressSpaceBytes: ClosedRange<UInt64> = (64 << 20)...(64 << 30)
    static let cpuSeconds: ClosedRange<UInt64> = 1...86_400
    static let openFiles: ClosedRange<UInt64> = 8...4096
    static let zero: ClosedRange<UInt64> = 0...0
    static let lockedMemoryBytes: ClosedRange<UInt64> = 0...(64 << 20)
    static let stackBytes: ClosedRange<UInt64> = (64 << 10)...(256 << 20)
    static let uidRangeStart: ClosedRange<UInt64> = 1...0xFFFF_FFFE
    static let uidRangeCount: ClosedRange<UInt64> = 1...65_536
    static let gid: ClosedRange<UInt64> = 1...0xFFFF_FFFE
    static let maxMemoryPages: ClosedRange<UInt64> = 1...65_536
    static let maxTableElements: ClosedRange<UInt64> = 0...10_000_000
    static let maxFuelPerCall: ClosedRange<UInt64> = 0...(1 << 53)
    static let maxCallDepth: ClosedRange<UInt64> = 1...100_000
    static let maxReentryDepth: ClosedRange<UInt64> = 0...64
    static let maxModuleBytes: ClosedRange<UInt64> = (1 << 10)...(1 << 30)
    static let wallTimeMilliseconds: ClosedRange<UInt64> = 1...3_600_000
    static let maxHostCallsPerSecond: ClosedRange<UInt64> = 1...1_000_000
    static let maxHostCallsPerCall: ClosedRange<UInt64> = 1...1_000_000
    static let maxHostCallBytes: ClosedRange<UInt64> = 16...(16 << 20)
    static let maxMessageBytes: ClosedRange<UInt64> = 64...(64 << 20)
    static let maxLogBytesPerSecond: ClosedRange<UInt64> = 0...(16 << 20)
    static let errnoRet: ClosedRange<UInt64> = 1...4095
    static let argIndex: ClosedRange<UInt64> = 0...5
    static let u64: ClosedRange<UInt64> = 0...UInt64.max
}

/// A JSON object being read: known keys are checked up front, lookups carry their JSON path.
struct ObjectReader {
    let file: String
    let path: String
    private let members: [String: JSONValue]

    init(_ value: JSONValue, file: String, path: String, allowed: [String]) throws(PolicyError) {
        self.file = file
        self.path = path
        guard case .object(let list) = value else {
            throw PolicyError(file: file, path: path, reason: .wrongType(expected: .object, found: value.kind))
        }
        var dict: [String: JSONValue] = [:]
        for (key, v) in list {
            guard allowed.contains(key) else {
                throw PolicyError(file: file, path: JSONPath.member(path, key), reason: .unknownKey(key))
            }
            dict[key] = v  // the parser already rejected duplicates
        }
        members = dict
    }

    func childPath(_ key: String) -> String { JSONPath.member(path, key) }

    func has(_ key: String) -> Bool { members[key] != nil }

    func optional(_ key: String) -> JSONValue? {
        if case .null? = members[key] { return nil }  // OCI generators write null for "absent"
        return members[key]
    }

    func required(_ key: String) throws(PolicyError) -> JSONValue {
        guard let v = members[key] else { throw PolicyError(file: file, path: path, reason: .missing(key: key)) }
        return v
    }

    func fail(_ key: String, _ reason: PolicyError.Reason) -> PolicyError {
        PolicyError(file: file, path: childPath(key), reason: reason)
    }

    func integer(_ key: String, in range: ClosedRange<UInt64>) throws(PolicyError) -> UInt64 {
        try PolicyParser.integer(try required(key), file: file, path: childPath(key), in: range)
    }

    func string(_ key: String) throws(PolicyError) -> String {
        try PolicyParser.string(try required(key), file: file, path: childPath(key))
    }

    /// A `true`/`false` member, nil when absent (or null).
    func optionalBool(_ key: String) throws(PolicyError) -> Bool? {
        guard let v = optional(key) else { return nil }
        guard case .bool(let b) = v else { throw fail(key, .wrongType(expected: .boolean, found: v.kind)) }
        return b
    }
}

/// Converts parsed JSON into policy values with exact error paths.
enum PolicyParser {
    static func parseJSON(_ bytes: [UInt8], file: String) throws(PolicyError) -> JSONValue {
        guard bytes.count <= SandboxPolicy.maxFileBytes else {
            throw PolicyError(file: file, path: "$", reason: .tooLarge(bytes: bytes.count))
        }
        do {
            return try JSONParser.parse(bytes)
        } catch {
            if let dup = error.duplicatePath, let key = error.duplicateKey {
                throw PolicyError(file: file, path: dup, reason: .duplicate(key))
            }
            throw PolicyError(file: file, path: "$",
                              reason: .invalidJSON(error.error, offset: error.offset, line: error.line, column: error.column))
        }
    }

    static func integer(_ v: JSONValue, file: String, path: String, in range: ClosedRange<UInt64>) throws(PolicyError) -> UInt64 {
        guard case .number(let text) = v else {
            throw PolicyError(file: file, path: path, reason: .wrongType(expected: .integer, found: v.kind))
        }
        guard v.kind == .integer else {
            throw PolicyError(file: file, path: path, reason: .wrongType(expected: .integer, found: .number))
        }
        // "-0" is 0; any other negative, and anything past 2^64-1, is out of range.
        guard text != "-0" else {
            if range.contains(0) { return 0 }
            throw PolicyError(file: file, path: path, reason: .outOfRange(value: text, range: range))
        }
        guard let n = UInt64(text), range.contains(n) else {
            throw PolicyError(file: file, path: path, reason: .outOfRange(value: text, range: range))
        }
        return n
    }

    static func string(_ v: JSONValue, file: String, path: String) throws(PolicyError) -> String {
        guard case .string(let s) = v else {
            throw PolicyError(file: file, path: path, reason: .wrongType(expected: .string, found: v.kind))
        }
        return s
    }

    static func array(_ v: JSONValue, file: String, path: String) throws(PolicyError) -> [JSONValue] {
        guard case .array(let a) = v else {
            throw PolicyError(file: file, path: path, reason: .wrongType(expected: .array, found: v.kind))
        }
        return a
    }

    static func stringArray(_ v: JSONValue, file: String, path: String) throws(PolicyError) -> [String] {
        var out: [String] = []
        for (i, e) in try array(v, file: file, path: path).enumerated() {
            out.append(try string(e, file: file, path: "\(path)[\(i)]"))
        }
        return out
    }

    // MARK: Cordon policy

    static let topKeys = ["name", "seccomp", "rlimits", "namespaces", "identity", "wasm", "limits", "wasi", "requireSpeculationControl",
                          "mitigateSpeculativeStoreBypass"]

    static func policy(_ root: JSONValue, file: String) throws(PolicyError) -> SandboxPolicy {
        let top = try ObjectReader(root, file: file, path: "$", allowed: topKeys)
        let name = try top.string("name")
        let nameOK = (1...64).contains(name.utf8.count) && name.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D
        }
        guard nameOK else { throw top.fail("name", .unknownValue(name, allowed: ["[A-Za-z0-9._-]{1,64}"])) }
        let seccomp = try profile(try top.required("seccomp"), file: file, path: top.childPath("seccomp"))
        var policy = SandboxPolicy(
            name: name,
            seccomp: seccomp,
            rlimits: try rlimits(try top.required("rlimits"), file: file, path: top.childPath("rlimits")),
            namespaces: try namespaces(try top.required("namespaces"), file: file, path: top.childPath("namespaces")),
            identity: try identity(try top.required("identity"), file: file, path: top.childPath("identity")),
            wasm: try wasm(try top.required("wasm"), file: file, path: top.childPath("wasm")),
            limits: try limits(try top.required("limits"), file: file, path: top.childPath("limits")),
            requiresSpeculationControl: try top.optionalBool("requireSpeculationControl") ?? false,
            mitigatesSpeculativeStoreBypass: try top.optionalBool("mitigateSpeculativeStoreBypass") ?? false)
        if let v = top.optional("wasi") { policy.wasi = try wasi(v, file: file, path: top.childPath("wasi")) }
        return policy
    }

    /// The optional `wasi` section; every key is optional and defaults to `WASIPolicy.standard`'s.
    static func wasi(_ v: JSONValue, file: String, path: String) throws(PolicyError) -> WASIPolicy {
        let o = try ObjectReader(v, file: file, path: path, allowed: [
            "maxOpenFiles", "maxWriteBytesPerCall", "maxOutputBytes", "clockResolutionNanoseconds", "donateReadOnlyFiles",
        ])
        var w = WASIPolicy.standard
        if o.has("maxOpenFiles") { w.maxOpenFiles = UInt32(try o.integer("maxOpenFiles", in: WASIPolicy.openFilesRange)) }
        if o.has("maxWriteBytesPerCall") {
            w.maxWriteBytesPerCall = try o.integer("maxWriteBytesPerCall", in: WASIPolicy.writeBytesRange)
        }
        if o.has("maxOutputBytes") { w.maxOutputBytes = try o.integer("maxOutputBytes", in: WASIPolicy.outputBytesRange) }
        if o.has("clockResolutionNanoseconds") {
            w.clockResolutionNanoseconds = try o.integer("clockResolutionNanoseconds", in: WASIPolicy.clockResolutionRange)
        }
        if let donate = try o.optionalBool("donateReadOnlyFiles") { w.donateReadOnlyFiles = donate }
        return w
    }

    static func rlimits(_ v: JSONValue, file: String, path: String) throws(PolicyError) -> RLimitPolicy {
        let o = try ObjectReader(v, file: file, path: path, allowed: [
            "addressSpaceBytes", "cpuSecondsSoft", "cpuSecondsHard", "openFiles", "processes", "fileSizeBytes",
            "coreBytes", "lockedMemoryBytes", "stackBytes",
        ])
        let r = RLimitPolicy(
            addressSpaceBytes: try o.integer("addressSpaceBytes", in: PolicyRanges.addressSpaceBytes),
            cpuSecondsSoft: try o.integer("cpuSecondsSoft", in: PolicyRanges.cpuSeconds),
            cpuSecondsHard: try o.integer("cpuSecondsHard", in: PolicyRanges.cpuSeconds),
            openFiles: try o.integer("openFiles", in: PolicyRanges.openFiles),
            processes: try o.integer("processes", in: PolicyRanges.zero),
            fileSizeBytes: try o.integer("fileSizeBytes", in: PolicyRanges.zero),
            coreBytes: try o.integer("coreBytes", in: PolicyRanges.zero),
            lockedMemoryBytes: try o.integer("lockedMemoryBytes", in: PolicyRanges.lockedMemoryBytes),
            stackBytes: try o.integer("stackBytes", in: PolicyRanges.stackBytes))
        guard r.cpuSecondsSoft <= r.cpuSecondsHard else { throw o.fail("cpuSecondsSoft", .inconsistent(.softAboveHard)) }
        return r
    }

    static func namespaces(_ v: JSONValue, file: String, path: String) throws(PolicyError) -> NamespacePolicy {
        let keys = ["user", "mount", "network", "ipc", "uts", "pid", "cgroup", "allowDegraded"]
        let o = try ObjectReader(v, file: file, path: path, allowed: keys)
        func req(_ key: String) throws(PolicyError) -> NamespaceRequirement {
            let s = try o.string(key)
            guard let r = NamespaceRequirement(rawValue: s) else {
                throw o.fail(key, .unknownValue(s, allowed: NamespaceRequirement.allCases.map(\.rawValue)))
            }
            return r
        }
        return NamespacePolicy(user: try req("user"), mount: try req("mount"), network: try req("network"),
                               ipc: try req("ipc"), uts: try req("uts"), pid: try req("pid"), cgroup: try req("cgroup"),
                               allowDegraded: try o.optionalBool("allowDegraded") ?? false)
    }

    static func identity(_ v: JSONValue, file: String, path: String) throws(PolicyError) -> IdentityPolicy {
        let o = try ObjectReader(v, file: file, path: path, allowed: ["uidRangeStart", "uidRangeCount", "gidStrategy", "fixedGid"])
        let start = try o.integer("uidRangeStart", in: PolicyRanges.uidRangeStart)
        let count = try o.integer("uidRangeCount", in: PolicyRanges.uidRangeCount)
        guard start + count - 1 <= 0xFFFF_FFFE else { throw o.fail("uidRangeCount", .inconsistent(.uidRangeOverflows)) }
        // 65534 is the kernel's overflow id: every unmapped id looks like it, so sharing it is sharing identity.
        guard !(start...(start + count - 1)).contains(65_534) else {
            throw o.fail("uidRangeStart", .inconsistent(.uidRangeIncludesReserved))
        }
        let strategy = try o.string("gidStrategy")
        let gid: GidStrategy
        switch strategy {
        case "perSlot":
            guard !o.has("fixedGid") else { throw o.fail("fixedGid", .inconsistent(.fixedGidForbidden)) }
            gid = .perSlot
        case "fixed":
            guard o.has("fixedGid") else { throw PolicyError(file: file, path: path, reason: .inconsistent(.fixedGidRequired)) }
            let g = try o.integer("fixedGid", in: PolicyRanges.gid)
            guard g != 65_534 else { throw o.fail("fixedGid", .inconsistent(.uidRangeIncludesReserved)) }
            gid = .fixed(UInt32(g))
        default:
            throw o.fail("gidStrategy", .unknownValue(strategy, allowed: ["perSlot", "fixed"]))
        }
        return IdentityPolicy(uidRangeStart: UInt32(start), uidRangeCount: UInt32(count), gid: gid)
    }

    static func wasm(_ v: JSONValue, file: String, path: String) throws(PolicyError) -> WasmPolicy {
        let o = try ObjectReader(v, file: file, path: path, allowed: [
            "maxMemoryPages", "maxTableElements", "maxFuelPerCall", "maxCallDepth", "maxReentryDepth", "maxModuleBytes",
        ])
        // Optional: policies written before the module limit existed keep the documented default.
        let maxModuleBytes = o.has("maxModuleBytes")
            ? try o.integer("maxModuleBytes", in: PolicyRanges.maxModuleBytes) : WasmPolicy.defaultMaxModuleBytes
        return WasmPolicy(
            maxMemoryPages: UInt32(try o.integer("maxMemoryPages", in: PolicyRanges.maxMemoryPages)),
            maxTableElements: UInt32(try o.integer("maxTableElements", in: PolicyRanges.maxTableElements)),
            maxFuelPerCall: try o.integer("maxFuelPerCall", in: PolicyRanges.maxFuelPerCall),
            maxCallDepth: UInt32(try o.integer("maxCallDepth", in: PolicyRanges.maxCallDepth)),
            maxReentryDepth: UInt32(try o.integer("maxReentryDepth", in: PolicyRanges.maxReentryDepth)),
            maxModuleBytes: maxModuleBytes)
    }

    static func limits(_ v: JSONValue, file: String, path: String) throws(PolicyError) -> SupervisionLimits {
        let o = try ObjectReader(v, file: file, path: path, allowed: [
            "maxWallTimeMillisecondsPerCall", "maxCPUSecondsPerWorker", "maxHostCallsPerSecond", "maxHostCallsPerCall",
            "maxHostCallBytes", "maxMessageBytes", "maxLogBytesPerSecond",
        ])
        return SupervisionLimits(
            maxWallTimeMillisecondsPerCall: try o.integer("maxWallTimeMillisecondsPerCall", in: PolicyRanges.wallTimeMilliseconds),
            maxCPUSecondsPerWorker: try o.integer("maxCPUSecondsPerWorker", in: PolicyRanges.cpuSeconds),
            maxHostCallsPerSecond: UInt32(try o.integer("maxHostCallsPerSecond", in: PolicyRanges.maxHostCallsPerSecond)),
            maxHostCallsPerCall: UInt32(try o.integer("maxHostCallsPerCall", in: PolicyRanges.maxHostCallsPerCall)),
            maxHostCallBytes: UInt32(try o.integer("maxHostCallBytes", in: PolicyRanges.maxHostCallBytes)),
            maxMessageBytes: UInt32(try o.integer("maxMessageBytes", in: PolicyRanges.maxMessageBytes)),
            maxLogBytesPerSecond: UInt32(try o.integer("maxLogBytesPerSecond", in: PolicyRanges.maxLogBytesPerSecond)))
    }

    // MARK: OCI / moby seccomp

    static let seccompKeys = ["defaultAction", "defaultErrnoRet", "architectures", "archMap", "syscalls", "flags",
                              "listenerPath", "listenerMetadata"]

    static func action(_ v: JSONValue, file: String, path: String) throws(PolicyError) -> SeccompAction {
        let s = try string(v, file: file, path: path)
        guard let a = SeccompAction.spellings[s] else { throw PolicyError(file: file, path: path, reason: .unknownAction(s)) }
        return a
    }

    /// Whether `name` is spelled like an OCI architecture (`SCMP_ARCH_` and upper-case letters, digits,
    /// `_`), known to this libseccomp or not.
    static func isArchitectureName(_ name: String) -> Bool {
        let rest = name.utf8.dropFirst("SCMP_ARCH_".utf8.count)
        return name.hasPrefix("SCMP_ARCH_") && !rest.isEmpty && rest.count <= 32
            && rest.allSatisfy { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }

    static func architectureList(_ v: JSONValue, file: String, path: String) throws(PolicyError) -> [String] {
        let names = try stringArray(v, file: file, path: path)
        for (i, n) in names.enumerated() where SyscallTable.architecture(named: n) == nil {
            throw PolicyError(file: file, path: "\(path)[\(i)]", reason: .unknownArchitecture(n))
        }
        return names
    }

    static func profile(_ v: JSONValue, file: String, path: String) throws(PolicyError) -> SeccompProfile {
        let o = try ObjectReader(v, file: file, path: path, allowed: seccompKeys)
        for key in ["listenerPath", "listenerMetadata"] where o.has(key) {
            throw o.fail(key, .unsupported(.listenerPath))
        }
        let defaultAction = try action(try o.required("defaultAction"), file: file, path: o.childPath("defaultAction"))
        guard defaultAction.denies else { throw o.fail("defaultAction", .unsupported(.permissiveDefaultAction)) }
        var defaultErrno: UInt32?
        if let e = o.optional("defaultErrnoRet") {
            guard defaultAction.takesErrno else { throw o.fail("defaultErrnoRet", .unsupported(.errnoRetWithoutErrno)) }
            defaultErrno = UInt32(try integer(e, file: file, path: o.childPath("defaultErrnoRet"), in: PolicyRanges.errnoRet))
        }
        var architectures: [String] = []
        if let a = o.optional("architectures") {
            architectures = try architectureList(a, file: file, path: o.childPath("architectures"))
        }
        var archMap: [SeccompArchMapEntry] = []
        if let m = o.optional("archMap") {
            let p = o.childPath("archMap")
            for (i, e) in try array(m, file: file, path: p).enumerated() {
                let eo = try ObjectReader(e, file: file, path: "\(p)[\(i)]", allowed: ["architecture", "subArchitectures"])
                // moby uses only the entry of the native architecture and skips the others unread, so
                // an architecture this libseccomp does not know (SCMP_ARCH_LOONGARCH64 before 2.5.5)
                // is skipped too when it is not native; the native entry's names must all be known.
                let archPath = eo.childPath("architecture")
                let arch = try string(try eo.required("architecture"), file: file, path: archPath)
                guard isArchitectureName(arch) else { throw PolicyError(file: file, path: archPath, reason: .unknownArchitecture(arch)) }
                let native = SyscallTable.architecture(named: arch) == SyscallTable.nativeArchitecture
                var subs: [String] = []
                if let s = eo.optional("subArchitectures") {
                    let subPath = eo.childPath("subArchitectures")
                    if native {
                        subs = try architectureList(s, file: file, path: subPath)
                    } else {
                        subs = try stringArray(s, file: file, path: subPath)
                        for (j, n) in subs.enumerated() where !isArchitectureName(n) {
                            throw PolicyError(file: file, path: "\(subPath)[\(j)]", reason: .unknownArchitecture(n))
                        }
                    }
                }
                archMap.append(SeccompArchMapEntry(architecture: arch, subArchitectures: subs))
            }
        }
        var flags: [SeccompFilterFlag] = []
        if let f = o.optional("flags") {
            let p = o.childPath("flags")
            for (i, s) in try stringArray(f, file: file, path: p).enumerated() {
                guard let flag = SeccompFilterFlag(rawValue: s) else {
                    throw PolicyError(file: file, path: "\(p)[\(i)]", reason: .unsupported(.filterFlag))
                }
                flags.append(flag)
            }
        }
        var rules: [SeccompRule] = []
        var skipped: [SeccompSkippedSyscall] = []
        if let s = o.optional("syscalls") {
            let p = o.childPath("syscalls")
            for (i, e) in try array(s, file: file, path: p).enumerated() {
                rules.append(try rule(e, file: file, path: "\(p)[\(i)]", defaultAction: defaultAction, skipped: &skipped))
            }
        }
        return SeccompProfile(defaultAction: defaultAction, defaultErrnoRet: defaultErrno, architectures: architectures,
                              archMap: archMap, flags: flags, syscalls: rules, skippedSyscalls: skipped)
    }

    static func condition(_ v: JSONValue, file: String, path: String, allowKernel: Bool) throws(PolicyError) -> SeccompRuleCondition {
        let o = try ObjectReader(v, file: file, path: path, allowed: allowKernel ? ["caps", "arches", "minKernel"] : ["caps", "arches"])
        var c = SeccompRuleCondition()
        if let caps = o.optional("caps") { c.caps = try stringArray(caps, file: file, path: o.childPath("caps")) }
        if let arches = o.optional("arches") { c.arches = try stringArray(arches, file: file, path: o.childPath("arches")) }
        if let k = o.optional("minKernel") {
            let s = try string(k, file: file, path: o.childPath("minKernel"))
            guard KernelVersion(s) != nil else { throw o.fail("minKernel", .unknownValue(s, allowed: ["<major>.<minor>"])) }
            c.minKernel = s
        }
        return c
    }

    /// One rule. A name libseccomp does not know is accepted (and appended to `skipped`; the compiler
    /// leaves it out of the filter) only when the rule allows it and `defaultAction` denies: the filter
    /// then denies it, as runc does. Under any other action it is an error: a deny, trap, kill, log or
    /// notify rule for a syscall libseccomp cannot name would not be in the filter at all. The rule
    /// keeps every name, so the canonical form is the file's and parses back to the same profile.
    static func rule(_ v: JSONValue, file: String, path: String, defaultAction: SeccompAction,
                     skipped: inout [SeccompSkippedSyscall]) throws(PolicyError) -> SeccompRule {
        let o = try ObjectReader(v, file: file, path: path,
                                 allowed: ["names", "action", "errnoRet", "args", "comment", "includes", "excludes"])
        let namesPath = o.childPath("names")
        let listed = try stringArray(try o.required("names"), file: file, path: namesPath)
        guard !listed.isEmpty else { throw o.fail("names", .inconsistent(.emptyNames)) }
        let act = try action(try o.required("action"), file: file, path: o.childPath("action"))
        let maySkip = act == .allow && defaultAction.denies
        var seen = Set<String>()
        for (i, n) in listed.enumerated() {
            let namePath = "\(namesPath)[\(i)]"
            guard seen.insert(n).inserted else { throw PolicyError(file: file, path: namePath, reason: .duplicate(n)) }
            if SyscallTable.isKnown(n) { continue }
            guard maySkip else { throw PolicyError(file: file, path: namePath, reason: .unknownSyscall(n)) }
            skipped.append(SeccompSkippedSyscall(name: n, path: namePath))
        }
        var errnoRet: UInt32?
        if let e = o.optional("errnoRet") {
            guard act.takesErrno else { throw o.fail("errnoRet", .unsupported(.errnoRetWithoutErrno)) }
            errnoRet = UInt32(try integer(e, file: file, path: o.childPath("errnoRet"), in: PolicyRanges.errnoRet))
        }
        if let c = o.optional("comment") { _ = try string(c, file: file, path: o.childPath("comment")) }
        var args: [SeccompArg] = []
        if let a = o.optional("args") {
            let p = o.childPath("args")
            let list = try array(a, file: file, path: p)
            guard list.count <= 6 else { throw o.fail("args", .inconsistent(.tooManyArgs)) }
            for (i, e) in list.enumerated() {
                let ao = try ObjectReader(e, file: file, path: "\(p)[\(i)]", allowed: ["index", "value", "valueTwo", "op"])
                let opName = try ao.string("op")
                guard let op = SeccompOp(rawValue: opName) else { throw ao.fail("op", .unknownOp(opName)) }
                args.append(SeccompArg(
                    index: UInt32(try ao.integer("index", in: PolicyRanges.argIndex)),
                    value: try ao.integer("value", in: PolicyRanges.u64),
                    valueTwo: ao.has("valueTwo") ? try ao.integer("valueTwo", in: PolicyRanges.u64) : 0,
                    op: op))
            }
        }
        var includes = SeccompRuleCondition(), excludes = SeccompRuleCondition()
        if let inc = o.optional("includes") {
            includes = try condition(inc, file: file, path: o.childPath("includes"), allowKernel: true)
        }
        if let exc = o.optional("excludes") {
            excludes = try condition(exc, file: file, path: o.childPath("excludes"), allowKernel: false)
        }
        return SeccompRule(names: listed, action: act, errnoRet: errnoRet, args: args, includes: includes, excludes: excludes)
    }
}

/// "major.minor" kernel version, as moby's `minKernel` and uname(2) release strings use.
public struct KernelVersion: Sendable, Hashable, Comparable {
    public var major: Int
    public var minor: Int

    public init?(_ text: String) {
        let parts = text.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, let ma = Int(parts[0]),
              let mi = Int(parts[1].prefix { $0.isASCII && $0.isNumber }), !parts[1].isEmpty, ma >= 0, mi >= 0
        else { return nil }
        major = ma
        minor = mi
    }

    public static func < (a: KernelVersion, b: KernelVersion) -> Bool { (a.major, a.minor) < (b.major, b.minor) }

    /// The running kernel's version (uname -r), or nil if it cannot be parsed.
    public static var running: KernelVersion? {
        var u = utsname()
        guard uname(&u) == 0 else { return nil }
        let release = withUnsafeBytes(of: &u.release) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return KernelVersion(release)
    }
}

public extension SandboxPolicy {
    /// Reads and parses a Cordon policy file.
    static func load(path: String) throws(PolicyError) -> SandboxPolicy {
        try parse(try readPolicyFile(path), file: path)
    }

    /// Parses Cordon policy JSON; `file` labels errors.
    static func parse(_ bytes: [UInt8], file: String) throws(PolicyError) -> SandboxPolicy {
        try PolicyParser.policy(try PolicyParser.parseJSON(bytes, file: file), file: file)
    }
}

public extension SeccompProfile {
    /// Parses a bare OCI / Docker / Podman seccomp profile (the object runc reads from `linux.seccomp`).
    static func parse(_ bytes: [UInt8], file: String) throws(PolicyError) -> SeccompProfile {
        try PolicyParser.profile(try PolicyParser.parseJSON(bytes, file: file), file: file, path: "$")
    }

    /// Reads and parses a bare seccomp profile file.
    static func load(path: String) throws(PolicyError) -> SeccompProfile {
        try parse(try readPolicyFile(path), file: path)
    }
}

/// Reads at most `maxFileBytes + 1` bytes (so an oversized file is reported, not truncated).
func readPolicyFile(_ path: String) throws(PolicyError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
    guard fd >= 0 else { throw PolicyError(file: path, path: "$", reason: .unreadable(errno: errno)) }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while out.count <= SandboxPolicy.maxFileBytes {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw PolicyError(file: path, path: "$", reason: .unreadable(errno: errno))
        }
        if n == 0 { break }
        out.append(contentsOf: chunk[0..<n])
    }
    guard out.count <= SandboxPolicy.maxFileBytes else {
        throw PolicyError(file: path, path: "$", reason: .tooLarge(bytes: out.count))
    }
    return out
}
