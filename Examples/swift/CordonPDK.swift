// CordonPDK: the Cordon guest ABI for Embedded Swift plugins (docs/abi.md, docs/plugins.md).
//
// `cordon build Plugin.swift -o plugin.wasm` compiles a plugin together with this file:
//   swiftc -target wasm32-unknown-none-wasm -enable-experimental-feature Embedded
//          -enable-experimental-feature Extern -wmo -Osize -parse-as-library
//          -Xfrontend -disable-stack-protector -Xlinker --no-entry -Xlinker --wrap=free -Xclang-linker -nostdlib
//
// There is no libc: Embedded Swift's runtime needs posix_memalign and free, which this file
// provides as a bump allocator over memory.grow (memory is never reused; a plugin instance lives
// for one worker, and `Cordon.resetHeap()` can drop everything between calls). Swift reserves the
// name `free` for its runtime, so the allocator defines `__wrap_free` and the linker's
// `--wrap=free` sends the runtime's calls there.

// MARK: - Raw imports (module "env")

@_extern(wasm, module: "env", name: "host_log")
@_extern(c)
func _cordon_host_log(_ level: Int32, _ ptr: UnsafePointer<UInt8>?, _ len: Int32) -> Int32

@_extern(wasm, module: "env", name: "host_get_config")
@_extern(c)
func _cordon_host_get_config(_ key: UnsafePointer<UInt8>?, _ keyLen: Int32, _ out: UnsafeMutablePointer<UInt8>?, _ cap: Int32) -> Int32

@_extern(wasm, module: "env", name: "host_set_config")
@_extern(c)
func _cordon_host_set_config(_ key: UnsafePointer<UInt8>?, _ keyLen: Int32, _ value: UnsafePointer<UInt8>?, _ valueLen: Int32) -> Int32

@_extern(wasm, module: "env", name: "host_send_message")
@_extern(c)
func _cordon_host_send_message(_ target: UnsafePointer<UInt8>?, _ targetLen: Int32, _ payload: UnsafePointer<UInt8>?, _ payloadLen: Int32) -> Int32

@_extern(wasm, module: "env", name: "host_call_tool")
@_extern(c)
func _cordon_host_call_tool(_ name: UnsafePointer<UInt8>?, _ nameLen: Int32, _ args: UnsafePointer<UInt8>?, _ argsLen: Int32,
                            _ out: UnsafeMutablePointer<UInt8>?, _ cap: Int32) -> Int32

@_extern(wasm, module: "env", name: "host_storage_get")
@_extern(c)
func _cordon_host_storage_get(_ key: UnsafePointer<UInt8>?, _ keyLen: Int32, _ out: UnsafeMutablePointer<UInt8>?, _ cap: Int32) -> Int32

@_extern(wasm, module: "env", name: "host_storage_set")
@_extern(c)
func _cordon_host_storage_set(_ key: UnsafePointer<UInt8>?, _ keyLen: Int32, _ value: UnsafePointer<UInt8>?, _ valueLen: Int32) -> Int32

@_extern(wasm, module: "env", name: "host_storage_delete")
@_extern(c)
func _cordon_host_storage_delete(_ key: UnsafePointer<UInt8>?, _ keyLen: Int32) -> Int32

@_extern(wasm, module: "env", name: "host_receive_message")
@_extern(c)
func _cordon_host_receive_message(_ out: UnsafeMutablePointer<UInt8>?, _ cap: Int32) -> Int32

@_extern(wasm, module: "env", name: "host_random_bytes")
@_extern(c)
func _cordon_host_random_bytes(_ out: UnsafeMutablePointer<UInt8>?, _ count: Int32) -> Int32

@_extern(wasm, module: "env", name: "host_now_ms")
@_extern(c)
func _cordon_host_now_ms() -> Int64

@_extern(wasm, module: "env", name: "host_sleep_ms")
@_extern(c)
func _cordon_host_sleep_ms(_ milliseconds: Int64) -> Int32

// MARK: - Typed API

/// Severity of a log record (host_log's level).
enum LogLevel: Int32 { case trace = 0, debug, info, warn, error }

