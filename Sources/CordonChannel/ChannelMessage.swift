// The messages of the supervisor ↔ worker protocol. Their byte encoding lives in FrameCodec.swift and
// is specified in docs/protocol.md. Every field a worker sends is hostile input to the supervisor.

/// A WebAssembly value type as it crosses the channel.
public enum WasmType: UInt8, Sendable, Hashable, Codable, CustomStringConvertible {
    case i32 = 0x7F, i64 = 0x7E, f32 = 0x7D, f64 = 0x7C

    public var description: String {
        switch self {
        case .i32: "i32"
        case .i64: "i64"
        case .f32: "f32"
        case .f64: "f64"
        }
    }
}

/// A WebAssembly number value; floats travel as their bit patterns so NaN payloads survive.
public enum WasmValue: Sendable, Hashable, CustomStringConvertible {
    case i32(UInt32)
    case i64(UInt64)
    case f32(UInt32)
    case f64(UInt64)

    /// The type of this value.
    public var type: WasmType {
        switch self {
        case .i32: .i32
        case .i64: .i64
        case .f32: .f32
        case .f64: .f64
        }
    }

    public var description: String {
        switch self {
        case .i32(let v): String(Int32(bitPattern: v))
        case .i64(let v): String(Int64(bitPattern: v))
        case .f32(let v): String(Float(bitPattern: v))
        case .f64(let v): String(Double(bitPattern: v))
        }
    }
}

/// The signature of one exported function.
public struct ExportedFunction: Sendable, Hashable {
    public var name: String
    public var parameters: [WasmType]
    public var results: [WasmType]
    public init(name: String, parameters: [WasmType], results: [WasmType]) {
        self.name = name
        self.parameters = parameters
        self.results = results
    }
}

/// WebAssembly limits the worker enforces inside the interpreter (the process limits are rlimits).
public struct WasmLimits: Sendable, Hashable {
    /// Maximum linear-memory pages (64 KiB each) a memory may grow to.
    public var maxMemoryPages: UInt32
    /// Maximum table elements a table may grow to.
    public var maxTableElements: UInt32
    /// Fuel (WasmKit instruction budget) per call; 0 disables fuel metering.
    public var maxFuelPerCall: UInt64
    /// Maximum guest → host → guest re-entry depth.
    public var maxReentryDepth: UInt32
    /// Maximum bytes in one host-call request or reply.
    public var maxHostCallBytes: UInt32
    /// Maximum guest call depth, enforced as an upper bound through the interpreter's stack size.
    public var maxCallDepth: UInt32

    public init(maxMemoryPages: UInt32, maxTableElements: UInt32, maxFuelPerCall: UInt64,
                maxReentryDepth: UInt32, maxHostCallBytes: UInt32, maxCallDepth: UInt32) {
        self.maxMemoryPages = maxMemoryPages
        self.maxTableElements = maxTableElements
        self.maxFuelPerCall = maxFuelPerCall
        self.maxReentryDepth = maxReentryDepth
        self.maxHostCallBytes = maxHostCallBytes
        self.maxCallDepth = maxCallDepth
    }
}

/// The first message a worker sends, after confinement and before it has read any plugin byte.
public struct WorkerHello: Sendable, Hashable {
    /// Protocol version the worker speaks.
    public var protocolVersion: UInt16
    /// The worker's pid as the worker sees it (1 inside a PID namespace).
    public var pid: Int32
    /// The uid the worker runs as after confinement.
    public var uid: UInt32
    /// Isolation layers achieved, by name (e.g. "namespace.net", "rlimits", "capabilities", "seccomp").
    public var layers: [String]
    /// The seccomp user-notification listener fd number inside the worker, or -1 when the filter
    /// kills instead (then the supervisor relies on the SIGSYS exit status).
    public var listenerFD: Int32

    public init(protocolVersion: UInt16, pid: Int32, uid: UInt32, layers: [String], listenerFD: Int32) {
        self.protocolVersion = protocolVersion
        self.pid = pid
        self.uid = uid
        self.layers = layers
        self.listenerFD = listenerFD
    }
}

