// The canonical form of a policy: what `policy_sha256` in audit records is the SHA-256 of, so that a
// reviewer can recompute it from the policy file (`cordon policy check` prints it) with any JSON tool.

public extension SandboxPolicy {
    /// The policy as the parser understood it, as canonical JSON: the file format's keys, every
    /// required key present and optional ones only when set, object keys sorted by their UTF-8 bytes,
    /// arrays in file order, integers in decimal, no whitespace, strings escaping only `"`, `\` and
    /// control characters (`\u00xx`). Comments are not part of it. Equal policies give equal bytes.
    var canonicalJSON: [UInt8] {
        var out: [UInt8] = []
        CanonicalJSON.object(canonicalValue).write(to: &out)
        return out
    }

    private var canonicalValue: [(String, CanonicalJSON)] {
        var identity: [(String, CanonicalJSON)] = [("uidRangeStart", .integer(UInt64(self.identity.uidRangeStart))),
                                                   ("uidRangeCount", .integer(UInt64(self.identity.uidRangeCount)))]
        switch self.identity.gid {
        case .perSlot: identity.append(("gidStrategy", .string("perSlot")))
        case .fixed(let gid): identity += [("gidStrategy", .string("fixed")), ("fixedGid", .integer(UInt64(gid)))]
        }
        let n = namespaces
        var namespaceFields: [(String, CanonicalJSON)] = [
            ("user", .string(n.user.rawValue)), ("mount", .string(n.mount.rawValue)),
            ("network", .string(n.network.rawValue)), ("ipc", .string(n.ipc.rawValue)),
            ("uts", .string(n.uts.rawValue)), ("pid", .string(n.pid.rawValue)), ("cgroup", .string(n.cgroup.rawValue)),
        ]
        // Optional keys only when set (true), so policies without them keep their digests.
        if n.allowDegraded { namespaceFields.append(("allowDegraded", .bool(true))) }
        var top: [(String, CanonicalJSON)] = [
            ("name", .string(name)),
            ("seccomp", .object(seccomp.canonicalValue)),
            ("rlimits", .object([
                ("addressSpaceBytes", .integer(rlimits.addressSpaceBytes)),
                ("cpuSecondsSoft", .integer(rlimits.cpuSecondsSoft)), ("cpuSecondsHard", .integer(rlimits.cpuSecondsHard)),
                ("openFiles", .integer(rlimits.openFiles)), ("processes", .integer(rlimits.processes)),
                ("fileSizeBytes", .integer(rlimits.fileSizeBytes)), ("coreBytes", .integer(rlimits.coreBytes)),
                ("lockedMemoryBytes", .integer(rlimits.lockedMemoryBytes)), ("stackBytes", .integer(rlimits.stackBytes)),
            ])),
            ("namespaces", .object(namespaceFields)),
            ("identity", .object(identity)),
            ("wasm", .object([
                ("maxMemoryPages", .integer(UInt64(wasm.maxMemoryPages))),
                ("maxModuleBytes", .integer(wasm.maxModuleBytes)),
                ("maxTableElements", .integer(UInt64(wasm.maxTableElements))),
                ("maxFuelPerCall", .integer(wasm.maxFuelPerCall)),
                ("maxCallDepth", .integer(UInt64(wasm.maxCallDepth))),
                ("maxReentryDepth", .integer(UInt64(wasm.maxReentryDepth))),
            ])),
            ("limits", .object([
                ("maxWallTimeMillisecondsPerCall", .integer(limits.maxWallTimeMillisecondsPerCall)),
                ("maxCPUSecondsPerWorker", .integer(limits.maxCPUSecondsPerWorker)),
                ("maxHostCallsPerSecond", .integer(UInt64(limits.maxHostCallsPerSecond))),
                ("maxHostCallsPerCall", .integer(UInt64(limits.maxHostCallsPerCall))),
                ("maxHostCallBytes", .integer(UInt64(limits.maxHostCallBytes))),
                ("maxMessageBytes", .integer(UInt64(limits.maxMessageBytes))),
                ("maxLogBytesPerSecond", .integer(UInt64(limits.maxLogBytesPerSecond))),
            ])),
        ]
        // Written only when it differs from the defaults, so a policy without a `wasi` section
        // keeps the digest it always had; with one, the four limits are written, and
        // `donateReadOnlyFiles` only when it is false (so the digest of a section that leaves it at
        // its default does not depend on whether this build knows the key).
        if wasi != .standard {
            var section: [(String, CanonicalJSON)] = [
                ("maxOpenFiles", .integer(UInt64(wasi.maxOpenFiles))),
                ("maxWriteBytesPerCall", .integer(wasi.maxWriteBytesPerCall)),
                ("maxOutputBytes", .integer(wasi.maxOutputBytes)),
                ("clockResolutionNanoseconds", .integer(wasi.clockResolutionNanoseconds)),
            ]
            if !wasi.donateReadOnlyFiles { section.append(("donateReadOnlyFiles", .bool(false))) }
            top.append(("wasi", .object(section)))
        }
        if requiresSpeculationControl { top.append(("requireSpeculationControl", .bool(true))) }
        // Written only when true, so policies without the key keep their digest.
        if mitigatesSpeculativeStoreBypass { top.append(("mitigateSpeculativeStoreBypass", .bool(true))) }
        return top
    }
}

