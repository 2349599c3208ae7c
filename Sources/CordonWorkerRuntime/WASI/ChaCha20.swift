// ChaCha20 (RFC 8439) as a deterministic random stream: the guest's `random_get` bytes are the
// keystream under the supervisor's 32-byte seed, so random_get makes no system call and a plugin run
// is reproducible from its seed. The 32-bit block counter carries into the first nonce word, which
// makes the stream 2^64 blocks long before it could repeat.

/// The ChaCha20 block function and a keystream reader over it.
struct ChaCha20 {
    private var key: [UInt32]       // 8 words
    private var counter: UInt32
    private var nonce: [UInt32]     // 3 words
    private var block: [UInt8] = []
    private var position = 0

    /// A keystream under `key` (32 bytes; shorter keys are zero-padded, longer ones cut) starting at
    /// block `counter` with `nonce` (12 bytes, likewise).
    init(key: [UInt8], nonce: [UInt8] = [UInt8](repeating: 0, count: 12), counter: UInt32 = 0) {
        self.key = Self.words(key, count: 8)
        self.nonce = Self.words(nonce, count: 3)
        self.counter = counter
    }

    private static func words(_ bytes: [UInt8], count: Int) -> [UInt32] {
        (0..<count).map { i in
            var word: UInt32 = 0
            for b in 0..<4 where i * 4 + b < bytes.count { word |= UInt32(bytes[i * 4 + b]) << (8 * UInt32(b)) }
            return word
        }
    }

    /// The 64-byte block for the current key, counter and nonce (RFC 8439 §2.3).
    static func block(key: [UInt32], counter: UInt32, nonce: [UInt32]) -> [UInt8] {
        let initial: [UInt32] = [0x6170_7865, 0x3320_646E, 0x7962_2D32, 0x6B20_6574] + key + [counter] + nonce
        var s = initial
        @inline(__always) func quarter(_ a: Int, _ b: Int, _ c: Int, _ d: Int) {
            s[a] &+= s[b]; s[d] ^= s[a]; s[d] = s[d] << 16 | s[d] >> 16
            s[c] &+= s[d]; s[b] ^= s[c]; s[b] = s[b] << 12 | s[b] >> 20
            s[a] &+= s[b]; s[d] ^= s[a]; s[d] = s[d] << 8 | s[d] >> 24
            s[c] &+= s[d]; s[b] ^= s[c]; s[b] = s[b] << 7 | s[b] >> 25
        }
        for _ in 0..<10 {
            quarter(0, 4, 8, 12); quarter(1, 5, 9, 13); quarter(2, 6, 10, 14); quarter(3, 7, 11, 15)
            quarter(0, 5, 10, 15); quarter(1, 6, 11, 12); quarter(2, 7, 8, 13); quarter(3, 4, 9, 14)
        }
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for i in 0..<16 {
            let word = s[i] &+ initial[i]
            out.append(UInt8(truncatingIfNeeded: word))
            out.append(UInt8(truncatingIfNeeded: word >> 8))
            out.append(UInt8(truncatingIfNeeded: word >> 16))
            out.append(UInt8(truncatingIfNeeded: word >> 24))
        }
        return out
    }

    /// Fills `buffer` with the next keystream bytes.
    mutating func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        var index = 0
        while index < buffer.count {
            if position == block.count {
                block = Self.block(key: key, counter: counter, nonce: nonce)
                position = 0
                counter &+= 1
                if counter == 0 { nonce[0] &+= 1 }
            }
            let take = min(block.count - position, buffer.count - index)
            for i in 0..<take { buffer[index + i] = block[position + i] }
            position += take
            index += take
        }
    }

    /// The next `count` keystream bytes.
    mutating func next(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { fill($0) }
        return bytes
    }
}
