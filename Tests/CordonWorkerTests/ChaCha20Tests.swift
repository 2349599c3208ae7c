@testable import CordonWorkerRuntime
import Testing

@Suite struct ChaCha20Tests {
    /// RFC 8439 §2.3.2: the block function with key 00…1f, nonce 00 00 00 09 00 00 00 4a 00 00 00 00, counter 1.
    @Test func blockFunctionMatchesRFC8439() {
        var stream = ChaCha20(key: Array(0..<32), nonce: [0, 0, 0, 9, 0, 0, 0, 0x4A, 0, 0, 0, 0], counter: 1)
        let expected: [UInt8] = [
            0x10, 0xF1, 0xE7, 0xE4, 0xD1, 0x3B, 0x59, 0x15, 0x50, 0x0F, 0xDD, 0x1F, 0xA3, 0x20, 0x71, 0xC4,
            0xC7, 0xD1, 0xF4, 0xC7, 0x33, 0xC0, 0x68, 0x03, 0x04, 0x22, 0xAA, 0x9A, 0xC3, 0xD4, 0x6C, 0x4E,
            0xD2, 0x82, 0x64, 0x46, 0x07, 0x9F, 0xAA, 0x09, 0x14, 0xC2, 0xD7, 0x05, 0xD9, 0x8B, 0x02, 0xA2,
            0xB5, 0x12, 0x9C, 0xD1, 0xDE, 0x16, 0x4E, 0xB9, 0xCB, 0xD0, 0x83, 0xE8, 0xA2, 0x50, 0x3C, 0x4E,
        ]
        #expect(stream.next(64) == expected)
    }

    /// RFC 8439 §2.4.2: the first bytes of the keystream that encrypts "Ladies and Gentlemen…"
    /// (key 00…1f, nonce 00 00 00 00 00 00 00 4a 00 00 00 00, counter 1), read across a block boundary
    /// in uneven pieces.
    @Test func keystreamIsContinuousAcrossReads() {
        let plaintext = Array("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".utf8)
        let ciphertextPrefix: [UInt8] = [0x6E, 0x2E, 0x35, 0x9A, 0x25, 0x68, 0xF9, 0x80, 0x41, 0xBA, 0x07, 0x28, 0xDD, 0x0D, 0x69, 0x81]
        let ciphertextSuffix: [UInt8] = [0x5A, 0xF9, 0x0B, 0xBF, 0x74, 0xA3, 0x5B, 0xE6, 0xB4, 0x0B, 0x8E, 0xED, 0xF2, 0x78, 0x5E, 0x42, 0x87, 0x4D]
        var stream = ChaCha20(key: Array(0..<32), nonce: [0, 0, 0, 0, 0, 0, 0, 0x4A, 0, 0, 0, 0], counter: 1)
        let keystream = stream.next(5) + stream.next(60) + stream.next(plaintext.count - 65)
        let ciphertext = zip(plaintext, keystream).map { $0 ^ $1 }
        #expect(Array(ciphertext.prefix(16)) == ciphertextPrefix)
        #expect(Array(ciphertext.suffix(18)) == ciphertextSuffix)
    }
}
