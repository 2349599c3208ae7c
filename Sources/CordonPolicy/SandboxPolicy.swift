// The policy model. Everything here is plain data: parsing is in PolicyParser.swift, and the kernel
// is touched only by CordonJail.

/// A complete sandbox policy: seccomp filter, process limits, namespaces, identity, Wasm and supervision limits.
public struct SandboxPolicy: Sendable, Hashable {
    /// Largest policy file accepted (a Docker profile is ~20 KiB; this bounds parser work on hostile input).
    public static let maxFileBytes = 1 << 20

    /// Short identifier ([A-Za-z0-9._-], 1–64 chars), shown in audit records.
    public var name: String
    public var seccomp: SeccompProfile
    public var rlimits: RLimitPolicy
    public var namespaces: NamespacePolicy
    public var identity: IdentityPolicy
    public var wasm: WasmPolicy
    public var limits: SupervisionLimits
    /// Limits of WASI programs (the optional `wasi` section); the defaults when the file has none.
    public var wasi: WASIPolicy = .standard
    /// Whether a worker must refuse to run when it cannot turn off speculative store bypass and
    /// indirect-branch speculation for itself (`requireSpeculationControl`; default false: the
    /// hello then reports the layer as missing, see docs/policies.md "Speculation").
    public var requiresSpeculationControl: Bool
    /// Whether the worker also force-disables speculative store bypass (Spectre v4) for itself
    /// (`mitigateSpeculativeStoreBypass`; default false). Indirect-branch speculation, which crosses
    /// tasks, is always turned off. Store bypass leaks only within the worker's own address space,
    /// which holds one plugin and nothing of anyone else's; the mitigation costs guest code 10–25 %
    /// where the kernel applies it per task (docs/policies.md "Speculation").
    public var mitigatesSpeculativeStoreBypass: Bool

    public init(name: String, seccomp: SeccompProfile, rlimits: RLimitPolicy, namespaces: NamespacePolicy,
                identity: IdentityPolicy, wasm: WasmPolicy, limits: SupervisionLimits,
                requiresSpeculationControl: Bool = false, mitigatesSpeculativeStoreBypass: Bool = false) {
        self.requiresSpeculationControl = requiresSpeculationControl
        self.mitigatesSpeculativeStoreBypass = mitigatesSpeculativeStoreBypass
        self.name = name
        self.seccomp = seccomp
        self.rlimits = rlimits
        self.namespaces = namespaces
        self.identity = identity
        self.wasm = wasm
        self.limits = limits
    }
}

/// What a seccomp rule (or the default) does when it matches, as named by OCI / libseccomp.
public enum SeccompAction: Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// SCMP_ACT_KILL and SCMP_ACT_KILL_THREAD (the same kernel action).
    case killThread
    case killProcess
    case trap
    case errno
    case trace
    case allow
    case log
    case notify

    /// Every spelling accepted in a file (SCMP_ACT_KILL is the legacy name of KILL_THREAD).
    public static let spellings: [String: SeccompAction] = [
        "SCMP_ACT_KILL": .killThread, "SCMP_ACT_KILL_THREAD": .killThread, "SCMP_ACT_KILL_PROCESS": .killProcess,
        "SCMP_ACT_TRAP": .trap, "SCMP_ACT_ERRNO": .errno, "SCMP_ACT_TRACE": .trace, "SCMP_ACT_ALLOW": .allow,
        "SCMP_ACT_LOG": .log, "SCMP_ACT_NOTIFY": .notify,
    ]

    /// The canonical OCI name.
    public var description: String {
        switch self {
        case .killThread: "SCMP_ACT_KILL_THREAD"
        case .killProcess: "SCMP_ACT_KILL_PROCESS"
        case .trap: "SCMP_ACT_TRAP"
        case .errno: "SCMP_ACT_ERRNO"
        case .trace: "SCMP_ACT_TRACE"
        case .allow: "SCMP_ACT_ALLOW"
        case .log: "SCMP_ACT_LOG"
        case .notify: "SCMP_ACT_NOTIFY"
        }
    }

    /// Whether the action stops the syscall (the only kind Cordon accepts as a default action).
    public var denies: Bool {
        switch self {
        case .killThread, .killProcess, .trap, .errno, .notify: true
        case .trace, .allow, .log: false
        }
    }

    /// Whether `errnoRet` means something for this action.
    public var takesErrno: Bool { self == .errno || self == .trace }
}