/// A negative status a host function returned (docs/abi.md, "Error codes").
enum HostError: Int32, Error {
    case notFound = -1, permissionDenied = -2, invalidArgument = -3, rateLimited = -4, tooLarge = -5, hostError = -6
}

/// Typed wrappers over Cordon's host functions.
enum Cordon {
    /// Largest reply the helpers accept (config values, tool replies, stored values).
    static let maxReply = 64 * 1024

    /// Logs `message` at `level`; always allowed (rate-limited by the host).
    @discardableResult
    static func log(_ level: LogLevel, _ message: String) -> Int32 {
        var message = message
        return message.withUTF8 { _cordon_host_log(level.rawValue, $0.baseAddress, Int32($0.count)) }
    }

    /// The configuration value for `key` (needs read_config); nil when absent.
    static func config(_ key: String) throws(HostError) -> String? {
        do {
            let bytes = try readReply { out, cap in
                withUTF8(key) { k in _cordon_host_get_config(k.baseAddress, Int32(k.count), out, cap) }
            }
            return String(decoding: bytes, as: UTF8.self)
        } catch .notFound { return nil }
    }

    /// Sets a configuration value (needs write_config).
    static func setConfig(_ key: String, _ value: String) throws(HostError) {
        try check(withUTF8(key) { k in withUTF8(value) { v in
            _cordon_host_set_config(k.baseAddress, Int32(k.count), v.baseAddress, Int32(v.count)) } })
    }

    /// Sends `payload` to `target` (needs send_message).
    static func sendMessage(to target: String, _ payload: [UInt8]) throws(HostError) {
        try check(withUTF8(target) { t in payload.withUnsafeBufferPointer { p in
            _cordon_host_send_message(t.baseAddress, Int32(t.count), p.baseAddress, Int32(p.count)) } })
    }

    /// Calls the host tool `name` with `arguments`; returns its reply (needs call_tool).
    static func callTool(_ name: String, _ arguments: [UInt8]) throws(HostError) -> [UInt8] {
        try readReply { out, cap in
            withUTF8(name) { n in arguments.withUnsafeBufferPointer { a in
                _cordon_host_call_tool(n.baseAddress, Int32(n.count), a.baseAddress, Int32(a.count), out, cap) } }
        }
    }

    /// The next message in the plugin's inbox (needs receive_message); nil when it is empty.
    static func receiveMessage() throws(HostError) -> [UInt8]? {
        do {
            return try readReply { out, cap in _cordon_host_receive_message(out, cap) }
        } catch .notFound { return nil }
    }

    /// `count` random bytes from the host (needs random).
    static func randomBytes(_ count: Int) throws(HostError) -> [UInt8] {
        guard count >= 0, count <= maxReply else { throw .tooLarge }
        var buffer = [UInt8](repeating: 0, count: count)
        try check(buffer.withUnsafeMutableBufferPointer { _cordon_host_random_bytes($0.baseAddress, Int32(count)) })
        return buffer
    }

    /// Unix time in milliseconds (needs timer); a negative value is the host's error code.
    static func nowMilliseconds() throws(HostError) -> Int64 {
        let now = _cordon_host_now_ms()
        if now < 0 { throw HostError(rawValue: Int32(clamping: now)) ?? .hostError }
        return now
    }

    /// Sleeps up to `milliseconds`, never past the call's wall-time limit (needs timer).
    static func sleep(milliseconds: Int64) throws(HostError) {
        try check(_cordon_host_sleep_ms(milliseconds))
    }

    /// Per-plugin storage in the host (needs storage): survives worker restarts.
    enum Storage {
        static func get(_ key: String) throws(HostError) -> [UInt8]? {
            do {
                return try readReply { out, cap in
                    withUTF8(key) { k in _cordon_host_storage_get(k.baseAddress, Int32(k.count), out, cap) }
                }
            } catch .notFound { return nil }
        }

        static func set(_ key: String, _ value: [UInt8]) throws(HostError) {
            try check(withUTF8(key) { k in value.withUnsafeBufferPointer { v in
                _cordon_host_storage_set(k.baseAddress, Int32(k.count), v.baseAddress, Int32(v.count)) } })
        }

