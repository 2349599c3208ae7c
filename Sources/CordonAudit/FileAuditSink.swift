#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// An append-only audit file: created 0600, opened `O_APPEND | O_CLOEXEC`, one `write(2)` per line.
///
/// `AuditLog` uses one as the authoritative sink for its active file; it can also serve as a
/// secondary mirror. The descriptor is closed by `close()` or when the last reference goes away,
/// so a committer still fsyncing a file that was just rotated away keeps a valid descriptor.
public final class FileAuditSink: AuditSink, Sendable {
    /// The file's path at open time.
    public let path: String
    private let descriptor: Atomic<Int32>
    /// Whether `init` created the file (and fsynced its directory).
    public let created: Bool

    /// Opens `path` for appending, creating it with mode 0600 and fsyncing the directory if it is new.
    public init(path: String) throws(AuditError) {
        self.path = path
        var created = true
        var fd: Int32
        do {
            fd = try FileIO.open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL, 0o600)
        } catch {
            guard error.rawValue == EEXIST else { throw .open(path: path, errno: error) }
            created = false
            do { fd = try FileIO.open(path, O_WRONLY | O_APPEND) } catch { throw .open(path: path, errno: error) }
        }
        if created {
            do { try FileIO.fsyncDirectory(FileIO.directory(of: path)) } catch {
                Glibc.close(fd)
                throw .open(path: path, errno: error)
            }
        }
        self.created = created
        descriptor = Atomic(fd)
    }

    deinit { close() }

    var fd: Int32 { descriptor.load(ordering: .acquiring) }

    /// Appends raw bytes with a single `write(2)` where possible.
    func append(_ bytes: [UInt8]) throws(AuditError) {
        let fd = self.fd
        guard fd >= 0 else { throw .write(.badFileDescriptor) }
        do { try FileIO.writeAll(fd, bytes) } catch { throw .write(error) }
    }

    /// fsync(2) of the file.
    func fsync() throws(AuditError) {
        let fd = self.fd
        guard fd >= 0 else { throw .sync(.badFileDescriptor) }
        do { try FileIO.fsync(fd) } catch { throw .sync(error) }
    }

    /// Cuts the file back to `size` bytes (drops a partially written line after a write error).
    func truncate(to size: Int) throws(AuditError) {
        let fd = self.fd
        guard fd >= 0 else { throw .write(.badFileDescriptor) }
        guard ftruncate(fd, off_t(size)) == 0 else { throw .write(.current) }
    }

    /// Current file size.
    func size() throws(AuditError) -> Int {
        do { return try FileIO.size(fd) } catch { throw .read(path: path, errno: error) }
    }

    public func write(_ line: [UInt8], record: AuditRecord) throws {
        try append(line)
    }

    public func sync() throws {
        try fsync()
    }

    /// Closes the descriptor (idempotent); later writes fail with `EBADF`.
    public func close() {
        let fd = descriptor.exchange(-1, ordering: .acquiringAndReleasing)
        if fd >= 0 { Glibc.close(fd) }
    }
}
