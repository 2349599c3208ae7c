import Crypto

/// The digest that names a module (and a token), as the API spells it: lower-case hex SHA-256.
public enum ServeDigest {
    public static func sha256Hex(_ bytes: [UInt8]) -> String { Hex.encode(SHA256.hash(data: bytes)) }
}