/// A seccomp argument comparison operator (SCMP_CMP_*).
public enum SeccompOp: String, Sendable, Hashable, CaseIterable {
    case notEqual = "SCMP_CMP_NE"
    case lessThan = "SCMP_CMP_LT"
    case lessOrEqual = "SCMP_CMP_LE"
    case equal = "SCMP_CMP_EQ"
    case greaterOrEqual = "SCMP_CMP_GE"
    case greaterThan = "SCMP_CMP_GT"
    /// `(arg & value) == valueTwo`.
    case maskedEqual = "SCMP_CMP_MASKED_EQ"
}

/// One argument condition of a rule, in OCI shape.
public struct SeccompArg: Sendable, Hashable {
    /// Argument index, 0…5.
    public var index: UInt32
    public var value: UInt64
    /// Second operand; for MASKED_EQ the value the masked argument must equal. Defaults to 0.
    public var valueTwo: UInt64
    public var op: SeccompOp

    public init(index: UInt32, value: UInt64, valueTwo: UInt64 = 0, op: SeccompOp) {
        self.index = index
        self.value = value
        self.valueTwo = valueTwo
        self.op = op
    }

    /// Whether an argument whose 64-bit value is `v` satisfies this condition (libseccomp's comparison).
    public func matches(_ v: UInt64) -> Bool {
        switch op {
        case .notEqual: v != value
        case .lessThan: v < value
        case .lessOrEqual: v <= value
        case .equal: v == value
        case .greaterOrEqual: v >= value
        case .greaterThan: v > value
        case .maskedEqual: v & value == valueTwo
        }
    }
}

/// moby's conditional-rule clause (`includes` / `excludes`): capabilities, architectures, kernel version.
public struct SeccompRuleCondition: Sendable, Hashable {
    public var caps: [String]
    public var arches: [String]
    /// "major.minor"; only valid in `includes`.
    public var minKernel: String?

    public init(caps: [String] = [], arches: [String] = [], minKernel: String? = nil) {
        self.caps = caps
        self.arches = arches
        self.minKernel = minKernel
    }

    /// True when the clause lists nothing.
    public var isEmpty: Bool { caps.isEmpty && arches.isEmpty && minKernel == nil }
}

/// One `syscalls[]` entry: names, action, optional errno, argument conditions (ANDed; see docs).
public struct SeccompRule: Sendable, Hashable {
    public var names: [String]
    public var action: SeccompAction
    /// Errno for SCMP_ACT_ERRNO (default EPERM) or the trace message for SCMP_ACT_TRACE.
    public var errnoRet: UInt32?
    public var args: [SeccompArg]
    /// moby: the rule applies only when every listed condition holds.
    public var includes: SeccompRuleCondition
    /// moby: the rule does not apply when any listed condition holds.
    public var excludes: SeccompRuleCondition

    public init(names: [String], action: SeccompAction, errnoRet: UInt32? = nil, args: [SeccompArg] = [],
                includes: SeccompRuleCondition = .init(), excludes: SeccompRuleCondition = .init()) {
        self.names = names
        self.action = action
        self.errnoRet = errnoRet
        self.args = args
        self.includes = includes
        self.excludes = excludes
    }
}

/// moby's `archMap` entry: when the native architecture is `architecture`, also filter `subArchitectures`.
public struct SeccompArchMapEntry: Sendable, Hashable {
    public var architecture: String
    public var subArchitectures: [String]

    public init(architecture: String, subArchitectures: [String]) {
        self.architecture = architecture
        self.subArchitectures = subArchitectures
    }
}

