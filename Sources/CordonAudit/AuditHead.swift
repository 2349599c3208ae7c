#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The head anchor: `seq` and `hash` of the last durable record, kept in `<log>.head`.
///
/// A hash chain alone cannot show that whole records were cut off its end; the head file can,
/// because it is rewritten (atomically: temp file, fsync, rename, directory fsync) after every
/// commit. Its content is one canonical JSON line: `{"hash":"<hex>","seq":<n>}`.
public struct AuditHead: Sendable, Hashable {
    /// Last durable record's seq.
    public var seq: UInt64
    /// Last durable record's hash.
    public var hash: String

    public init(seq: UInt64, hash: String) {
        self.seq = seq
        self.hash = hash
    }

    /// `<log>.head`.
    public static func path(forLog log: String) -> String { log + ".head" }

    /// Reads a head file; nil if it does not exist.
    public static func read(path: String) throws(AuditError) -> AuditHead? {
        let bytes: [UInt8]?
        do { bytes = try FileIO.readFile(path) } catch { throw .read(path: path, errno: error) }
        guard let bytes else { return nil }
        guard let value = try? CanonicalJSON.parse(bytes), let o = value.objectValue,
              let seq = o["seq"]?.intValue, seq >= 0, let hash = o["hash"]?.stringValue, isSHA256Hex(hash)
        else { throw .corrupt(path: path, reason: "head file is not {\"hash\":…,\"seq\":…}") }
        return AuditHead(seq: UInt64(seq), hash: hash)
    }

    /// The file content.
    func bytes() -> [UInt8] {
        var w = CanonicalJSONWriter(capacity: 100)
        w.writeFragment("{\"hash\":")
        w.writeString(hash)
        w.writeFragment(",\"seq\":")
        w.writeUInt(seq)
        w.writeFragment("}\n")
        return w.bytes
    }

    /// Replaces the head file atomically and durably.
    func write(to path: String) throws(AuditError) {
        let tmp = path + ".tmp"
        do throws(AuditErrno) {
            let fd = try FileIO.open(tmp, O_WRONLY | O_CREAT | O_TRUNC)
            do throws(AuditErrno) {
                try FileIO.writeAll(fd, bytes())
                try FileIO.fsync(fd)
            } catch {
                Glibc.close(fd)
                throw error
            }
            Glibc.close(fd)
            guard rename(tmp, path) == 0 else { throw AuditErrno.current }
            try FileIO.fsyncDirectory(FileIO.directory(of: path))
        } catch {
            throw .head(path: path, errno: error)
        }
    }
}
