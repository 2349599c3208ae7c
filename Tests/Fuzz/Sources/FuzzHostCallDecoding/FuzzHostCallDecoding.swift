// libFuzzer target: supervisor-side host-call argument decoding (`HostCallDecoder`, internal to Cordon,
// reached with @testable import because this package compiles the Cordon sources in debug mode).
//
// Input byte 0:
//   0xC0        the whole input is a hostCall FRAME as a worker would put in the ring: FrameCodec.decode,
//               then (like SupervisorCore.hostCall) the name truncated to 128 characters, HostCallDecoder.decode.
//   otherwise   STRUCTURED: byte0 picks the function (one of the 12 known names, or a name from the
//               input for a custom function), then maxOutput:u32, nInts:u8 (mod 6) × i64,
//               nBlobs:u8 (mod 5) × (len:u16 + bytes; 0xFFFF = take every remaining byte).
// Properties checked on success: capacities within 0…Int32.max; random_bytes ≤ maxOutput; sleep ≥ 0;
// decoded strings are exactly the UTF-8 of their blobs; the call runs against an InMemoryHost through
// HostCallDecoder.perform (sleep capped at 0) and returns a status, never crashing.
@testable import Cordon
import CordonChannel
import Foundation

let known: [String] = HostCallDecoder.knownFunctions.sorted()

struct Input {
    var bytes: UnsafeRawBufferPointer
    var offset = 0
    var remaining: Int { max(0, bytes.count - offset) }
    mutating func u8() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }
    mutating func u16() -> UInt16 { UInt16(u8()) | UInt16(u8()) << 8 }
    mutating func u32() -> UInt32 { UInt32(u16()) | UInt32(u16()) << 16 }
    mutating func u64() -> UInt64 { UInt64(u32()) | UInt64(u32()) << 32 }
    mutating func take(_ n: Int) -> [UInt8] {
        let k = min(n, remaining)
        defer { offset += k }
        return Array(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + k)]))
    }
}

func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("property violated: \(message())") }
}

func utf8(_ s: String, equals blob: [UInt8]) -> Bool { Array(s.utf8) == blob }

let host = InMemoryHost(tools: ["echo": { $0 }])
let context = PluginContext(pluginID: "fuzz", manifest: PluginManifest(name: "fuzz", configuration: ["k": "v"]),
                            workerPID: 1)

/// Runs `perform` to completion from the (synchronous) fuzzer thread.
func perform(_ call: HostCallDecoder.Call) -> (status: Int64, data: [UInt8]) {
    let box = ResultBox()
    let done = DispatchSemaphore(value: 0)
    Task {
        box.value = await HostCallDecoder.perform(call, host: host, context: context, sleepCap: .zero)
        done.signal()
    }
    done.wait()
    return box.value
}

final class ResultBox: @unchecked Sendable { var value: (status: Int64, data: [UInt8]) = (0, []) }

func decodeAndCheck(function: String, request: HostCallRequest, maxOutput: UInt32) {
    switch HostCallDecoder.decode(function: function, request: request, maxOutput: maxOutput) {
    case .failure(let code):
        check(code == .invalidArgument || code == .tooLarge, "unexpected failure code \(code)")
    case .success(let call):
        let b = request.blobs
        switch call {
        case .log(_, let message): check(utf8(message, equals: b[0]), "log text")
        case .getConfig(let key, let cap), .storageGet(let key, let cap):
            check(utf8(key, equals: b[0]) && cap >= 0 && cap <= Int(Int32.max), "key/capacity")
        case .setConfig(let k, let v): check(utf8(k, equals: b[0]) && utf8(v, equals: b[1]), "set_config")
        case .sendMessage(let target, let payload): check(utf8(target, equals: b[0]) && payload == b[1], "send_message")
        case .receiveMessage(let cap): check(cap >= 0 && cap <= Int(Int32.max), "receive capacity")
        case .callTool(let name, let args, let cap):
            check(utf8(name, equals: b[0]) && args == b[1] && cap >= 0 && cap <= Int(Int32.max), "call_tool")
        case .storageSet(let key, let value): check(utf8(key, equals: b[0]) && value == b[1], "storage_set")
        case .storageDelete(let key): check(utf8(key, equals: b[0]), "storage_delete")
        case .randomBytes(let n): check(n >= 0 && n <= Int(maxOutput), "random_bytes \(n) > \(maxOutput)")
        case .nowMilliseconds: break
        case .sleep(let ms): check(ms >= 0, "negative sleep")
        case .custom(let name, let input, let cap):
            check(name == function && !HostCallDecoder.knownFunctions.contains(name) && input == b[0]
                  && cap >= 0 && cap <= Int(Int32.max), "custom")
        }
        // random_bytes allocates what was asked (bounded by maxOutput); keep the harness fast.
        if case .randomBytes(let n) = call, n > 1 << 16 { return }
        let answer = perform(call)
        check(answer.status < 0 || answer.status == Int64(answer.data.count) || answer.data.isEmpty,
              "status \(answer.status) vs \(answer.data.count) bytes")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let all = UnsafeRawBufferPointer(start: data, count: size)
    if all[0] == 0xC0 {
        guard case .hostCall(let request)? = try? FrameCodec.decode(all) else { return 0 }
        let function = String(request.function.prefix(128))
        decodeAndCheck(function: function, request: request, maxOutput: 1 << 20)
        return 0
    }
    var input = Input(bytes: all)
    let selector = Int(input.u8())
    let function: String
    if selector < 0xA0 {
        function = known[selector % known.count]
    } else {
        let n = Int(input.u8()) % 40
        function = String(decoding: input.take(n), as: UTF8.self)
    }
    let maxOutput = input.u32()
    let ni = Int(input.u8()) % 6
    var integers: [Int64] = []
    for _ in 0..<ni { integers.append(Int64(bitPattern: input.u64())) }
    let nb = Int(input.u8()) % 5
    var blobs: [[UInt8]] = []
    for _ in 0..<nb {
        let len = Int(input.u16())
        blobs.append(input.take(len == 0xFFFF ? input.remaining : len))
    }
    decodeAndCheck(function: function,
                   request: HostCallRequest(id: 1, function: function, integers: integers, blobs: blobs),
                   maxOutput: maxOutput)
    return 0
}
