import CordonChannel
import WAT
@_spi(Fuzzing) import WasmKit

/// One plugin instance inside the confined worker: parses, validates and instantiates the module with
/// WasmKit, links Cordon's host functions, and runs calls. Synchronous by design: the worker is a
/// single thread under a seccomp filter that allows no thread creation.
public final class PluginRuntime {
    private let module: Module
    private var store: Store
    private var instance: Instance {
        didSet { lastExport = nil }
    }
    /// The export called last, with its type: a call to the same export (the usual case) skips the
    /// instance's export table and the type's lookup, which together cost more than a call of a small
    /// function. Forgotten whenever `instance` is replaced (a command's `_start` runs on a fresh one).
    private var lastExport: (name: String, function: Function, type: FunctionType)?
    private let limiter: GrowthLimiter
    private let limits: WasmLimits
    private let context: HostContext
    private let wasi: WASISystem
    private let custom: Set<String>
    private let fuelMetered: Bool
    /// A WASI command's `_start` ran on the current instance: the next `_start` gets a fresh one.
    private var startConsumed = false

    /// What the module exports, reported to the supervisor once loaded.
    public let report: ModuleReport

    /// Loads `module` (the bytes `bootstrap.moduleLength` announced); every failure is a typed
    /// `LoadFailure` naming its stage.
    public static func load(_ bootstrap: Bootstrap, module: [UInt8], transport: HostCallTransport) -> Result<PluginRuntime, LoadFailure> {
        do {
            return .success(try PluginRuntime(bootstrap: bootstrap, bytes: module, transport: transport))
        } catch let failure as LoadFailure {
            return .failure(failure)
        } catch {
            return .failure(LoadFailure(stage: .instantiation, message: String(describing: error)))
        }
    }

    private init(bootstrap: Bootstrap, bytes: [UInt8], transport: HostCallTransport) throws {
        limits = bootstrap.limits
        fuelMetered = bootstrap.limits.maxFuelPerCall > 0
        custom = Set(bootstrap.customFunctions)
        // Text is assembled here, in the confined worker, never in the supervisor: the WAT parser is
        // as exposed to hostile input as the binary parser, and a crash here ends only this worker.
        let binary: [UInt8]
        switch bootstrap.moduleFormat {
        case .binary: binary = bytes
        case .text:
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw LoadFailure(stage: .wat, message: "the module text is not valid UTF-8")
            }
            do { binary = try wat2wasm(text) } catch {
                throw LoadFailure(stage: .wat, message: Self.clean(error))
            }
        }
        do {
            module = try parseWasm(bytes: binary)
        } catch {
            throw LoadFailure(stage: .parse, message: Self.clean(error))
        }
        let engine = Engine(configuration: EngineConfiguration(
            compilationMode: .eager,                 // validate and translate every body at load, once
            stackSize: Self.stackBytes(forCallDepth: bootstrap.limits.maxCallDepth),
            memoryBoundsChecking: .software,         // mprotect mode reserves 4 GiB and adds a syscall per call
            fuelMetering: fuelMetered))
        limiter = GrowthLimiter(maxMemoryPages: bootstrap.limits.maxMemoryPages,
                                maxTableElements: bootstrap.limits.maxTableElements)
        context = HostContext(transport: transport, limits: bootstrap.limits)
        wasi = WASISystem(bootstrap: bootstrap.wasi, context: context, limits: bootstrap.limits)
        (store, instance) = try Self.instantiate(module, engine: engine, limiter: limiter, context: context, wasi: wasi,
                                                 custom: custom, limits: bootstrap.limits)

