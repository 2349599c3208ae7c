// Little-endian append-only encoder for frame payloads. It only ever writes our own data, so it
// cannot fail; caps are enforced by the decoder on the receiving side (docs/protocol.md).

/// Appends little-endian integers and length-prefixed byte strings to a private buffer.
struct ByteWriter {
    /// The bytes written so far.
    private(set) var bytes: [UInt8]

    /// Creates a writer whose buffer reserves `capacity` bytes up front (avoids regrowth on big blobs).
    init(reservingCapacity capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Appends one byte.
    mutating func u8(_ v: UInt8) { bytes.append(v) }

    /// Appends a 16-bit little-endian integer.
    mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: v))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
    }

    /// Appends a 32-bit little-endian integer.
    mutating func u32(_ v: UInt32) {
        // Byte by byte: appending the value's raw bytes goes through the generic sequence path,
        // which cost more than the rest of encoding a call.
        bytes.append(UInt8(truncatingIfNeeded: v))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
        bytes.append(UInt8(truncatingIfNeeded: v >> 16))
        bytes.append(UInt8(truncatingIfNeeded: v >> 24))
    }

    /// Appends a 64-bit little-endian integer.
    mutating func u64(_ v: UInt64) {
        u32(UInt32(truncatingIfNeeded: v))
        u32(UInt32(truncatingIfNeeded: v >> 32))
    }

    /// Appends a signed 32-bit integer as its two's-complement bit pattern.
    mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }

    /// Appends a signed 64-bit integer as its two's-complement bit pattern.
    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }

    /// Appends a u32 length prefix then the bytes (lengths above 4 GiB cannot occur: messages are capped far lower).
    mutating func blob(_ v: [UInt8]) {
        u32(UInt32(truncatingIfNeeded: v.count))
        bytes.append(contentsOf: v)
    }

    /// Appends a u32 length prefix then the bytes of a slice.
    mutating func blob(_ v: ArraySlice<UInt8>) {
        u32(UInt32(truncatingIfNeeded: v.count))
        bytes.append(contentsOf: v)
    }

    /// Appends a u32 byte-length prefix then the string's UTF-8 bytes.
    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            u32(UInt32(truncatingIfNeeded: utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// Appends a u32 element count.
    mutating func count(_ n: Int) { u32(UInt32(truncatingIfNeeded: n)) }

    /// Overwrites 4 bytes at `offset` with a little-endian u32 (used to patch the payload length).
    mutating func patchU32(at offset: Int, _ v: UInt32) {
        bytes[offset] = UInt8(truncatingIfNeeded: v)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: v >> 8)
        bytes[offset + 2] = UInt8(truncatingIfNeeded: v >> 16)
        bytes[offset + 3] = UInt8(truncatingIfNeeded: v >> 24)
    }
}
