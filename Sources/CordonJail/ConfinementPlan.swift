import CordonPolicy
import Glibc

/// One resource limit the worker sets (RLIMIT_* number, soft, hard).
public struct PlannedRLimit: Sendable, Hashable {
    public var resource: Int32
    public var soft: UInt64
    public var hard: UInt64

    public init(resource: Int32, soft: UInt64, hard: UInt64) {
        self.resource = resource
        self.soft = soft
        self.hard = hard
    }
}

/// Everything the worker needs to confine itself, compiled by the supervisor (the worker never parses JSON
/// and never links a policy parser into its attack surface before it is confined).
///
/// Wire format v2 (little-endian), specified in docs/policies.md "Confinement plan":
/// `"CPLN" u16 version u16 reserved=0 u32 totalLength | str16 policyName | u32 slot | i32 supervisorPID |
/// u8 runningAsRoot | u8 options (bit 0: speculation control required, bit 1: store-bypass mitigation) | u32 requested | u32 required | u32 clone | u32 worker | u32 uid | u32 gid |
/// u8 n, n × (i32 resource, u64 soft, u64 hard) | u8 defaultAction | u32 seccompFlags | u32 len, BPF`.
/// The decoder requires every byte to be consumed, so any truncation or extension is rejected.
public struct ConfinementPlan: Sendable, Hashable {
    public static let magic: [UInt8] = Array("CPLN".utf8)
    public static let formatVersion: UInt16 = 2
    /// BPF_MAXINSNS: the kernel refuses longer classic-BPF programs.
    public static let maxFilterInstructions = 4096

    public var policyName: String
    public var slot: UInt32
    /// The supervisor's pid in the initial PID namespace (as /proc/self/stat reports the parent).
    public var supervisorPID: Int32
    public var runningAsRoot: Bool
    /// The namespace attempt this plan was compiled for (clone ∪ worker).
    public var requestedNamespaces: NamespaceSet
    /// Namespaces the policy marks required; the worker refuses to run without them.
    public var requiredNamespaces: NamespaceSet
    /// Namespaces the supervisor's clone created (the worker verifies them).
    public var cloneNamespaces: NamespaceSet
    /// Namespaces the worker creates itself with unshare(2) (non-root only).
    public var workerNamespaces: NamespaceSet
    public var uid: UInt32
    public var gid: UInt32
    /// Every limit except RLIMIT_NPROC is set in step 3; RLIMIT_NPROC after the uid switch (step 4).
    public var rlimits: [PlannedRLimit]
    public var defaultAction: SeccompAction
    /// SECCOMP_FILTER_FLAG_* for seccomp(2).
    public var seccompFlags: UInt32
    /// Classic BPF exported by libseccomp (8 bytes per instruction).
    public var filter: [UInt8]
    /// Whether the worker must fail when speculation stays enabled (`SpeculationControl`); otherwise
    /// the missing layer is only absent from the hello.
    public var requiresSpeculationControl: Bool
    /// Whether the worker force-disables speculative store bypass too (`SandboxPolicy.mitigatesSpeculativeStoreBypass`);
    /// indirect-branch speculation is always force-disabled.
    public var mitigatesStoreBypass: Bool

    /// The speculation controls step 5b applies.
    public var speculationControls: [SpeculationControl] {
        SpeculationControl.applied(mitigatingStoreBypass: mitigatesStoreBypass)
    }

    public init(policyName: String, slot: UInt32, supervisorPID: Int32, runningAsRoot: Bool,
                requestedNamespaces: NamespaceSet, requiredNamespaces: NamespaceSet, cloneNamespaces: NamespaceSet,
                workerNamespaces: NamespaceSet, uid: UInt32, gid: UInt32, rlimits: [PlannedRLimit],
                defaultAction: SeccompAction, seccompFlags: UInt32, filter: [UInt8], requiresSpeculationControl: Bool = false,
                mitigatesStoreBypass: Bool = false) {
        self.requiresSpeculationControl = requiresSpeculationControl
        self.mitigatesStoreBypass = mitigatesStoreBypass
        self.policyName = policyName
        self.slot = slot
        self.supervisorPID = supervisorPID
        self.runningAsRoot = runningAsRoot
        self.requestedNamespaces = requestedNamespaces
        self.requiredNamespaces = requiredNamespaces
        self.cloneNamespaces = cloneNamespaces
        self.workerNamespaces = workerNamespaces
        self.uid = uid
        self.gid = gid
        self.rlimits = rlimits
        self.defaultAction = defaultAction
        self.seccompFlags = seccompFlags
        self.filter = filter
    }