/// Seccomp filter flags a profile may request (OCI `flags`).
public enum SeccompFilterFlag: String, Sendable, Hashable, CaseIterable {
    /// Log every non-ALLOW action (audit); harmless.
    case log = "SECCOMP_FILTER_FLAG_LOG"
    /// Cordon always synchronises threads; accepted for compatibility.
    case tsync = "SECCOMP_FILTER_FLAG_TSYNC"
    /// Makes a notified task killable once the supervisor has received the notification.
    case waitKillableRecv = "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"
}

/// A syscall name left out of the filter: libseccomp does not know it, and the rule naming it at
/// `path` allows it under a default that denies, so leaving it out denies it (as runc does). Any
/// other rule naming it would have been a parse error.
public struct SeccompSkippedSyscall: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    /// The JSON path of the name in the file (`$.seccomp.syscalls[0].names[41]`).
    public var path: String

    public init(name: String, path: String) {
        self.name = name
        self.path = path
    }

    public var description: String { "\(name) (\(path))" }
}

/// A seccomp profile in the OCI runtime-spec `linux.seccomp` shape (plus moby's `archMap`/`includes`/`excludes`).
public struct SeccompProfile: Sendable, Hashable {
    public var defaultAction: SeccompAction
    /// Errno for a SCMP_ACT_ERRNO default (OCI default: EPERM).
    public var defaultErrnoRet: UInt32?
    /// OCI architecture names (`SCMP_ARCH_X86_64`); empty means the native architecture only.
    public var architectures: [String]
    public var archMap: [SeccompArchMapEntry]
    public var flags: [SeccompFilterFlag]
    public var syscalls: [SeccompRule]
    /// Names allow rules list that libseccomp does not know (newer than it, e.g. `mseal` for
    /// libseccomp 2.5.4), in file order; the parser sets it. The rules keep these names, the compiler
    /// leaves exactly these out of the filter, so the default action denies them; any other unknown
    /// name is a compile error. `cordon policy check` and the `plugin.load` audit record show them.
    public var skippedSyscalls: [SeccompSkippedSyscall]

    public init(defaultAction: SeccompAction, defaultErrnoRet: UInt32? = nil, architectures: [String] = [],
                archMap: [SeccompArchMapEntry] = [], flags: [SeccompFilterFlag] = [], syscalls: [SeccompRule],
                skippedSyscalls: [SeccompSkippedSyscall] = []) {
        self.defaultAction = defaultAction
        self.defaultErrnoRet = defaultErrnoRet
        self.architectures = architectures
        self.archMap = archMap
        self.flags = flags
        self.syscalls = syscalls
        self.skippedSyscalls = skippedSyscalls
    }

    /// Whether `name` is left out of the filter (`skippedSyscalls`), so the default action denies it.
    public func isSkipped(_ name: String) -> Bool { skippedSyscalls.contains { $0.name == name } }

    /// Whether `name` passes the filter whatever its arguments, the architecture and the kernel: no
    /// rule naming it denies, and either the default action does not deny or a rule without
    /// arguments or conditions allows it.
    public func allowsUnconditionally(_ name: String) -> Bool {
        if isSkipped(name) { return false }
        let naming = syscalls.filter { $0.names.contains(name) }
        if naming.contains(where: { $0.action.denies }) { return false }
        if !defaultAction.denies { return true }
        return naming.contains { $0.args.isEmpty && $0.includes.isEmpty && $0.excludes.isEmpty }
    }

