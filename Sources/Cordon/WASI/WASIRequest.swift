/// The integers and blobs of a brokered call, read with checks: a missing argument or a value out
/// of its WASI type's range is `EINVAL` (an fd out of range is `EBADF`), never a trap.
struct WASIRequest {
    let integers: [Int64]
    let blobs: [[UInt8]]

    func int(_ i: Int) throws(WASIRefusal) -> Int64 {
        guard i < integers.count else { throw .outcome(.invalid) }
        return integers[i]
    }

    /// A guest fd (u32 in WASI).
    func fd(_ i: Int) throws(WASIRefusal) -> Int32 {
        let v = try int(i)
        guard v >= 0, v <= Int64(Int32.max) else { throw .outcome(.badFileDescriptor) }
        return Int32(v)
    }

    /// A u64 that travels as its bit pattern (rights, sizes, timestamps).
    func u64(_ i: Int) throws(WASIRefusal) -> UInt64 { UInt64(bitPattern: try int(i)) }

    /// A u64 that the host takes as `off_t`: above `Int64.max` is `EINVAL`.
    func offset(_ i: Int) throws(WASIRefusal) -> Int64 {
        let v = try int(i)
        guard v >= 0 else { throw .outcome(.invalid) }
        return v
    }

    /// A u32/u16/u8 flag set or enum: anything wider is `EINVAL`.
    func bits<T: FixedWidthInteger & UnsignedInteger>(_ i: Int, as type: T.Type) throws(WASIRefusal) -> T {
        let v = try int(i)
        guard v >= 0, let t = T(exactly: v) else { throw .outcome(.invalid) }
        return t
    }

    /// A byte count the guest asks for, bounded by `limit` before anything is allocated.
    func length(_ i: Int, limit: Int) throws(WASIRefusal) -> Int {
        let v = try int(i)
        guard v >= 0 else { throw .outcome(.invalid) }
        return Int(min(v, Int64(limit)))
    }

    func blob(_ i: Int) throws(WASIRefusal) -> [UInt8] {
        guard i < blobs.count else { throw .outcome(.invalid) }
        return blobs[i]
    }

    func path(_ i: Int) throws(WASIRefusal) -> WASIPath { try WASIPath(try blob(i)) }
}