/// Plugin configuration and the module's length, sent once the worker is confined. The module itself
/// follows in `moduleChunk` frames (exactly `moduleLength` bytes), so its size is bounded by the
/// policy's `wasm.maxModuleBytes`, not by the ring.
/// How the module bytes the bootstrap announces are written.
public enum ModuleFormat: UInt8, Sendable, Hashable {
    /// A WebAssembly binary module.
    case binary = 0
    /// WebAssembly text (WAT): the confined worker assembles it before it parses the binary, so
    /// untrusted text is never parsed in the supervisor (docs/embedding.md, "Loading from a file").
    case text = 1
}

public struct Bootstrap: Sendable, Hashable {
    /// Bytes of module that follow in `moduleChunk` frames. Chosen and capped by the supervisor, so the
    /// worker may allocate exactly this much up front.
    public var moduleLength: UInt64
    public var limits: WasmLimits
    /// Names of application-defined host functions the guest may import from `env`.
    public var customFunctions: [String]
    /// After this many milliseconds without a call the worker drops its mappings of the binary's
    /// code and read-only data (`ImagePages`); 0 keeps them.
    public var idleReleaseMilliseconds: UInt32

    /// The WASI preview-1 world of the guest (docs/wasi.md); the default is an empty one.
    public var wasi: WASIBootstrap
    /// Binary or text: the supervisor's word (the application said which), never the bytes' own.
    public var moduleFormat: ModuleFormat

    public init(moduleLength: UInt64, limits: WasmLimits, customFunctions: [String], idleReleaseMilliseconds: UInt32 = 0,
                wasi: WASIBootstrap = WASIBootstrap(), moduleFormat: ModuleFormat = .binary) {
        self.moduleFormat = moduleFormat
        self.moduleLength = moduleLength
        self.limits = limits
        self.customFunctions = customFunctions
        self.idleReleaseMilliseconds = idleReleaseMilliseconds
        self.wasi = wasi
    }
}

/// What a WASI preview-1 guest sees of the world, chosen by the supervisor: the worker serves args,
/// environ, clocks and random from it without a host call (docs/wasi.md).
public struct WASIBootstrap: Sendable, Hashable {
    /// `argv`, program name first.
    public var arguments: [String]
    /// The environment, each entry "KEY=VALUE".
    public var environment: [String]
    /// Guest paths of the preopened directories: preopen `i` is guest fd `3 + i`.
    public var preopens: [String]
    /// Every clock reading is rounded down to a multiple of this (≥ 1): a timing side-channel defence.
    public var clockResolutionNanoseconds: UInt64
    /// The key of the worker's `random_get` stream, exactly `FrameLimits.wasiRandomSeedBytes` bytes.
    public var randomSeed: [UInt8]
    /// Most bytes the worker forwards per output stream (stdout, stderr) per call; the rest is dropped and counted.
    public var maxOutputBytes: UInt32

    public init(arguments: [String] = [], environment: [String] = [], preopens: [String] = [],
                clockResolutionNanoseconds: UInt64 = 1_000,
                randomSeed: [UInt8] = [UInt8](repeating: 0, count: FrameLimits.wasiRandomSeedBytes),
                maxOutputBytes: UInt32 = 1 << 20) {
        self.arguments = arguments
        self.environment = environment
        self.preopens = preopens
        self.clockResolutionNanoseconds = clockResolutionNanoseconds
        self.randomSeed = randomSeed
        self.maxOutputBytes = maxOutputBytes
    }
}

/// What the worker found in the module after instantiation.
public struct ModuleReport: Sendable, Hashable {
    public var exports: [ExportedFunction]
    /// Initial linear-memory size in pages (0 when the module has no memory).
    public var memoryPages: UInt32
    /// Exported functions whose signature cannot cross the channel, so that a call to one is refused
    /// naming its type rather than as a missing export.
    public var unsupported: [UnsupportedExport]
    public init(exports: [ExportedFunction], memoryPages: UInt32, unsupported: [UnsupportedExport] = []) {
        self.exports = exports
        self.memoryPages = memoryPages
        self.unsupported = unsupported
    }
}

