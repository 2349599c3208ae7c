import CordonChannel
import WasmKit

/// Serves the guest's host-function calls. Guest memory is touched only here, and only after a
/// bounds check; the supervisor receives values and copied byte strings, never pointers.
final class HostContext {
    private let transport: HostCallTransport
    private let limits: WasmLimits
    private var nextID: UInt32 = 0
    private var reentryDepth: UInt32 = 0
    var memory: GuestMemory?
    var instance: Instance?

    init(transport: HostCallTransport, limits: WasmLimits) {
        self.transport = transport
        self.limits = limits
    }

    func invoke(_ spec: HostFunctionSpec, type: FunctionType, caller: borrowing Caller, arguments: [Value]) throws -> [Value] {
        // Host functions may run guest code (host_alloc forwards to the guest allocator), and that
        // code may call host functions again: WasmKit recurses on the native stack with no limit.
        guard reentryDepth < max(limits.maxReentryDepth, 1) else {
            throw RuntimeTrap(kind: .reentryLimit, message: "host re-entry depth limit \(limits.maxReentryDepth) exceeded in \(spec.name)")
        }
        reentryDepth += 1
        defer { reentryDepth -= 1 }
        let status = try serve(spec, arguments: arguments)
        return Self.result(status, type: type)
    }

    private static func result(_ status: Int64, type: FunctionType) -> [Value] {
        guard let resultType = type.results.first else { return [] }
        if resultType == .i64 { return [.i64(UInt64(bitPattern: status))] }
        let clamped = Int32(clamping: status)
        return [.i32(UInt32(bitPattern: clamped))]
    }

    private func integer(_ value: Value) -> Int64 {
        switch value {
        case .i32(let v): Int64(Int32(bitPattern: v))
        case .i64(let v): Int64(bitPattern: v)
        default: 0
        }
    }

    private func serve(_ spec: HostFunctionSpec, arguments: [Value]) throws -> Int64 {
        switch spec.served {
        case .guestAllocator:
            return try forwardToGuest(["cordon_alloc", "malloc", "alloc"], arguments: [arguments[0]], missing: ABIErrorCode.notFound)
        case .guestFree:
            let args = Array(arguments.prefix(1))
            return try forwardToGuest(["cordon_free", "free", "dealloc"], arguments: args, missing: 0)
        case .assemblyScriptAbort:
            let message = assemblyScriptString(arguments[0]) ?? "(unreadable message)"
            let file = assemblyScriptString(arguments[1]) ?? "?"
            throw RuntimeTrap(kind: .unreachable,
                              message: "abort: \(message) at \(file):\(integer(arguments[2])):\(integer(arguments[3]))")
        case .supervisor:
            break
        }
        guard let request = decode(spec, arguments: arguments) else {
            return Int64(ABIErrorCode.invalidArgument.rawValue)
        }
        switch request {
        case .failed(let code):
            return Int64(code.rawValue)
        case .ready(let call, let output):
            let reply = try forward(call.function, integers: call.integers, blobs: call.blobs)
            guard let output else { return reply.status }
            if reply.status < 0 { return reply.status }
            // A reply that would not fit the buffer comes as its length alone: nothing to write.
            if reply.data.isEmpty { return reply.status }
            // The full length is returned either way; bytes are written only when they fit, so a
            // guest can retry with a larger buffer instead of reading a silently truncated value.
            if reply.data.count <= Int(output.capacity) {
                guard memory?.write(reply.data, at: output.pointer) == true else {
                    return Int64(ABIErrorCode.invalidArgument.rawValue)
                }
            }
            return Int64(reply.data.count)
        }
    }

    /// Sends one host call under the next request id and returns the matching reply (the id check
    /// is the only thing the worker trusts about a reply: a mismatch means the channel is out of step).
    func forward(_ function: String, integers: [Int64], blobs: [[UInt8]]) throws -> HostCallReply {
        nextID &+= 1
        let request = HostCallRequest(id: nextID, function: function, integers: integers, blobs: blobs)
        let reply = try transport.perform(request)
        guard reply.id == request.id else {
            throw HostTransportFailure(reason: "reply id \(reply.id) does not match request \(request.id)")
        }
        return reply
    }

    /// Sends guest output (WASI stdout/stderr) on the host-call channel.
    func emit(_ chunk: OutputChunk) throws {
        try transport.emit(chunk)
    }

    private enum Decoded {
        case ready(HostCallRequest, output: (pointer: UInt32, capacity: UInt32)?)
        case failed(ABIErrorCode)
    }

    /// Reads every (ptr, len) input from guest memory and checks the output buffer, before any byte
    /// leaves the worker. Out of range → invalid argument; over the size cap → too large.
    private func decode(_ spec: HostFunctionSpec, arguments: [Value]) -> Decoded? {
        var integers: [Int64] = []
        var blobs: [[UInt8]] = []
        var output: (pointer: UInt32, capacity: UInt32)?
        var index = 0
        var total = 0
        for group in spec.parameters {
            switch group {
            case .integer:
                guard index < arguments.count else { return nil }
                integers.append(integer(arguments[index]))
                index += 1
            case .bytes, .output:
                guard index + 1 < arguments.count,
                      case .i32(let pointer) = arguments[index], case .i32(let length) = arguments[index + 1] else { return nil }
                index += 2
                guard let memory else { return .failed(.invalidArgument) }
                guard memory.contains(pointer: pointer, length: length) else { return .failed(.invalidArgument) }
                if group == .output {
                    output = (pointer, length)
                    integers.append(Int64(length))
                } else {
                    total += Int(length)
                    guard total <= Int(limits.maxHostCallBytes) else { return .failed(.tooLarge) }
                    guard let bytes = memory.read(pointer: pointer, length: length) else { return .failed(.invalidArgument) }
                    blobs.append(bytes)
                }
            }
        }
        return .ready(HostCallRequest(id: 0, function: spec.name, integers: integers, blobs: blobs), output: output)
    }

    private func forwardToGuest(_ names: [String], arguments: [Value], missing: Int64) throws -> Int64 {
        guard let instance else { return missing }
        for name in names {
            guard let function = instance.exports[function: name] else { continue }
            let values = try function.invoke(arguments.map { value in
                if case .i64(let v) = value, function.type.parameters.first == .i32 { return .i32(UInt32(truncatingIfNeeded: v)) }
                return value
            })
            guard let first = values.first else { return 0 }
            return integer(first)
        }
        return missing
    }

    private func forwardToGuest(_ names: [String], arguments: [Value], missing: ABIErrorCode) throws -> Int64 {
        try forwardToGuest(names, arguments: arguments, missing: Int64(missing.rawValue))
    }

    /// AssemblyScript strings: UTF-16LE, byte length in the u32 just before the pointer.
    private func assemblyScriptString(_ value: Value) -> String? {
        guard case .i32(let pointer) = value, pointer >= 4, let memory,
              let header = memory.read(pointer: pointer - 4, length: 4) else { return nil }
        let length = UInt32(header[0]) | UInt32(header[1]) << 8 | UInt32(header[2]) << 16 | UInt32(header[3]) << 24
        guard length <= 4096, let bytes = memory.read(pointer: pointer, length: length & ~1) else { return nil }
        var units: [UInt16] = []
        var i = 0
        while i + 1 < bytes.count {
            units.append(UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8)
            i += 2
        }
        return String(decoding: units, as: UTF16.self)
    }
}
