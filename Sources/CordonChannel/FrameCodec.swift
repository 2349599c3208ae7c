// The versioned binary frame of the protocol (docs/protocol.md, "Frame format"):
//   magic u8 (0xC0) | version u8 (1) | kind u8 | flags u8 | callID u32 LE | payloadLength u32 LE | payload
// Decoding runs on a private copy of bytes a hostile worker chose: every field is bounds-checked, every
// count is capped and checked against the remaining bytes before allocating, and nothing may be left over.

/// The one-byte message kinds of frame version 1.
public enum FrameKind: UInt8, Sendable, Hashable, CaseIterable {
    case hello = 0x01, loaded = 0x02, loadFailed = 0x03, callOutcome = 0x04, hostCall = 0x05, log = 0x06,
         violation = 0x07, output = 0x08, cleanupFailed = 0x09
    case listenerTaken = 0x10, bootstrap = 0x11, call = 0x12, hostReply = 0x13, shutdown = 0x14,
         moduleChunk = 0x15
    case heartbeat = 0x20

    /// Whether frames of this kind carry a call id in the header (all others must send 0).
    var carriesCallID: Bool {
        switch self {
        case .callOutcome, .hostCall, .call, .hostReply, .output: true
        default: false
        }
    }
}

/// Caps the decoder enforces on lists and names (the whole frame is also bounded by maxMessageSize).
public enum FrameLimits {
    /// Size of the fixed frame header.
    public static let headerSize = 12
    /// First byte of every frame.
    public static let magic: UInt8 = 0xC0
    /// The frame version this build encodes and decodes.
    public static let version: UInt8 = 1
    /// Longest export, function, layer or custom-function name, in UTF-8 bytes.
    public static let maxNameBytes = 4096
    /// An unsupported export's type name (`funcref`…).
    public static let maxTypeNameBytes = 64
    /// Longest reason in a `cleanupFailed` frame, in UTF-8 bytes: one line for an audit record.
    public static let maxCleanupReasonBytes = 1024
    /// Longest free-text field (log, trap and load-failure messages), in UTF-8 bytes.
    public static let maxTextBytes = 1 << 20
    /// Most isolation layers in a hello.
    public static let maxLayers = 64
    /// Most exported functions in a module report.
    public static let maxExports = 65_536
    /// Most parameter or result types of one function signature.
    public static let maxSignatureTypes = 1_000
    /// Most values in call arguments or call results.
    public static let maxValues = 1_000
    /// Most integer arguments of one host call.
    public static let maxHostCallIntegers = 64
    /// Most byte-string arguments of one host call.
    public static let maxHostCallBlobs = 64
    /// Most custom host function names in a bootstrap.
    public static let maxCustomFunctions = 4_096
    /// Most WASI arguments, and most WASI environment entries, in a bootstrap.
    public static let maxWASIArguments = 4_096
    /// Longest WASI argument or environment entry, in UTF-8 bytes.
    public static let maxWASIArgumentBytes = 64 << 10
    /// Most WASI preopened directories (guest fds 3 … 3 + count − 1).
    public static let maxWASIPreopens = 1_024
    /// Exact length of the WASI random seed (a ChaCha20 key).
    public static let wasiRandomSeedBytes = 32
    /// Most bytes in one output frame.
    public static let maxOutputChunkBytes = 65_536
}

/// Encodes `ChannelMessage` values into frames and decodes untrusted frames back.
public enum FrameCodec {
    /// Encodes a message into one frame (header + payload).
    public static func encode(_ message: ChannelMessage) -> [UInt8] {
        var w = ByteWriter(reservingCapacity: FrameLimits.headerSize + estimatedPayloadSize(message))
        let (kind, callID) = header(of: message)
        w.u8(FrameLimits.magic)
        w.u8(FrameLimits.version)
        w.u8(kind.rawValue)
        w.u8(0)
        w.u32(callID)
        w.u32(0)  // payload length, patched below once known
        encodePayload(message, into: &w)
        w.patchU32(at: 8, UInt32(truncatingIfNeeded: w.bytes.count - FrameLimits.headerSize))
        return w.bytes
    }