    /// Whether `name` with the given argument values passes the filter whatever the other arguments,
    /// the architecture and the kernel: no rule naming it might deny that call (a deny rule counts
    /// unless one of its conditions is decidably false for `arguments`), and either the default does
    /// not deny or an allow rule without `includes`/`excludes` holds for `arguments` alone.
    /// `allows("madvise", arguments: [2: 4])` asks whether `madvise(_, _, MADV_DONTNEED)` always passes.
    public func allows(_ name: String, arguments: [UInt32: UInt64]) -> Bool {
        if isSkipped(name) { return false }
        let naming = syscalls.filter { $0.names.contains(name) }
        // true / false when every condition of the rule can be decided from `arguments`, nil otherwise.
        func holds(_ rule: SeccompRule) -> Bool? {
            var results: [Bool?] = []
            for arg in rule.args {
                guard let v = arguments[arg.index] else { results.append(nil); continue }
                results.append(arg.matches(v))
            }
            // Conditions on one argument several times are ORed (each is its own libseccomp rule, as in
            // runc); on distinct arguments they are ANDed.
            let distinct = Set(rule.args.map(\.index)).count == rule.args.count
            if distinct {
                if results.contains(false) { return false }
                return results.contains(where: { $0 == nil }) ? nil : true
            }
            if results.contains(true) { return true }
            return results.contains(where: { $0 == nil }) ? nil : false
        }
        if naming.contains(where: { $0.action.denies && holds($0) != false }) { return false }
        if !defaultAction.denies { return true }
        return naming.contains { !$0.action.denies && $0.includes.isEmpty && $0.excludes.isEmpty && holds($0) == true }
    }
}

/// Process resource limits the worker sets on itself (see docs/policies.md for why each exists).
public struct RLimitPolicy: Sendable, Hashable {
    /// RLIMIT_AS (soft = hard).
    public var addressSpaceBytes: UInt64
    /// RLIMIT_CPU soft: SIGXCPU when exceeded.
    public var cpuSecondsSoft: UInt64
    /// RLIMIT_CPU hard: SIGKILL when exceeded.
    public var cpuSecondsHard: UInt64
    /// RLIMIT_NOFILE (soft = hard).
    public var openFiles: UInt64
    /// RLIMIT_NPROC; must be 0 (set after the uid switch, so it applies to the worker's own uid).
    public var processes: UInt64
    /// RLIMIT_FSIZE; must be 0.
    public var fileSizeBytes: UInt64
    /// RLIMIT_CORE; must be 0 (a core file would leak plugin memory and needs a writable fs anyway).
    public var coreBytes: UInt64
    /// RLIMIT_MEMLOCK.
    public var lockedMemoryBytes: UInt64
    /// RLIMIT_STACK.
    public var stackBytes: UInt64

    public init(addressSpaceBytes: UInt64, cpuSecondsSoft: UInt64, cpuSecondsHard: UInt64, openFiles: UInt64,
                processes: UInt64, fileSizeBytes: UInt64, coreBytes: UInt64, lockedMemoryBytes: UInt64,
                stackBytes: UInt64) {
        self.addressSpaceBytes = addressSpaceBytes
        self.cpuSecondsSoft = cpuSecondsSoft
        self.cpuSecondsHard = cpuSecondsHard
        self.openFiles = openFiles
        self.processes = processes
        self.fileSizeBytes = fileSizeBytes
        self.coreBytes = coreBytes
        self.lockedMemoryBytes = lockedMemoryBytes
        self.stackBytes = stackBytes
    }
}

/// Whether a namespace must exist, may be dropped when the kernel refuses it, or is never requested.
public enum NamespaceRequirement: String, Sendable, Hashable, CaseIterable {
    case required, optional, disabled
}

/// The namespace requirements of a policy, one per Linux namespace kind Cordon uses.
public struct NamespacePolicy: Sendable, Hashable {
    public var user: NamespaceRequirement
    public var mount: NamespaceRequirement
    public var network: NamespaceRequirement
    public var ipc: NamespaceRequirement
    public var uts: NamespaceRequirement
    public var pid: NamespaceRequirement
    public var cgroup: NamespaceRequirement
    /// Whether an optional `user` or `mount` namespace may be given up when the kernel refuses it.
    /// False (the default): they are the floor of the jail, and a worker that cannot have them is not
    /// started; only `"disabled"` or this opt-in lets a worker run without them (docs/policies.md
    /// "Namespaces and degradation"). The other optional namespaces degrade either way.
    public var allowDegraded: Bool