        /// Returns false when the key did not exist.
        @discardableResult
        static func delete(_ key: String) throws(HostError) -> Bool {
            let status = withUTF8(key) { k in _cordon_host_storage_delete(k.baseAddress, Int32(k.count)) }
            if status == HostError.notFound.rawValue { return false }
            try check(status)
            return true
        }
    }

    // A reply's full length comes back even when it did not fit (and then nothing was written):
    // try a small buffer first, retry once with the exact size.
    private static func readReply(_ call: (UnsafeMutablePointer<UInt8>?, Int32) -> Int32) throws(HostError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 256)
        var n = buffer.withUnsafeMutableBufferPointer { call($0.baseAddress, Int32($0.count)) }
        try check(n)
        if Int(n) > buffer.count {
            guard Int(n) <= maxReply else { throw .tooLarge }
            buffer = [UInt8](repeating: 0, count: Int(n))
            n = buffer.withUnsafeMutableBufferPointer { call($0.baseAddress, Int32($0.count)) }
            try check(n)
            guard Int(n) <= buffer.count else { throw .tooLarge }
        }
        return Array(buffer[0..<Int(n)])
    }

    private static func check(_ status: Int32) throws(HostError) {
        guard status < 0 else { return }
        throw HostError(rawValue: status) ?? .hostError
    }

    private static func withUTF8<R>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var text = text
        return text.withUTF8(body)
    }
}

// MARK: - Allocator (no libc)

@_extern(c, "llvm.wasm.memory.size.i32") func _cordon_memory_size(_ memory: Int32) -> Int32
@_extern(c, "llvm.wasm.memory.grow.i32") func _cordon_memory_grow(_ memory: Int32, _ pages: Int32) -> Int32

// The heap starts at the memory's initial end, above the data and the stack that wasm-ld lays out.
nonisolated(unsafe) var _cordonHeapStart: UInt = 0
nonisolated(unsafe) var _cordonHeapTop: UInt = 0

@_cdecl("posix_memalign")
func _cordon_posix_memalign(_ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ alignment: Int, _ size: Int) -> Int32 {
    if _cordonHeapStart == 0 {
        _cordonHeapStart = UInt(_cordon_memory_size(0)) * 65536
        _cordonHeapTop = _cordonHeapStart
    }
    let align = UInt(max(alignment, 16))
    let start = (_cordonHeapTop + align - 1) & ~(align - 1)
    let end = start + UInt(max(size, 1))
    let available = UInt(_cordon_memory_size(0)) * 65536
    if end > available, _cordon_memory_grow(0, Int32((end - available + 65535) / 65536)) < 0 {
        return 12   // ENOMEM: the policy's memory limit was reached
    }
    _cordonHeapTop = end
    out.pointee = UnsafeMutableRawPointer(bitPattern: start)
    return 0
}

// A bump allocator frees nothing; objects die with the worker (or with resetHeap). Reached as
// `free` through the linker's --wrap=free (the name itself is the Swift runtime's).
@_cdecl("__wrap_free")
func _cordon_free(_ pointer: UnsafeMutableRawPointer?) {}

/// The bytes convention's input allocator: the host calls it before `f(ptr, len) -> i64`.
@_expose(wasm, "cordon_alloc")
@_cdecl("cordon_alloc")
func _cordon_alloc(_ length: Int32) -> UnsafeMutableRawPointer? {
    var pointer: UnsafeMutableRawPointer?
    return _cordon_posix_memalign(&pointer, 16, Int(length)) == 0 ? pointer : nil
}

extension Cordon {
    /// Drops every heap allocation; call at the start of an export when nothing may outlive a call.
    static func resetHeap() { if _cordonHeapStart != 0 { _cordonHeapTop = _cordonHeapStart } }

    /// Packs a bytes-convention result: (out_ptr << 32) | out_len. The bytes are copied to the heap.
    static func bytesResult(_ bytes: [UInt8]) -> Int64 {
        guard let out = _cordon_alloc(Int32(bytes.count)) else { return 0 }
        bytes.withUnsafeBufferPointer { out.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return Int64(UInt(bitPattern: out)) << 32 | Int64(bytes.count)
    }
}