    /// Encodes `.moduleChunk` straight from a slice of the module: the same bytes as
    /// `encode(.moduleChunk(Array(slice)))`, without the intermediate copy (a 20 MB module is streamed
    /// on every spawn).
    public static func encodeModuleChunk(_ data: ArraySlice<UInt8>) -> [UInt8] {
        var w = ByteWriter(reservingCapacity: FrameLimits.headerSize + 4 + data.count)
        w.u8(FrameLimits.magic)
        w.u8(FrameLimits.version)
        w.u8(FrameKind.moduleChunk.rawValue)
        w.u8(0)
        w.u32(0)
        w.u32(UInt32(truncatingIfNeeded: 4 + data.count))
        w.blob(data)
        return w.bytes
    }

    /// Decodes one frame from untrusted bytes; any inconsistency throws `.corrupt`.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(ChannelError) -> ChannelMessage {
        var r = ByteReader(bytes)
        let magic = try r.u8()
        guard magic == FrameLimits.magic else { throw .corrupt(.badMagic(magic)) }
        let version = try r.u8()
        guard version == FrameLimits.version else { throw .corrupt(.unsupportedVersion(version)) }
        let kindByte = try r.u8()
        guard let kind = FrameKind(rawValue: kindByte) else { throw .corrupt(.unknownKind(kindByte)) }
        let flags = try r.u8()
        guard flags == 0 else { throw .corrupt(.reservedFlags(flags)) }
        let callID = try r.u32()
        guard kind.carriesCallID || callID == 0 else { throw .corrupt(.unexpectedCallID(callID)) }
        let payloadLength = try r.u32()
        guard Int(payloadLength) == r.remaining else {
            throw .corrupt(.payloadLengthMismatch(declared: payloadLength, actual: r.remaining))
        }
        let message = try decodePayload(kind: kind, callID: callID, &r)
        try r.finish()
        return message
    }

    /// Decodes one frame from any byte collection (copied to contiguous private memory first if needed).
    public static func decode(_ bytes: some Collection<UInt8>) throws(ChannelError) -> ChannelMessage {
        let result: Result<ChannelMessage, ChannelError>? = bytes.withContiguousStorageIfAvailable { buffer in
            do throws(ChannelError) {
                return .success(try decode(UnsafeRawBufferPointer(buffer)))
            } catch {
                return .failure(error)
            }
        }
        if let result { return try result.get() }
        let copy = Array(bytes)
        let copied: Result<ChannelMessage, ChannelError> = copy.withUnsafeBytes { raw in
            do throws(ChannelError) { return .success(try decode(raw)) } catch { return .failure(error) }
        }
        return try copied.get()
    }

    // MARK: - Encoding

    /// The header kind and call id of a message.
    static func header(of message: ChannelMessage) -> (FrameKind, UInt32) {
        switch message {
        case .hello: (.hello, 0)
        case .loaded: (.loaded, 0)
        case .loadFailed: (.loadFailed, 0)
        case .callOutcome(let o): (.callOutcome, o.id)
        case .hostCall(let h): (.hostCall, h.id)
        case .log: (.log, 0)
        case .violation: (.violation, 0)
        case .output(let o): (.output, o.id)
        case .cleanupFailed: (.cleanupFailed, 0)
        case .listenerTaken: (.listenerTaken, 0)
        case .bootstrap: (.bootstrap, 0)
        case .moduleChunk: (.moduleChunk, 0)
        case .call(let c): (.call, c.id)
        case .hostReply(let h): (.hostReply, h.id)
        case .shutdown: (.shutdown, 0)
        case .heartbeat: (.heartbeat, 0)
        }
    }

    /// A cheap upper-ish estimate of the payload size so large blobs are copied once, not regrown.
    private static func estimatedPayloadSize(_ message: ChannelMessage) -> Int {
        switch message {
        case .bootstrap(let b): 128 + b.customFunctions.count * 32
            + (b.wasi.arguments + b.wasi.environment + b.wasi.preopens).reduce(0) { $0 + 4 + $1.utf8.count }
        case .output(let o): 8 + o.data.count
        case .moduleChunk(let data): 4 + data.count
        case .hostCall(let h): 64 + h.function.utf8.count + h.integers.count * 8
            + h.blobs.reduce(0) { $0 + 4 + $1.count }
        case .hostReply(let h): 16 + h.data.count
        case .call(let c): 64 + c.export.utf8.count + c.arguments.count * 9 + (c.input?.count ?? 0) + c.stdin.count
        case .callOutcome(let o):
            switch o.result {
            case .bytes(let b): 32 + b.count
            case .values(let v): 32 + v.count * 9
            case .trap(_, let m): 32 + m.utf8.count
            case .exited: 32
            }
        default: 256
        }
    }

    private static func encodeValue(_ v: WasmValue, into w: inout ByteWriter) {
        w.u8(v.type.rawValue)
        switch v {
        case .i32(let x), .f32(let x): w.u32(x)
        case .i64(let x), .f64(let x): w.u64(x)
        }
    }

    private static func encodeTypes(_ types: [WasmType], into w: inout ByteWriter) {
        w.count(types.count)
        for t in types { w.u8(t.rawValue) }
    }

    private static func encodePayload(_ message: ChannelMessage, into w: inout ByteWriter) {
        switch message {
        case .hello(let h):
            w.u16(h.protocolVersion)
            w.i32(h.pid)
            w.u32(h.uid)
            w.i32(h.listenerFD)
            w.count(h.layers.count)
            for l in h.layers { w.string(l) }
        case .loaded(let m):
            w.u32(m.memoryPages)
            w.count(m.exports.count)
            for e in m.exports {
                w.string(e.name)
                encodeTypes(e.parameters, into: &w)
                encodeTypes(e.results, into: &w)
            }
            w.count(m.unsupported.count)
            for u in m.unsupported {
                w.string(u.name)
                w.string(u.type)
            }
        case .loadFailed(let f):
            w.u8(f.stage.rawValue)
            w.string(f.message)
        case .callOutcome(let o):
            w.u64(o.fuelUsed)
            w.u32(o.memoryPages)
            w.u64(o.droppedOutput)
            switch o.result {
            case .values(let values):
                w.u8(0)
                w.count(values.count)
                for v in values { encodeValue(v, into: &w) }
            case .bytes(let b):
                w.u8(1)
                w.blob(b)
            case .trap(let kind, let text):
                w.u8(2)
                w.u8(kind.rawValue)
                w.string(text)
            case .exited(let code):
                w.u8(3)
                w.i32(code)
            }
        case .hostCall(let h):
            w.string(h.function)
            w.count(h.integers.count)
            for i in h.integers { w.i64(i) }
            w.count(h.blobs.count)
            for b in h.blobs { w.blob(b) }
        case .log(let l):
            w.u8(l.level)
            w.string(l.message)
        case .violation(let v):
            w.i32(v.syscall)
            w.u32(v.arch)
        case .cleanupFailed(let reason):
            w.string(reason)
        case .output(let o):
            w.u8(o.stream.rawValue)
            w.blob(o.data)
        case .listenerTaken, .shutdown:
            break
        case .bootstrap(let b):
            w.u32(b.limits.maxMemoryPages)
            w.u32(b.limits.maxTableElements)
            w.u64(b.limits.maxFuelPerCall)
            w.u32(b.limits.maxReentryDepth)
            w.u32(b.limits.maxHostCallBytes)
            w.u32(b.limits.maxCallDepth)
            w.u64(b.moduleLength)
            w.count(b.customFunctions.count)
            for f in b.customFunctions { w.string(f) }
            w.u32(b.idleReleaseMilliseconds)
            w.count(b.wasi.arguments.count)
            for a in b.wasi.arguments { w.string(a) }
            w.count(b.wasi.environment.count)
            for e in b.wasi.environment { w.string(e) }
            w.count(b.wasi.preopens.count)
            for p in b.wasi.preopens { w.string(p) }
            w.u64(b.wasi.clockResolutionNanoseconds)
            w.blob(b.wasi.randomSeed)
            w.u32(b.wasi.maxOutputBytes)
            w.u8(b.moduleFormat.rawValue)
        case .moduleChunk(let data):
            w.blob(data)
        case .call(let c):
            w.u64(c.fuel)
            w.string(c.export)
            w.count(c.arguments.count)
            for a in c.arguments { encodeValue(a, into: &w) }
            if let input = c.input {
                w.u8(1)
                w.blob(input)
            } else {
                w.u8(0)
            }
            w.blob(c.stdin)
        case .hostReply(let h):
            w.i64(h.status)
            w.blob(h.data)
        case .heartbeat(let n):
            w.u64(n)
        }
    }

    // MARK: - Decoding

    private static func decodeType(_ r: inout ByteReader) throws(ChannelError) -> WasmType {
        let raw = try r.u8()
        guard let t = WasmType(rawValue: raw) else { throw .corrupt(.invalidEnumValue(.wasmType, value: raw)) }
        return t
    }

    private static func decodeTypes(_ r: inout ByteReader) throws(ChannelError) -> [WasmType] {
        let n = try r.count(cap: FrameLimits.maxSignatureTypes, minimumElementSize: 1)
        var types: [WasmType] = []
        types.reserveCapacity(n)
        for _ in 0..<n { types.append(try decodeType(&r)) }
        return types
    }

    private static func decodeValue(_ r: inout ByteReader) throws(ChannelError) -> WasmValue {
        switch try decodeType(&r) {
        case .i32: .i32(try r.u32())
        case .i64: .i64(try r.u64())
        case .f32: .f32(try r.u32())
        case .f64: .f64(try r.u64())
        }
    }

    private static func decodeValues(_ r: inout ByteReader) throws(ChannelError) -> [WasmValue] {
        // Smallest encoded value: type byte + 4-byte i32/f32.
        let n = try r.count(cap: FrameLimits.maxValues, minimumElementSize: 5)
        var values: [WasmValue] = []
        values.reserveCapacity(n)
        for _ in 0..<n { values.append(try decodeValue(&r)) }
        return values
    }

    private static func decodeStrings(_ r: inout ByteReader, cap: Int,
                                      stringCap: Int = FrameLimits.maxNameBytes) throws(ChannelError) -> [String] {
        // Smallest encoded string: its 4-byte length prefix.
        let n = try r.count(cap: cap, minimumElementSize: 4)
        var strings: [String] = []
        strings.reserveCapacity(n)
        for _ in 0..<n { strings.append(try r.string(cap: stringCap)) }
        return strings
    }

    private static func decodeWASIBootstrap(_ r: inout ByteReader) throws(ChannelError) -> WASIBootstrap {
        let arguments = try decodeStrings(&r, cap: FrameLimits.maxWASIArguments, stringCap: FrameLimits.maxWASIArgumentBytes)
        let environment = try decodeStrings(&r, cap: FrameLimits.maxWASIArguments, stringCap: FrameLimits.maxWASIArgumentBytes)
        let preopens = try decodeStrings(&r, cap: FrameLimits.maxWASIPreopens)
        let resolution = try r.u64()
        // Readings are rounded down to a multiple of the resolution: 0 would divide by zero.
        guard resolution > 0 else { throw .corrupt(.zeroClockResolution) }
        let seed = try r.blob(exactly: FrameLimits.wasiRandomSeedBytes)
        return WASIBootstrap(arguments: arguments, environment: environment, preopens: preopens,
                             clockResolutionNanoseconds: resolution, randomSeed: seed, maxOutputBytes: try r.u32())
    }

    private static func decodePayload(kind: FrameKind, callID: UInt32,
                                      _ r: inout ByteReader) throws(ChannelError) -> ChannelMessage {
        switch kind {
        case .hello:
            let version = try r.u16()
            let pid = try r.i32()
            let uid = try r.u32()
            let listener = try r.i32()
            let layers = try decodeStrings(&r, cap: FrameLimits.maxLayers)
            return .hello(WorkerHello(protocolVersion: version, pid: pid, uid: uid, layers: layers,
                                      listenerFD: listener))
        case .loaded:
            let pages = try r.u32()
            // Smallest export: empty name (4) + two empty type lists (4 + 4).
            let n = try r.count(cap: FrameLimits.maxExports, minimumElementSize: 12)
            var exports: [ExportedFunction] = []
            exports.reserveCapacity(n)
            for _ in 0..<n {
                let name = try r.string(cap: FrameLimits.maxNameBytes)
                let params = try decodeTypes(&r)
                let results = try decodeTypes(&r)
                exports.append(ExportedFunction(name: name, parameters: params, results: results))
            }
            // Smallest entry: two empty strings (4 + 4).
            let u = try r.count(cap: FrameLimits.maxExports, minimumElementSize: 8)
            var unsupported: [UnsupportedExport] = []
            unsupported.reserveCapacity(u)
            for _ in 0..<u {
                let name = try r.string(cap: FrameLimits.maxNameBytes)
                unsupported.append(UnsupportedExport(name: name, type: try r.string(cap: FrameLimits.maxTypeNameBytes)))
            }
            return .loaded(ModuleReport(exports: exports, memoryPages: pages, unsupported: unsupported))
        case .loadFailed:
            let raw = try r.u8()
            guard let stage = LoadFailure.Stage(rawValue: raw) else {
                throw .corrupt(.invalidEnumValue(.loadStage, value: raw))
            }
            return .loadFailed(LoadFailure(stage: stage, message: try r.string(cap: FrameLimits.maxTextBytes)))
        case .callOutcome:
            let fuel = try r.u64()
            let pages = try r.u32()
            let dropped = try r.u64()
            let tag = try r.u8()
            let result: CallOutcome.Result
            switch tag {
            case 0: result = .values(try decodeValues(&r))
            case 1: result = .bytes(try r.blob())
            case 2:
                let raw = try r.u8()
                guard let trap = TrapKind(rawValue: raw) else {
                    throw .corrupt(.invalidEnumValue(.trapKind, value: raw))
                }
                result = .trap(trap, try r.string(cap: FrameLimits.maxTextBytes))
            case 3: result = .exited(try r.i32())
            default: throw .corrupt(.invalidEnumValue(.resultTag, value: tag))
            }
            return .callOutcome(CallOutcome(id: callID, result: result, fuelUsed: fuel, memoryPages: pages,
                                            droppedOutput: dropped))
        case .hostCall:
            let function = try r.string(cap: FrameLimits.maxNameBytes)
            let ni = try r.count(cap: FrameLimits.maxHostCallIntegers, minimumElementSize: 8)
            var integers: [Int64] = []
            integers.reserveCapacity(ni)
            for _ in 0..<ni { integers.append(try r.i64()) }
            let nb = try r.count(cap: FrameLimits.maxHostCallBlobs, minimumElementSize: 4)
            var blobs: [[UInt8]] = []
            blobs.reserveCapacity(nb)
            for _ in 0..<nb { blobs.append(try r.blob()) }
            return .hostCall(HostCallRequest(id: callID, function: function, integers: integers, blobs: blobs))
        case .log:
            let level = try r.u8()
            return .log(WorkerLog(level: level, message: try r.string(cap: FrameLimits.maxTextBytes)))
        case .violation:
            let nr = try r.i32()
            return .violation(ViolationReport(syscall: nr, arch: try r.u32()))
        case .cleanupFailed:
            return .cleanupFailed(try r.string(cap: FrameLimits.maxCleanupReasonBytes))
        case .output:
            let raw = try r.u8()
            guard let stream = OutputStream(rawValue: raw) else {
                throw .corrupt(.invalidEnumValue(.outputStream, value: raw))
            }
            return .output(OutputChunk(id: callID, stream: stream, data: try r.blob(cap: FrameLimits.maxOutputChunkBytes)))
        case .listenerTaken:
            return .listenerTaken
        case .shutdown:
            return .shutdown
        case .bootstrap:
            let limits = WasmLimits(maxMemoryPages: try r.u32(), maxTableElements: try r.u32(),
                                    maxFuelPerCall: try r.u64(), maxReentryDepth: try r.u32(),
                                    maxHostCallBytes: try r.u32(), maxCallDepth: try r.u32())
            let moduleLength = try r.u64()
            let custom = try decodeStrings(&r, cap: FrameLimits.maxCustomFunctions)
            let idle = try r.u32()
            let wasi = try decodeWASIBootstrap(&r)
            let raw = try r.u8()
            guard let format = ModuleFormat(rawValue: raw) else { throw .corrupt(.invalidEnumValue(.moduleFormat, value: raw)) }
            return .bootstrap(Bootstrap(moduleLength: moduleLength, limits: limits, customFunctions: custom,
                                        idleReleaseMilliseconds: idle, wasi: wasi, moduleFormat: format))
        case .moduleChunk:
            return .moduleChunk(try r.blob())
        case .call:
            let fuel = try r.u64()
            let export = try r.string(cap: FrameLimits.maxNameBytes)
            let arguments = try decodeValues(&r)
            let tag = try r.u8()
            let input: [UInt8]?
            switch tag {
            case 0: input = nil
            case 1: input = try r.blob()
            default: throw .corrupt(.invalidEnumValue(.optionalTag, value: tag))
            }
            return .call(CallRequest(id: callID, export: export, arguments: arguments, input: input, fuel: fuel,
                                     stdin: try r.blob()))
        case .hostReply:
            let status = try r.i64()
            return .hostReply(HostCallReply(id: callID, status: status, data: try r.blob()))
        case .heartbeat:
            return .heartbeat(try r.u64())
        }
    }
}
