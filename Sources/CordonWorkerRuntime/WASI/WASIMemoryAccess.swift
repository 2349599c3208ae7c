// Little-endian loads and stores of WASI structures in guest memory. Every access is bounds-checked
// in 64-bit arithmetic first (GuestMemory.contains); an out-of-range pointer is a nil / false that the
// caller answers with EFAULT, never a trap and never a WasmKit precondition.

/// One `iovec` / `ciovec` (8 bytes: u32 buf, u32 buf_len), already checked to lie inside memory.
struct IOVector {
    var pointer: UInt32
    var length: UInt32
}

extension GuestMemory {
    func loadU8(at pointer: UInt32) -> UInt8? {
        guard contains(pointer: pointer, length: 1) else { return nil }
        return memory.withUnsafeBufferPointer(offset: UInt(pointer), count: 1) { $0[0] }
    }

    func loadU16(at pointer: UInt32) -> UInt16? {
        guard contains(pointer: pointer, length: 2) else { return nil }
        return memory.withUnsafeBufferPointer(offset: UInt(pointer), count: 2) { UInt16(littleEndian: $0.loadUnaligned(as: UInt16.self)) }
    }

    func loadU32(at pointer: UInt32) -> UInt32? {
        guard contains(pointer: pointer, length: 4) else { return nil }
        return memory.withUnsafeBufferPointer(offset: UInt(pointer), count: 4) { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
    }

    func loadU64(at pointer: UInt32) -> UInt64? {
        guard contains(pointer: pointer, length: 8) else { return nil }
        return memory.withUnsafeBufferPointer(offset: UInt(pointer), count: 8) { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    }

    func store(u32 value: UInt32, at pointer: UInt32) -> Bool {
        guard contains(pointer: pointer, length: 4) else { return false }
        memory.withUnsafeMutableBufferPointer(offset: UInt(pointer), count: 4) { $0.storeBytes(of: value.littleEndian, as: UInt32.self) }
        return true
    }

    func store(u64 value: UInt64, at pointer: UInt32) -> Bool {
        guard contains(pointer: pointer, length: 8) else { return false }
        memory.withUnsafeMutableBufferPointer(offset: UInt(pointer), count: 8) { $0.storeBytes(of: value.littleEndian, as: UInt64.self) }
        return true
    }

    /// Whether `[pointer, pointer + count × size)` lies inside memory, computed without overflow.
    func contains(pointer: UInt32, count: UInt32, size: UInt32) -> Bool {
        let bytes = UInt64(count) * UInt64(size)
        return UInt64(pointer) + bytes <= UInt64(memory.byteCount)
    }

    /// Reads `count` iovecs at `pointer`, each checked to describe a range inside memory; nil when the
    /// array or any buffer is out of bounds (EFAULT).
    func ioVectors(at pointer: UInt32, count: UInt32) -> [IOVector]? {
        guard contains(pointer: pointer, count: count, size: 8) else { return nil }
        var vectors: [IOVector] = []
        vectors.reserveCapacity(Int(count))
        for index in 0..<count {
            let entry = pointer &+ index &* 8   // inside memory (checked above), so no wrap
            guard let base = loadU32(at: entry), let length = loadU32(at: entry &+ 4),
                  contains(pointer: base, length: length) else { return nil }
            vectors.append(IOVector(pointer: base, length: length))
        }
        return vectors
    }

    /// Copies at most `limit` bytes out of `vectors`, in order (a gather for one write).
    func gather(_ vectors: [IOVector], limit: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        var left = limit
        for vector in vectors where left > 0 {
            let take = min(Int(vector.length), left)
            guard take > 0 else { continue }
            memory.withUnsafeBufferPointer(offset: UInt(vector.pointer), count: take) { bytes.append(contentsOf: $0) }
            left -= take
        }
        return bytes
    }

    /// Copies `bytes` into `vectors` in order (a scatter for one read) and returns how many were copied.
    func scatter(_ bytes: ArraySlice<UInt8>, into vectors: [IOVector]) -> Int {
        var source = bytes.startIndex
        for vector in vectors where source < bytes.endIndex {
            let take = min(Int(vector.length), bytes.endIndex - source)
            guard take > 0 else { continue }
            memory.withUnsafeMutableBufferPointer(offset: UInt(vector.pointer), count: take) { destination in
                bytes[source..<(source + take)].withUnsafeBytes { destination.copyMemory(from: $0) }
            }
            source += take
        }
        return source - bytes.startIndex
    }
}
