import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NIOSSL

/// The TCP listener's TLS: a PEM certificate chain and its private key, loaded and checked once at
/// start so that a bad file is refused with its JSON path (exit 65) instead of surfacing later as a
/// failed handshake on every connection.
///
/// Server defaults: TLS 1.2 minimum (1.3 preferred when the client offers it), swift-nio-ssl's
/// forward-secret-first cipher list for 1.2, BoringSSL's built-in curves, ALPN `http/1.1`, no
/// client certificate asked for (clients authenticate with their bearer token, inside TLS).
public struct ServeTLS: Sendable {
    public let certificatePath: String
    public let keyPath: String
    /// What Hummingbird's TLS server builder is given.
    public let configuration: TLSConfiguration

    /// Certificate and key files larger than this are not PEM a server would use.
    static let maxFileBytes = 1 << 20

    /// Reads and checks both files: readable, PEM, not expired or not yet valid, an unencrypted
    /// private key, and a key that is the certificate's (BoringSSL's own check, made by building the
    /// server context now). Errors name the JSON path of the file at fault.
    public static func load(certificatePath: String, keyPath: String, now: Date = Date()) throws(JSONInputError) -> ServeTLS {
        let certPath = "$.listen.tls.cert", keyJSONPath = "$.listen.tls.key"
        let certBytes = try read(certificatePath, jsonPath: certPath, what: "certificate")
        let keyBytes = try read(keyPath, jsonPath: keyJSONPath, what: "private key")

        guard String(decoding: certBytes, as: UTF8.self).contains("-----BEGIN CERTIFICATE-----") else {
            throw JSONInputError(path: certPath, reason: "\(certificatePath) is not a PEM certificate (no \"-----BEGIN CERTIFICATE-----\" block)")
        }
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMBytes(certBytes) } catch {
            throw JSONInputError(path: certPath, reason: "\(certificatePath) is not a valid PEM certificate: \(error)")
        }
        guard let leaf = chain.first else {
            throw JSONInputError(path: certPath, reason: "\(certificatePath) holds no certificate")
        }
        let seconds = time_t(now.timeIntervalSince1970)
        if leaf.notValidAfter < seconds {
            throw JSONInputError(path: certPath, reason: "\(certificatePath) expired on \(Self.date(leaf.notValidAfter))")
        }
        if leaf.notValidBefore > seconds {
            throw JSONInputError(path: certPath, reason: "\(certificatePath) is not valid before \(Self.date(leaf.notValidBefore))")
        }

        let keyText = String(decoding: keyBytes, as: UTF8.self)
        guard keyText.contains("-----BEGIN") && keyText.contains("PRIVATE KEY-----") else {
            throw JSONInputError(path: keyJSONPath, reason: "\(keyPath) is not a PEM private key (no \"-----BEGIN … PRIVATE KEY-----\" block)")
        }
        // The daemon runs unattended: there is nobody to type a passphrase, and BoringSSL's
        // default passphrase callback must never be reached.
        if keyText.contains("ENCRYPTED") {
            throw JSONInputError(path: keyJSONPath, reason: "\(keyPath) is an encrypted private key; the daemon needs it unencrypted (protect it with file permissions)")
        }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(bytes: keyBytes, format: .pem) } catch {
            throw JSONInputError(path: keyJSONPath, reason: "\(keyPath) is not a valid PEM private key: \(error)")
        }

        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                                     privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        // BoringSSL refuses a private key that does not belong to the certificate when the context is built.
        do { _ = try NIOSSLContext(configuration: configuration) } catch {
            throw JSONInputError(path: keyJSONPath, reason: "\(keyPath) is not the private key of the certificate in \(certificatePath) (\(error))")
        }
        return ServeTLS(certificatePath: certificatePath, keyPath: keyPath, configuration: configuration)
    }

    /// The whole file, bounded; errors carry the errno.
    private static func read(_ path: String, jsonPath: String, what: String) throws(JSONInputError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            throw JSONInputError(path: jsonPath, reason: "cannot open the \(what) \(path): \(String(cString: strerror(e))) (errno \(e))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                throw JSONInputError(path: jsonPath, reason: "cannot read the \(what) \(path): \(String(cString: strerror(e))) (errno \(e))")
            }
            if n == 0 { break }
            bytes += chunk[0..<n]
            guard bytes.count <= maxFileBytes else {
                throw JSONInputError(path: jsonPath, reason: "the \(what) \(path) is larger than \(maxFileBytes) bytes: not a PEM file")
            }
        }
        guard !bytes.isEmpty else { throw JSONInputError(path: jsonPath, reason: "the \(what) \(path) is empty") }
        return bytes
    }

    private static func date(_ t: time_t) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(t)))
    }
}