    public init(user: NamespaceRequirement, mount: NamespaceRequirement, network: NamespaceRequirement,
                ipc: NamespaceRequirement, uts: NamespaceRequirement, pid: NamespaceRequirement,
                cgroup: NamespaceRequirement, allowDegraded: Bool = false) {
        self.allowDegraded = allowDegraded
        self.user = user
        self.mount = mount
        self.network = network
        self.ipc = ipc
        self.uts = uts
        self.pid = pid
        self.cgroup = cgroup
    }
}

/// How a worker's gid is chosen.
public enum GidStrategy: Sendable, Hashable {
    /// gid = the slot's uid (no two workers share a group).
    case perSlot
    /// Every worker gets this gid.
    case fixed(UInt32)
}

/// The host uids a root supervisor hands to workers: slot n runs as `uidRangeStart + n`.
public struct IdentityPolicy: Sendable, Hashable {
    public var uidRangeStart: UInt32
    public var uidRangeCount: UInt32
    public var gid: GidStrategy

    public init(uidRangeStart: UInt32, uidRangeCount: UInt32, gid: GidStrategy) {
        self.uidRangeStart = uidRangeStart
        self.uidRangeCount = uidRangeCount
        self.gid = gid
    }
}

/// Limits the worker's WebAssembly interpreter enforces.
public struct WasmPolicy: Sendable, Hashable {
    public var maxMemoryPages: UInt32
    public var maxTableElements: UInt32
    /// Instruction fuel per call; 0 disables metering.
    public var maxFuelPerCall: UInt64
    public var maxCallDepth: UInt32
    public var maxReentryDepth: UInt32
    /// Largest module a plugin under this policy may load, in bytes. Checked by the supervisor before
    /// any worker is spawned; the worker allocates the module's length up front, so its address space
    /// (`rlimits.addressSpaceBytes`) must hold this much beside the interpreter.
    public var maxModuleBytes: UInt64

    /// The `maxModuleBytes` of a policy that does not name one: 64 MiB.
    public static let defaultMaxModuleBytes: UInt64 = 64 << 20

    public init(maxMemoryPages: UInt32, maxTableElements: UInt32, maxFuelPerCall: UInt64, maxCallDepth: UInt32,
                maxReentryDepth: UInt32, maxModuleBytes: UInt64 = WasmPolicy.defaultMaxModuleBytes) {
        self.maxMemoryPages = maxMemoryPages
        self.maxTableElements = maxTableElements
        self.maxFuelPerCall = maxFuelPerCall
        self.maxCallDepth = maxCallDepth
        self.maxReentryDepth = maxReentryDepth
        self.maxModuleBytes = maxModuleBytes
    }
}

/// Limits the supervisor enforces from outside the worker.
public struct SupervisionLimits: Sendable, Hashable {
    public var maxWallTimeMillisecondsPerCall: UInt64
    public var maxCPUSecondsPerWorker: UInt64
    public var maxHostCallsPerSecond: UInt32
    public var maxHostCallsPerCall: UInt32
    public var maxHostCallBytes: UInt32
    public var maxMessageBytes: UInt32
    public var maxLogBytesPerSecond: UInt32

    public init(maxWallTimeMillisecondsPerCall: UInt64, maxCPUSecondsPerWorker: UInt64, maxHostCallsPerSecond: UInt32,
                maxHostCallsPerCall: UInt32, maxHostCallBytes: UInt32, maxMessageBytes: UInt32,
                maxLogBytesPerSecond: UInt32) {
        self.maxWallTimeMillisecondsPerCall = maxWallTimeMillisecondsPerCall
        self.maxCPUSecondsPerWorker = maxCPUSecondsPerWorker
        self.maxHostCallsPerSecond = maxHostCallsPerSecond
        self.maxHostCallsPerCall = maxHostCallsPerCall
        self.maxHostCallBytes = maxHostCallBytes
        self.maxMessageBytes = maxMessageBytes
        self.maxLogBytesPerSecond = maxLogBytesPerSecond
    }
}