    /// Whether loading the filter yields a user-notification listener fd.
    public var wantsListener: Bool { seccompFlags & SeccompFlags.newListener != 0 }

    /// Whether the worker becomes non-dumpable only after the supervisor took its listener
    /// (`Confinement.finishAfterHandOver`): `pidfd_getfd` needs ptrace access to the worker, which a
    /// supervisor without CAP_SYS_PTRACE does not have to a non-dumpable process.
    public var defersDumpable: Bool { !runningAsRoot && wantsListener }

    static let actionCodes: [(SeccompAction, UInt8)] = [
        (.killThread, 1), (.killProcess, 2), (.trap, 3), (.errno, 4), (.trace, 5), (.allow, 6), (.log, 7), (.notify, 8),
    ]

    /// The binary encoding (see the type comment).
    public func encoded() -> [UInt8] {
        var w = PlanWriter()
        w.bytes(Self.magic)
        w.u16(Self.formatVersion)
        w.u16(0)
        w.u32(0)  // total length, patched below
        let name = Array(policyName.utf8)
        w.u16(UInt16(truncatingIfNeeded: name.count))
        w.bytes(name)
        w.u32(slot)
        w.u32(UInt32(bitPattern: supervisorPID))
        w.u8(runningAsRoot ? 1 : 0)
        w.u8((requiresSpeculationControl ? 1 : 0) | (mitigatesStoreBypass ? 2 : 0))
        for s in [requestedNamespaces, requiredNamespaces, cloneNamespaces, workerNamespaces] { w.u32(s.rawValue) }
        w.u32(uid)
        w.u32(gid)
        w.u8(UInt8(truncatingIfNeeded: rlimits.count))
        for r in rlimits {
            w.u32(UInt32(bitPattern: r.resource))
            w.u64(r.soft)
            w.u64(r.hard)
        }
        w.u8(Self.actionCodes.first { $0.0 == defaultAction }!.1)
        w.u32(seccompFlags)
        w.u32(UInt32(truncatingIfNeeded: filter.count))
        w.bytes(filter)
        let total = UInt32(w.out.count)
        for i in 0..<4 { w.out[8 + i] = UInt8(truncatingIfNeeded: total >> (8 * UInt32(i))) }
        return w.out
    }