/// An exported function with a parameter or result type other than i32, i64, f32 and f64.
public struct UnsupportedExport: Sendable, Hashable {
    public var name: String
    /// The first type in its signature that cannot cross: `v128`, `funcref`, `externref` or `ref`.
    public var type: String
    public init(name: String, type: String) {
        self.name = name
        self.type = type
    }
}

/// Why a module could not be loaded.
public struct LoadFailure: Sendable, Hashable {
    /// The stage that failed.
    public enum Stage: UInt8, Sendable, Hashable {
        case parse = 1, validation, link, instantiation, start
        /// The module's `cordon_init` trapped or returned a non-zero status.
        case initialization
        /// The module text (`ModuleFormat.text`) is not valid WAT, or not UTF-8.
        case wat
    }
    public var stage: Stage
    public var message: String
    public init(stage: Stage, message: String) {
        self.stage = stage
        self.message = message
    }
}

/// A request to run an export.
public struct CallRequest: Sendable, Hashable {
    public var id: UInt32
    public var export: String
    public var arguments: [WasmValue]
    /// When non-nil, the bytes-in/bytes-out convention (docs/abi.md): the worker copies `input` into
    /// memory from the guest's `cordon_alloc`, calls `export(ptr, len) -> i64` and returns the bytes
    /// the packed (ptr << 32 | len) result points at.
    public var input: [UInt8]?
    /// Fuel for this call; 0 means unmetered.
    public var fuel: UInt64
    /// What a WASI guest reads from fd 0 during this call.
    public var stdin: [UInt8]

    public init(id: UInt32, export: String, arguments: [WasmValue], input: [UInt8]? = nil, fuel: UInt64,
                stdin: [UInt8] = []) {
        self.id = id
        self.export = export
        self.arguments = arguments
        self.input = input
        self.fuel = fuel
        self.stdin = stdin
    }
}

/// A WASI output stream of the guest.
public enum OutputStream: UInt8, Sendable, Hashable {
    case stdout = 1, stderr = 2
}

/// Bytes a WASI guest wrote to stdout or stderr during a call, sent before the call's outcome.
public struct OutputChunk: Sendable, Hashable {
    /// The call that produced the bytes.
    public var id: UInt32
    public var stream: OutputStream
    /// At most `FrameLimits.maxOutputChunkBytes` bytes.
    public var data: [UInt8]
    public init(id: UInt32, stream: OutputStream, data: [UInt8]) {
        self.id = id
        self.stream = stream
        self.data = data
    }
}

/// Classified reason for a guest trap. WasmKit distinguishes traps only by message text; the worker
/// classifies them in one place (TrapClassifier) so the supervisor gets a stable code.
public enum TrapKind: UInt8, Sendable, Hashable {
    case unreachable = 1, outOfBounds, stackExhausted, integerDivision, integerOverflow, invalidConversion,
         outOfFuel, memoryLimit, indirectCall, reentryLimit, hostFunction, other, tableLimit
}

/// A finished call: values (or bytes, for the bytes convention) or a trap, plus fuel consumed and
/// the linear memory's size after the call.
public struct CallOutcome: Sendable, Hashable {
    /// What the call produced.
    public enum Result: Sendable, Hashable {
        case values([WasmValue])
        case bytes([UInt8])
        case trap(TrapKind, String)
        /// The WASI guest called `proc_exit(code)`.
        case exited(Int32)
    }
    public var id: UInt32
    public var result: Result
    public var fuelUsed: UInt64
    /// Pages of the exported `memory` when the call ended (0 without one). It only grows, except
    /// that a WASI command's second and later `_start` runs on a fresh instance (docs/wasi.md).
    public var memoryPages: UInt32
    /// Bytes of stdout and stderr the worker dropped because a stream went over `maxOutputBytes`.
    public var droppedOutput: UInt64
    public init(id: UInt32, result: Result, fuelUsed: UInt64, memoryPages: UInt32, droppedOutput: UInt64 = 0) {
        self.id = id
        self.result = result
        self.fuelUsed = fuelUsed
        self.memoryPages = memoryPages
        self.droppedOutput = droppedOutput
    }
}

