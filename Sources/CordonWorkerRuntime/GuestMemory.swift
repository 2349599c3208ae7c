import WasmKit

/// Bounds-checked access to a guest's linear memory. WasmKit's own accessors `precondition` on an
/// out-of-range pointer, which would kill the worker on a hostile (ptr, len); every guest pointer
/// goes through here first, with the arithmetic done in 64 bits so ptr + len cannot wrap.
struct GuestMemory {
    let memory: Memory

    /// Whether [ptr, ptr + len) lies inside the memory as it is now (it may have grown since the
    /// last call, never shrunk).
    func contains(pointer: UInt32, length: UInt32) -> Bool {
        UInt64(pointer) + UInt64(length) <= UInt64(memory.byteCount)
    }

    /// Copies `length` bytes out of guest memory, or nil when the range is out of bounds.
    func read(pointer: UInt32, length: UInt32) -> [UInt8]? {
        guard contains(pointer: pointer, length: length) else { return nil }
        if length == 0 { return [] }
        return memory.withUnsafeBufferPointer(offset: UInt(pointer), count: Int(length)) { Array($0) }
    }

    /// Copies `bytes` into guest memory at `pointer`; false (nothing written) when out of bounds.
    func write(_ bytes: [UInt8], at pointer: UInt32) -> Bool {
        guard bytes.count <= Int(UInt32.max), contains(pointer: pointer, length: UInt32(bytes.count)) else {
            return false
        }
        if bytes.isEmpty { return true }
        memory.withUnsafeMutableBufferPointer(offset: UInt(pointer), count: bytes.count) { dst in
            bytes.withUnsafeBytes { src in dst.copyMemory(from: src) }
        }
        return true
    }
}
