// Bounds-checked little-endian decoder over a PRIVATE copy of a frame. Every read checks the remaining
// length first and every count is checked against a cap and against the remaining bytes before any
// allocation, so a hostile length can neither over-read nor make us allocate gigabytes.

/// Reads little-endian fields from a private byte buffer, throwing `.corrupt` instead of over-reading.
struct ByteReader {
    private let base: UnsafeRawBufferPointer
    /// Offset of the next unread byte.
    private(set) var offset: Int = 0

    /// Wraps `buffer`, which must stay alive and unchanged while the reader is used (a private copy).
    init(_ buffer: UnsafeRawBufferPointer) {
        base = buffer
    }

    /// Bytes not yet consumed.
    var remaining: Int { base.count - offset }

    /// Throws unless `n` more bytes are available.
    private func need(_ n: Int) throws(ChannelError) {
        guard n <= remaining else { throw .corrupt(.truncated(needed: n, remaining: remaining)) }
    }

    /// Reads one byte.
    mutating func u8() throws(ChannelError) -> UInt8 {
        try need(1)
        defer { offset &+= 1 }
        return base[offset]
    }

    /// Reads a little-endian u16.
    mutating func u16() throws(ChannelError) -> UInt16 {
        try need(2)
        defer { offset &+= 2 }
        return UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    /// Reads a little-endian u32.
    mutating func u32() throws(ChannelError) -> UInt32 {
        try need(4)
        defer { offset &+= 4 }
        return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// Reads a little-endian u64.
    mutating func u64() throws(ChannelError) -> UInt64 {
        try need(8)
        defer { offset &+= 8 }
        return UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// Reads a two's-complement i32.
    mutating func i32() throws(ChannelError) -> Int32 { Int32(bitPattern: try u32()) }

    /// Reads a two's-complement i64.
    mutating func i64() throws(ChannelError) -> Int64 { Int64(bitPattern: try u64()) }

    /// Reads a u32 length then that many bytes; the length is checked against the remaining bytes first.
    mutating func blob() throws(ChannelError) -> [UInt8] {
        let n = Int(try u32())
        try need(n)
        defer { offset &+= n }
        return Array(UnsafeRawBufferPointer(rebasing: base[offset..<(offset + n)]))
    }

    /// Reads a u32 length (at most `cap`) then that many bytes.
    mutating func blob(cap: Int) throws(ChannelError) -> [UInt8] {
        let length = try u32()
        guard Int(length) <= cap else { throw .corrupt(.bytesTooLong(length: length, cap: cap)) }
        let n = Int(length)
        try need(n)
        defer { offset &+= n }
        return Array(UnsafeRawBufferPointer(rebasing: base[offset..<(offset + n)]))
    }

    /// Reads a u32 length, which must be exactly `length`, then that many bytes.
    mutating func blob(exactly length: Int) throws(ChannelError) -> [UInt8] {
        let declared = try u32()
        guard Int(declared) == length else { throw .corrupt(.bytesLengthMismatch(length: declared, required: length)) }
        try need(length)
        defer { offset &+= length }
        return Array(UnsafeRawBufferPointer(rebasing: base[offset..<(offset + length)]))
    }

    /// Reads a u32 length (at most `cap`) then that many bytes, which must be valid UTF-8.
    mutating func string(cap: Int) throws(ChannelError) -> String {
        let length = try u32()
        guard Int(length) <= cap else { throw .corrupt(.stringTooLong(length: length, cap: cap)) }
        let n = Int(length)
        try need(n)
        let bytes = UnsafeRawBufferPointer(rebasing: base[offset..<(offset + n)]).assumingMemoryBound(to: UInt8.self)
        // ASCII (export and function names, nearly always) is valid UTF-8 as it is, and decoding it
        // repairs nothing; the generic validating initializer cost more than the rest of a call frame.
        let string: String
        if bytes.allSatisfy({ $0 < 0x80 }) {
            string = String(decoding: bytes, as: UTF8.self)
        } else {
            guard let validated = String(validating: bytes, as: UTF8.self) else { throw .corrupt(.invalidUTF8) }
            string = validated
        }
        offset &+= n
        return string
    }

    /// Reads a u32 element count, rejecting it if above `cap` or if `count × minimumElementSize`
    /// cannot fit in the remaining bytes — before the caller allocates anything for it.
    mutating func count(cap: Int, minimumElementSize: Int) throws(ChannelError) -> Int {
        let n = try u32()
        guard Int(n) <= cap else { throw .corrupt(.countExceedsCap(count: n, cap: cap)) }
        // n ≤ cap (small) and minimumElementSize is a small constant: the product cannot overflow.
        guard Int(n) * minimumElementSize <= remaining else {
            throw .corrupt(.countExceedsRemaining(count: n, minimumElementSize: minimumElementSize,
                                                  remaining: remaining))
        }
        return Int(n)
    }

    /// Throws `.trailingBytes` unless the whole buffer was consumed.
    func finish() throws(ChannelError) {
        guard remaining == 0 else { throw .corrupt(.trailingBytes(count: remaining)) }
    }
}