    /// Decodes and validates plan bytes; every malformation is `JailError(step: .planDecode, errno: EINVAL)`.
    public static func decode(_ bytes: [UInt8]) throws(JailError) -> ConfinementPlan {
        var r = PlanReader(bytes: bytes)
        guard try r.bytes(4) == magic else { throw r.bad("bad magic") }
        guard try r.u16() == formatVersion else { throw r.bad("unsupported plan version") }
        guard try r.u16() == 0 else { throw r.bad("reserved field is not zero") }
        guard try r.u32() == UInt32(bytes.count) else { throw r.bad("total length does not match the message") }
        let nameLength = Int(try r.u16())
        guard nameLength <= 64, let name = String(validating: try r.bytes(nameLength), as: UTF8.self) else {
            throw r.bad("bad policy name")
        }
        let slot = try r.u32()
        let pid = Int32(bitPattern: try r.u32())
        guard pid > 0 else { throw r.bad("supervisor pid must be positive") }
        let rootByte = try r.u8()
        guard rootByte <= 1 else { throw r.bad("bad root flag") }
        let options = try r.u8()
        guard options & ~3 == 0 else { throw r.bad("unknown option bits") }
        var sets: [NamespaceSet] = []
        for _ in 0..<4 {
            let raw = try r.u32()
            guard raw & ~NamespaceSet.all.rawValue == 0 else { throw r.bad("unknown namespace bits") }
            sets.append(NamespaceSet(rawValue: raw))
        }
        let (requested, required, cloned, worker) = (sets[0], sets[1], sets[2], sets[3])
        guard cloned.isDisjoint(with: worker), cloned.union(worker) == requested
        else { throw r.bad("namespace sets are inconsistent") }
        let uid = try r.u32(), gid = try r.u32()
        // A root worker must leave root; a plan that says otherwise is a supervisor bug, not a choice.
        if rootByte == 1 { guard uid != 0, gid != 0 else { throw r.bad("a root supervisor must assign a non-zero uid/gid") } }
        let count = Int(try r.u8())
        guard count <= 16 else { throw r.bad("too many rlimits") }
        var limits: [PlannedRLimit] = []
        for _ in 0..<count {
            let res = Int32(bitPattern: try r.u32())
            let soft = try r.u64(), hard = try r.u64()
            guard (0..<16).contains(res), soft <= hard, !limits.contains(where: { $0.resource == res }) else {
                throw r.bad("bad rlimit entry")
            }
            limits.append(PlannedRLimit(resource: res, soft: soft, hard: hard))
        }
        let code = try r.u8()
        guard let action = actionCodes.first(where: { $0.1 == code })?.0, action.denies else { throw r.bad("bad default action") }
        let flags = try r.u32()
        guard flags & ~SeccompFlags.known == 0 else { throw r.bad("unknown seccomp flags") }
        let filterLength = Int(try r.u32())
        guard filterLength > 0, filterLength % 8 == 0, filterLength / 8 <= maxFilterInstructions else {
            throw r.bad("bad filter length")
        }
        let filter = try r.bytes(filterLength)
        guard r.offset == bytes.count else { throw r.bad("trailing bytes") }
        return ConfinementPlan(policyName: name, slot: slot, supervisorPID: pid, runningAsRoot: rootByte == 1,
                               requestedNamespaces: requested, requiredNamespaces: required, cloneNamespaces: cloned,
                               workerNamespaces: worker, uid: uid, gid: gid, rlimits: limits, defaultAction: action,
                               seccompFlags: flags, filter: filter, requiresSpeculationControl: options & 1 != 0,
                               mitigatesStoreBypass: options & 2 != 0)
    }
}

/// SECCOMP_FILTER_FLAG_* values (linux/seccomp.h).
public enum SeccompFlags {
    public static let tsync: UInt32 = 1 << 0
    public static let log: UInt32 = 1 << 1
    public static let specAllow: UInt32 = 1 << 2
    public static let newListener: UInt32 = 1 << 3
    public static let tsyncESRCH: UInt32 = 1 << 4
    public static let waitKillableRecv: UInt32 = 1 << 5
    /// Flags a plan may carry (SPEC_ALLOW is never emitted: it turns off the SSB mitigation).
    static let known: UInt32 = tsync | log | specAllow | newListener | tsyncESRCH | waitKillableRecv
}

struct PlanWriter {
    var out: [UInt8] = []
    mutating func u8(_ v: UInt8) { out.append(v) }
    mutating func u16(_ v: UInt16) { for i in 0..<2 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt16(i)))) } }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
    mutating func bytes(_ b: [UInt8]) { out.append(contentsOf: b) }
}

struct PlanReader {
    let bytes: [UInt8]
    var offset = 0

    func bad(_ what: String) -> JailError {
        JailError(step: .planDecode, errno: EINVAL, detail: "plan byte \(offset): \(what)")
    }
    mutating func bytes(_ n: Int) throws(JailError) -> [UInt8] {
        guard n >= 0, bytes.count - offset >= n else { throw bad("truncated") }
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }
    mutating func u8() throws(JailError) -> UInt8 { try bytes(1)[0] }
    mutating func u16() throws(JailError) -> UInt16 { try bytes(2).reversed().reduce(0) { $0 << 8 | UInt16($1) } }
    mutating func u32() throws(JailError) -> UInt32 { try bytes(4).reversed().reduce(0) { $0 << 8 | UInt32($1) } }
    mutating func u64() throws(JailError) -> UInt64 { try bytes(8).reversed().reduce(0) { $0 << 8 | UInt64($1) } }
}

extension ConfinementPlan {
    /// The fd a worker finds its sealed plan memfd at.
    public static let inheritedFD: CInt = 5

    /// Reads the encoded plan a worker inherited at `fd` (at most 1 MiB) and closes the fd; nil on a
    /// read error or an oversized plan. Runs before confinement, so plain read(2) is still allowed.
    public static func readInherited(fd: CInt = inheritedFD) -> [UInt8]? {
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { return bytes }
            bytes += buffer[0..<n]
            if bytes.count > 1 << 20 { return nil }
        }
    }
}