extension SeccompProfile {
    fileprivate var canonicalValue: [(String, CanonicalJSON)] {
        var out: [(String, CanonicalJSON)] = [
            ("defaultAction", .string(defaultAction.description)),
            ("architectures", .strings(architectures)),
            ("archMap", .array(archMap.map { .object([("architecture", .string($0.architecture)),
                                                      ("subArchitectures", .strings($0.subArchitectures))]) })),
            ("flags", .strings(flags.map(\.rawValue))),
            ("syscalls", .array(syscalls.map { .object($0.canonicalValue) })),
        ]
        if let defaultErrnoRet { out.append(("defaultErrnoRet", .integer(UInt64(defaultErrnoRet)))) }
        return out
    }
}

extension SeccompRule {
    fileprivate var canonicalValue: [(String, CanonicalJSON)] {
        func condition(_ c: SeccompRuleCondition) -> CanonicalJSON {
            var fields: [(String, CanonicalJSON)] = [("caps", .strings(c.caps)), ("arches", .strings(c.arches))]
            if let minKernel = c.minKernel { fields.append(("minKernel", .string(minKernel))) }
            return .object(fields)
        }
        var out: [(String, CanonicalJSON)] = [
            ("names", .strings(names)),
            ("action", .string(action.description)),
            ("args", .array(args.map { .object([("index", .integer(UInt64($0.index))), ("value", .integer($0.value)),
                                                ("valueTwo", .integer($0.valueTwo)), ("op", .string($0.op.rawValue))]) })),
            ("includes", condition(includes)),
            ("excludes", condition(excludes)),
        ]
        if let errnoRet { out.append(("errnoRet", .integer(UInt64(errnoRet)))) }
        return out
    }
}

/// The few JSON shapes a policy needs, written canonically.
indirect enum CanonicalJSON {
    case object([(String, CanonicalJSON)])
    case array([CanonicalJSON])
    case string(String)
    case integer(UInt64)
    case bool(Bool)

    static func strings(_ values: [String]) -> CanonicalJSON { .array(values.map { .string($0) }) }

    func write(to out: inout [UInt8]) {
        switch self {
        case .integer(let n): out += Array(String(n).utf8)
        case .bool(let b): out += Array((b ? "true" : "false").utf8)
        case .string(let s): Self.writeString(s, to: &out)
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (i, v) in values.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                v.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let fields):
            out.append(UInt8(ascii: "{"))
            for (i, field) in fields.sorted(by: { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }).enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(field.0, to: &out)
                out.append(UInt8(ascii: ":"))
                field.1.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Writes `s` as a JSON string literal: `"` and `\` escaped, control characters as `\u00xx`.
    static func writeString(_ s: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), byte]
            case 0..<0x20: out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
