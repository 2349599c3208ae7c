import Crypto

/// Bearer tokens are kept only as SHA-256 digests; a presented token is hashed and compared in
/// constant time against every digest, so neither the match nor its position leaks through timing.
enum BearerToken {
    static func digest(_ token: Substring) -> [UInt8] { Array(SHA256.hash(data: Array(token.utf8))) }

    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }

    /// The token of an `Authorization: Bearer TOKEN` header, nil when absent or malformed.
    static func token(fromHeader value: String?) -> Substring? {
        guard let value, value.count <= 4096 else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else { return nil }
        return parts[1]
    }
}