/// A host function invocation from the guest. Guest memory is read by the worker (with bounds
/// checks); the supervisor only sees the values and byte strings, never guest pointers.
public struct HostCallRequest: Sendable, Hashable {
    public var id: UInt32
    /// Host function name as imported (e.g. "host_log", or a custom name).
    public var function: String
    /// Integer arguments (levels, capacities, millisecond counts).
    public var integers: [Int64]
    /// Byte-string arguments read from guest memory (keys, values, messages).
    public var blobs: [[UInt8]]
    public init(id: UInt32, function: String, integers: [Int64], blobs: [[UInt8]]) {
        self.id = id
        self.function = function
        self.integers = integers
        self.blobs = blobs
    }
}

/// The supervisor's answer to a host call.
public struct HostCallReply: Sendable, Hashable {
    public var id: UInt32
    /// 0 or a positive value on success, or a negative ABI error code (docs/abi.md).
    public var status: Int64
    /// Output bytes the worker copies to the guest's (out_ptr, out_cap).
    public var data: [UInt8]
    public init(id: UInt32, status: Int64, data: [UInt8]) {
        self.id = id
        self.status = status
        self.data = data
    }
}

/// A diagnostic from the worker runtime itself (not the guest's host_log).
public struct WorkerLog: Sendable, Hashable {
    public var level: UInt8
    public var message: String
    public init(level: UInt8, message: String) {
        self.level = level
        self.message = message
    }
}

/// A syscall the worker says it was denied (SIGSYS fallback path). Worker-reported: forgeable.
public struct ViolationReport: Sendable, Hashable {
    public var syscall: Int32
    public var arch: UInt32
    public init(syscall: Int32, arch: UInt32) {
        self.syscall = syscall
        self.arch = arch
    }
}

/// Every message of the protocol, in both directions.
public enum ChannelMessage: Sendable, Hashable {
    // worker → supervisor
    case hello(WorkerHello)
    case loaded(ModuleReport)
    case loadFailed(LoadFailure)
    case callOutcome(CallOutcome)
    case hostCall(HostCallRequest)
    case log(WorkerLog)
    case violation(ViolationReport)
    case output(OutputChunk)
    /// The plugin's `cordon_cleanup` failed (trap, signature, non-zero status, proc_exit): why, in the
    /// worker's words (at most `FrameLimits.maxCleanupReasonBytes`). Sent only after a `shutdown`.
    case cleanupFailed(String)
    // supervisor → worker
    case listenerTaken
    case bootstrap(Bootstrap)
    /// The next piece of the module announced by `bootstrap.moduleLength`.
    case moduleChunk([UInt8])
    case call(CallRequest)
    case hostReply(HostCallReply)
    case shutdown
    // both directions
    case heartbeat(UInt64)
}

/// The negative status codes a host function returns to the guest (docs/abi.md). One table for all
/// host functions, so a guest needs a single error path.
public enum ABIErrorCode: Int32, Sendable, Hashable, CaseIterable {
    case notFound = -1
    case permissionDenied = -2
    case invalidArgument = -3
    case rateLimited = -4
    case tooLarge = -5
    case hostError = -6

    /// A short, stable name for logs and audit records.
    public var name: String {
        switch self {
        case .notFound: "not_found"
        case .permissionDenied: "permission_denied"
        case .invalidArgument: "invalid_argument"
        case .rateLimited: "rate_limited"
        case .tooLarge: "too_large"
        case .hostError: "host_error"
        }
    }
}