        var exports: [ExportedFunction] = []
        var unsupported: [UnsupportedExport] = []
        for (name, value) in instance.exports {
            guard case .function(let function) = value else { continue }
            let type = function.type
            guard let params = Self.channelTypes(type.parameters), let results = Self.channelTypes(type.results) else {
                // Reference and vector values cannot cross the channel: reported, so a call names the type.
                unsupported.append(UnsupportedExport(name: name, type: Self.unsupportedTypeName(type.parameters + type.results)))
                continue
            }
            exports.append(ExportedFunction(name: name, parameters: params, results: results))
        }
        exports.sort { $0.name < $1.name }
        unsupported.sort { $0.name < $1.name }
        report = ModuleReport(exports: exports, memoryPages: Self.pages(context), unsupported: unsupported)
    }

    /// Links Cordon's host functions for every import; anything else is a link failure naming it.
    /// WasmKit's smallest call frame: the three slots that save the caller's function, pc and sp
    /// (`StackLayout.numberOfSavingSlots`, 8 bytes each, WasmKit 0.4). Every call advances the VM
    /// stack by at least this much, so a stack of `depth × minimumFrameBytes` bytes can never hold
    /// more than `depth` frames: `maxCallDepth` is an upper bound. Real frames also hold parameters,
    /// locals and operands, so deep recursion through them traps sooner ("call stack exhausted").
    static let minimumFrameBytes = 24

    /// The interpreter stack for a call-depth limit, clamped to 1…1,000,000 frames (24 MB).
    static func stackBytes(forCallDepth depth: UInt32) -> Int {
        Int(min(max(depth, 1), 1_000_000)) * minimumFrameBytes
    }

    /// Instantiates `module` in a fresh store (its own memory, tables and globals), links it, and runs
    /// a WASI reactor's `_initialize` once. Every failure is a `LoadFailure` naming its stage.
    private static func instantiate(_ module: Module, engine: Engine, limiter: GrowthLimiter, context: HostContext,
                                    wasi: WASISystem, custom: Set<String>, limits: WasmLimits) throws -> (Store, Instance) {
        let store = Store(engine: engine)
        store.resourceLimiter = limiter
        let imports = try link(module: module, store: store, context: context, wasi: wasi, custom: custom)
        if limits.maxFuelPerCall > 0 { store.fuel = Fuel(remaining: limits.maxFuelPerCall) }
        // Output of a start function or `_initialize` belongs to no call: it is counted, never sent.
        wasi.beginCall(id: 0, stdin: [], allowance: 0)
        let instance: Instance
        do {
            instance = try module.instantiate(store: store, imports: imports)
        } catch {
            let denied = limiter.takeDenial()
            if let exit = error as? ProcExit {
                throw LoadFailure(stage: .start, message: "the start function called \(exit)")
            }
            if error is Trap || error is RuntimeTrap {
                let (kind, message) = TrapClassifier.classify(error, growthDenied: denied)
                let blameStart = kind != .memoryLimit && kind != .tableLimit
                    && Self.startFunctionWasTheCause(module, engine: engine, limits: limits, custom: custom)
                throw LoadFailure(stage: blameStart ? .start : .instantiation, message: message)
            }
            let text = Self.clean(error)
            let stage: LoadFailure.Stage = text.contains("out of bounds") || text.contains("exceeds the resource limit")
                ? .instantiation : .validation
            throw LoadFailure(stage: stage, message: text)
        }
        context.instance = instance
        context.memory = instance.exports[memory: "memory"].map { GuestMemory(memory: $0) }
        if let initialize = instance.exports[function: "_initialize"] {
            guard initialize.type.parameters.isEmpty, initialize.type.results.isEmpty else {
                throw LoadFailure(stage: .start, message: "export _initialize has type \(initialize.type.parameters) -> \(initialize.type.results); a WASI reactor's _initialize takes and returns nothing")
            }
            if limits.maxFuelPerCall > 0 { store.fuel = Fuel(remaining: limits.maxFuelPerCall) }
            do {
                _ = try initialize.invoke([])
            } catch let exit as ProcExit {
                throw LoadFailure(stage: .start, message: "_initialize called \(exit)")
            } catch {
                throw LoadFailure(stage: .start, message: "_initialize: " + TrapClassifier.classify(error, growthDenied: limiter.takeDenial()).1)
            }
        }
        try runInit(instance, store: store, limiter: limiter, limits: limits)
        return (store, instance)
    }

    /// The plugin's own start-up hook, after `_initialize` and before the worker reports `loaded`:
    /// `cordon_init: () -> ()` or `() -> i32`, where a non-zero i32 refuses the load. It runs on a
    /// fresh fuel budget; a trap, an exit or any other signature fails the load (stage `initialization`).
    private static func runInit(_ instance: Instance, store: Store, limiter: GrowthLimiter, limits: WasmLimits) throws {
        guard let initialize = instance.exports[function: "cordon_init"] else { return }
        let type = initialize.type
        guard type.parameters.isEmpty, type.results.isEmpty || type.results == [.i32] else {
            throw LoadFailure(stage: .initialization, message: "export cordon_init has type \(type.parameters) -> \(type.results); Cordon calls it as () -> () or () -> i32")
        }
        if limits.maxFuelPerCall > 0 { store.fuel = Fuel(remaining: limits.maxFuelPerCall) }
        let results: [Value]
        do {
            results = try initialize.invoke([])
        } catch let exit as ProcExit {
            throw LoadFailure(stage: .initialization, message: "cordon_init called \(exit)")
        } catch {
            throw LoadFailure(stage: .initialization, message: "cordon_init: " + TrapClassifier.classify(error, growthDenied: limiter.takeDenial()).1)
        }
        if case .i32(let status)? = results.first, status != 0 {
            throw LoadFailure(stage: .initialization, message: "cordon_init returned \(Int32(bitPattern: status))")
        }
    }

    /// Runs the plugin's `cordon_cleanup` export, if it has one (`() -> ()`, or `() -> i32` where
    /// non-zero is a failure, as for `cordon_init`), on a fresh fuel budget before the worker exits on
    /// a shutdown request. Returns nil when it succeeded (or there is none), else what went wrong: a
    /// cleanup failure is reported, never fatal, and the supervisor's grace period bounds its wall time.
    public func cleanup() -> String? {
        guard let function = instance.exports[function: "cordon_cleanup"] else { return nil }
        let type = function.type
        guard type.parameters.isEmpty, type.results.isEmpty || type.results == [.i32] else {
            return "export cordon_cleanup has type \(type.parameters) -> \(type.results); Cordon calls it as () -> () or () -> i32"
        }
        if fuelMetered { store.fuel = Fuel(remaining: limits.maxFuelPerCall > 0 ? limits.maxFuelPerCall : UInt64.max) }
        // Its output belongs to no call: counted, never sent.
        wasi.beginCall(id: 0, stdin: [], allowance: 0)
        do {
            let results = try function.invoke([])
            if case .i32(let status)? = results.first, status != 0 {
                return "cordon_cleanup returned \(Int32(bitPattern: status))"
            }
            return nil
        } catch let exit as ProcExit {
            return "cordon_cleanup called \(exit)"
        } catch {
            return "cordon_cleanup: " + TrapClassifier.classify(error, growthDenied: limiter.takeDenial()).1
        }
    }

    private static func link(module: Module, store: Store, context: HostContext, wasi: WASISystem, custom: Set<String>) throws -> Imports {
        var imports = Imports()
        for entry in module.imports {
            if entry.module == WASIFunction.moduleName {
                guard case .function(let typeIndex) = entry.descriptor, let type = module.functionType(at: typeIndex) else {
                    throw LoadFailure(stage: .link, message: "import \(entry.module).\(entry.name) is not a function; WASI preview 1 provides only functions")
                }
                imports.define(module: entry.module, name: entry.name, try linkWASI(entry.name, type: type, store: store, wasi: wasi))
                continue
            }
            guard entry.module == HostABI.moduleName else {
                throw LoadFailure(stage: .link, message: "unknown import module '\(entry.module)' (\(entry.module).\(entry.name)); Cordon provides 'env' and '\(WASIFunction.moduleName)'")
            }
            guard case .function(let typeIndex) = entry.descriptor, let type = module.functionType(at: typeIndex) else {
                throw LoadFailure(stage: .link, message: "import env.\(entry.name) is not a function; Cordon provides only functions")
            }
            let spec: HostFunctionSpec
            if let known = HostABI.functions[entry.name] {
                spec = known
            } else if custom.contains(entry.name) {
                spec = HostABI.custom(entry.name)
            } else {
                throw LoadFailure(stage: .link, message: "unknown import env.\(entry.name): not a Cordon host function and not registered by the application")
            }
            guard spec.accepts(type) else {
                throw LoadFailure(stage: .link, message: "import env.\(entry.name) has type \(type.parameters) -> \(type.results); Cordon's ABI expects \(spec.canonicalSignature) (docs/abi.md)")
            }
            imports.define(module: entry.module, name: entry.name, Function(store: store, type: type) { caller, args in
                try context.invoke(spec, type: type, caller: caller, arguments: args)
            })
        }
        return imports
    }

    /// One WASI import, checked against the exact preview-1 signature and bound to its function by
    /// index, so a call costs a switch and no name lookup.
    private static func linkWASI(_ importName: String, type: FunctionType, store: Store, wasi: WASISystem) throws -> Function {
        let name = "\(WASIFunction.moduleName).\(importName)"
        guard let function = WASIFunction(name: importName) else {
            throw LoadFailure(stage: .link, message: "unknown import \(name): not a function of WASI preview 1")
        }
        guard type == function.type else {
            throw LoadFailure(stage: .link, message: "import \(name) has type \(type.parameters) -> \(type.results); WASI preview 1 expects \(function.signatureText)")
        }
        return Function(store: store, parameters: type.parameters, results: type.results) { _, parameters, results in
            let errno = try wasi.invoke(function, WASIArguments(values: parameters))
            if results.count == 1 { results[0] = .i32(UInt32(errno)) }
        }
    }

    /// WasmKit reports a trap in the start function and one in segment initialisation the same way.
    /// Instantiating again without the start function (a fresh store, only after a failure) tells them apart.
    private static func startFunctionWasTheCause(_ module: Module, engine: Engine, limits: WasmLimits, custom: Set<String>) -> Bool {
        var withoutStart = module
        withoutStart.dropStartFunction()
        let store = Store(engine: engine)
        store.resourceLimiter = GrowthLimiter(maxMemoryPages: limits.maxMemoryPages, maxTableElements: limits.maxTableElements)
        if engine.configuration.fuelMetering { store.fuel = Fuel(remaining: limits.maxFuelPerCall) }
        final class NoTransport: HostCallTransport {
            func perform(_ request: HostCallRequest) throws -> HostCallReply { throw HostTransportFailure(reason: "probe") }
            func emit(_ output: OutputChunk) throws { throw HostTransportFailure(reason: "probe") }
        }
        let context = HostContext(transport: NoTransport(), limits: limits)
        let wasi = WASISystem(bootstrap: WASIBootstrap(), context: context, limits: limits)
        guard let imports = try? link(module: withoutStart, store: store, context: context, wasi: wasi, custom: custom) else { return false }
        return (try? withoutStart.instantiate(store: store, imports: imports)) != nil
    }

    /// Runs a tiny built-in module through parse, validation, translation and a call, so the pages
    /// of the interpreter are faulted in while the worker idles in the warm pool rather than on the
    /// first real load. The module is a constant of this binary, not plugin input.
    public static func warmUp() {
        // (module (func (export "f") (param i32) (result i32) local.get 0 i32.const 1 i32.add))
        let bytes: [UInt8] = [0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00, 0x01, 0x06, 0x01, 0x60, 0x01, 0x7F, 0x01, 0x7F,
                              0x03, 0x02, 0x01, 0x00, 0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, 0x0A, 0x09, 0x01, 0x07, 0x00,
                              0x20, 0x00, 0x41, 0x01, 0x6A, 0x0B]
        final class Idle: HostCallTransport {
            func perform(_ request: HostCallRequest) throws -> HostCallReply { throw HostTransportFailure(reason: "warm-up") }
            func emit(_ output: OutputChunk) throws { throw HostTransportFailure(reason: "warm-up") }
        }
        let limits = WasmLimits(maxMemoryPages: 1, maxTableElements: 1, maxFuelPerCall: 1000, maxReentryDepth: 1, maxHostCallBytes: 64, maxCallDepth: 64)
        if case .success(let runtime) = load(Bootstrap(moduleLength: UInt64(bytes.count), limits: limits, customFunctions: []), module: bytes, transport: Idle()) {
            _ = runtime.call(CallRequest(id: 0, export: "f", arguments: [.i32(1)], fuel: 0))
        }
    }

    private static func pages(_ context: HostContext) -> UInt32 {
        context.memory.map { UInt32(clamping: $0.memory.byteCount / 65536) } ?? 0
    }

    /// Runs one call to completion: values, bytes (bytes convention), a WASI exit or a classified trap.
    /// The call's buffered WASI output is sent before this returns.
    public func call(_ request: CallRequest) -> CallOutcome {
        if request.export == "_start", instance.exports[function: "_start"] != nil {
            // A WASI command runs once per instance: its globals, heap and libc state are spent.
            if startConsumed {
                do {
                    (store, instance) = try Self.instantiate(module, engine: store.engine, limiter: limiter, context: context,
                                                             wasi: wasi, custom: custom, limits: limits)
                } catch {
                    let text = (error as? LoadFailure).map { "\($0.stage): \($0.message)" } ?? Self.clean(error)
                    return CallOutcome(id: request.id, result: .trap(.other, "re-instantiating for _start failed at \(text)"),
                                       fuelUsed: 0, memoryPages: Self.pages(context))
                }
            }
            startConsumed = true
        }
        wasi.beginCall(id: request.id, stdin: request.stdin)
        var outcome = run(request)
        do {
            outcome.droppedOutput = try wasi.endCall()
        } catch {
            outcome.result = .trap(.hostFunction, "sending the call's output failed: \(error)")
        }
        return outcome
    }

    private func run(_ request: CallRequest) -> CallOutcome {
        let budget: UInt64 = request.fuel > 0 ? request.fuel : (limits.maxFuelPerCall > 0 ? limits.maxFuelPerCall : 0)
        if fuelMetered { store.fuel = Fuel(remaining: budget > 0 ? budget : UInt64.max) }
        _ = limiter.takeDenial()
        func fuelUsed() -> UInt64 {
            guard fuelMetered, budget > 0, let left = store.fuel?.remaining else { return 0 }
            return budget >= left ? budget - left : 0
        }
        do {
            let result: CallOutcome.Result
            if let input = request.input {
                result = .bytes(try callWithBytes(request.export, input: input))
            } else {
                result = .values(try callWithValues(request.export, arguments: request.arguments))
            }
            return CallOutcome(id: request.id, result: result, fuelUsed: fuelUsed(), memoryPages: Self.pages(context))
        } catch let exit as ProcExit {
            return CallOutcome(id: request.id, result: .exited(exit.code), fuelUsed: fuelUsed(), memoryPages: Self.pages(context))
        } catch {
            var (kind, message) = TrapClassifier.classify(error, growthDenied: limiter.takeDenial())
            if kind == .stackExhausted {
                message += " (call depth limit \(limits.maxCallDepth): a \(Self.stackBytes(forCallDepth: limits.maxCallDepth))-byte interpreter stack)"
            }
            return CallOutcome(id: request.id, result: .trap(kind, message), fuelUsed: kind == .outOfFuel ? budget : fuelUsed(),
                               memoryPages: Self.pages(context))
        }
    }

    private func function(_ name: String) throws -> Function {
        guard let function = instance.exports[function: name] else {
            throw RuntimeTrap(kind: .other, message: "no exported function '\(name)'")
        }
        return function
    }

    private func callWithValues(_ name: String, arguments: [WasmValue]) throws -> [WasmValue] {
        let function: Function, type: FunctionType
        if let last = lastExport, last.name == name {
            (function, type) = (last.function, last.type)
        } else {
            function = try self.function(name)
            type = function.type
            lastExport = (name, function, type)
        }
        guard type.parameters.count == arguments.count else {
            throw RuntimeTrap(kind: .other, message: "export '\(name)' takes \(type.parameters.count) arguments, got \(arguments.count)")
        }
        var values: [Value] = []
        values.reserveCapacity(arguments.count)
        for (index, (argument, expected)) in zip(arguments, type.parameters).enumerated() {
            guard let value = Self.value(argument, as: expected) else {
                throw RuntimeTrap(kind: .other, message: "argument \(index) of '\(name)' must be \(expected), got \(argument.type)")
            }
            values.append(value)
        }
        let results = try function.invoke(values)
        return try results.map { value in
            guard let converted = Self.channelValue(value) else {
                throw RuntimeTrap(kind: .other, message: "export '\(name)' returned a value that cannot cross the channel")
            }
            return converted
        }
    }

    /// Bytes convention (docs/abi.md): `cordon_alloc(len) -> ptr`, then `export(ptr, len) -> i64` whose
    /// result packs (out_ptr << 32 | out_len).
    private func callWithBytes(_ name: String, input: [UInt8]) throws -> [UInt8] {
        guard let memory = context.memory else {
            throw RuntimeTrap(kind: .other, message: "the bytes convention needs an exported 'memory'")
        }
        guard input.count <= Int(limits.maxHostCallBytes), input.count <= Int(Int32.max) else {
            throw RuntimeTrap(kind: .other, message: "input of \(input.count) bytes exceeds the message limit \(limits.maxHostCallBytes)")
        }
        let alloc = try function("cordon_alloc")
        let allocated = try alloc.invoke([.i32(UInt32(input.count))])
        guard allocated.count == 1, case .i32(let pointer) = allocated[0] else {
            throw RuntimeTrap(kind: .other, message: "cordon_alloc must return one i32")
        }
        guard memory.write(input, at: pointer) else {
            throw RuntimeTrap(kind: .outOfBounds, message: "cordon_alloc returned \(pointer), outside memory for \(input.count) bytes")
        }
        let results = try function(name).invoke([.i32(pointer), .i32(UInt32(input.count))])
        guard results.count == 1, case .i64(let packed) = results[0] else {
            throw RuntimeTrap(kind: .other, message: "export '\(name)' must return one i64 (out_ptr << 32 | out_len) under the bytes convention")
        }
        let outPointer = UInt32(truncatingIfNeeded: packed >> 32)
        let outLength = UInt32(truncatingIfNeeded: packed)
        guard outLength <= limits.maxHostCallBytes else {
            throw RuntimeTrap(kind: .other, message: "output of \(outLength) bytes exceeds the message limit \(limits.maxHostCallBytes)")
        }
        guard let output = memory.read(pointer: outPointer, length: outLength) else {
            throw RuntimeTrap(kind: .outOfBounds, message: "output (\(outPointer), \(outLength)) lies outside guest memory")
        }
        return output
    }

    private static func channelTypes(_ types: [ValueType]) -> [WasmType]? {
        var out: [WasmType] = []
        for type in types {
            switch type {
            case .i32: out.append(.i32)
            case .i64: out.append(.i64)
            case .f32: out.append(.f32)
            case .f64: out.append(.f64)
            default: return nil
            }
        }
        return out
    }

    /// The first type of `types` that cannot cross the channel, as WebAssembly text names it.
    static func unsupportedTypeName(_ types: [ValueType]) -> String {
        for type in types {
            switch type {
            case .i32, .i64, .f32, .f64: continue
            case .v128: return "v128"
            case .ref(let reference):
                if reference.heapType == .funcRef { return "funcref" }
                if reference.heapType == .externRef { return "externref" }
                return "ref"
            }
        }
        return "unknown"
    }

    static func value(_ value: WasmValue, as type: ValueType) -> Value? {
        switch (value, type) {
        case (.i32(let v), .i32): .i32(v)
        case (.i64(let v), .i64): .i64(v)
        case (.f32(let v), .f32): .f32(v)
        case (.f64(let v), .f64): .f64(v)
        default: nil
        }
    }

    static func channelValue(_ value: Value) -> WasmValue? {
        switch value {
        case .i32(let v): .i32(v)
        case .i64(let v): .i64(v)
        case .f32(let v): .f32(v)
        case .f64(let v): .f64(v)
        default: nil
        }
    }

    private static func clean(_ error: any Error) -> String {
        let text = String(describing: error)
        return text.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? text
    }
}

extension LoadFailure: Error {}
