// Greeter: an Embedded Swift plugin using CordonPDK: log, config, storage, tools, messages.
//   cordon build Examples/swift/Greeter.swift -o /tmp/greeter.wasm
//   cordon run /tmp/greeter.wasm --export greet --grant read_config --grant storage --config name=Ada
// stderr: [greeter] info: Hello, Ada! (visit 1)
// stdout: 1
//   cordon run /tmp/greeter.wasm --export greet            → stderr "[greeter] warn: read_config denied", stdout -2
//   cordon run /tmp/greeter.wasm --export shout --grant call_tool --grant send_message
// stderr: [greeter] info: tool reversed: adA  /  [greeter → ops] greeter says hi
// stdout: 0

/// greet() -> visit count: "Hello, <name>!" with name from configuration (default "world").
@_expose(wasm, "greet")
@_cdecl("greet")
func greet() -> Int32 {
    let name: String
    do { name = try Cordon.config("name") ?? "world" } catch {
        Cordon.log(.warn, "read_config denied")
        return error.rawValue
    }
    var visits: Int32 = 0
    do {
        if let stored = try Cordon.Storage.get("visits"), stored.count == 4 {
            visits = Int32(stored[0]) | Int32(stored[1]) << 8 | Int32(stored[2]) << 16 | Int32(stored[3]) << 24
        }
        visits += 1
        try Cordon.Storage.set("visits", [UInt8(truncatingIfNeeded: visits), UInt8(truncatingIfNeeded: visits >> 8),
                                          UInt8(truncatingIfNeeded: visits >> 16), UInt8(truncatingIfNeeded: visits >> 24)])
    } catch {
        Cordon.log(.warn, "storage denied")
        return error.rawValue
    }
    Cordon.log(.info, "Hello, " + name + "! (visit " + String(visits) + ")")
    return visits
}

/// shout() -> 0: asks the host tool "reverse" to reverse "Ada", then messages "ops".
@_expose(wasm, "shout")
@_cdecl("shout")
func shout() -> Int32 {
    do {
        let reply = try Cordon.callTool("reverse", Array("Ada".utf8))
        Cordon.log(.info, "tool reversed: " + String(decoding: reply, as: UTF8.self))
        try Cordon.sendMessage(to: "ops", Array("greeter says hi".utf8))
        return 0
    } catch {
        return error.rawValue
    }
}

/// Bytes convention: reverse(ptr, len) -> (out_ptr << 32 | out_len).
@_expose(wasm, "reverse")
@_cdecl("reverse")
func reverse(_ input: UnsafePointer<UInt8>, _ length: Int32) -> Int64 {
    let bytes = UnsafeBufferPointer(start: input, count: Int(length))
    return Cordon.bytesResult(Array(bytes.reversed()))
}
