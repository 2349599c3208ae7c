#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin errno-returning wrappers over the POSIX calls the audit log needs; they retry `EINTR` and
/// short writes so callers only see real failures.
enum FileIO {
    /// Writes all of `bytes` to `fd`.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(AuditErrno) {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw AuditErrno.current
            }
            if n == 0 { throw AuditErrno.ioError }
            offset += n
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(AuditErrno) {
        let result: Result<Void, AuditErrno> = bytes.withUnsafeBytes { buf in
            Result { () throws(AuditErrno) in try writeAll(fd, buf) }
        }
        try result.get()
    }

    static func fsync(_ fd: Int32) throws(AuditErrno) {
        while Glibc.fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw AuditErrno.current
        }
    }

    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o600) throws(AuditErrno) -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw AuditErrno.current
        }
    }

    /// The directory containing `path` ("." for a bare file name).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// The last path component.
    static func basename(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// fsync of a directory, so that a create or rename in it survives power loss.
    static func fsyncDirectory(_ dir: String) throws(AuditErrno) {
        let fd = try open(dir, O_RDONLY | O_DIRECTORY)
        defer { Glibc.close(fd) }
        try fsync(fd)
    }

    static func size(_ fd: Int32) throws(AuditErrno) -> Int {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw AuditErrno.current }
        return Int(st.st_size)
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Reads `count` bytes at `offset` (fewer at end of file).
    static func pread(_ fd: Int32, offset: Int, count: Int) throws(AuditErrno) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw AuditErrno.current
            }
            if n == 0 { break }
            done += n
        }
        out.removeLast(count - done)
        return out
    }

    /// Whole file contents, or nil if it does not exist.
    static func readFile(_ path: String) throws(AuditErrno) -> [UInt8]? {
        let fd: Int32
        do { fd = try open(path, O_RDONLY) } catch {
            if error.rawValue == ENOENT { return nil }
            throw error
        }
        defer { Glibc.close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw AuditErrno.current
            }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
        }
    }

    /// Names in `dir` (without `.` and `..`).
    static func listDirectory(_ dir: String) throws(AuditErrno) -> [String] {
        guard let d = opendir(dir) else { throw AuditErrno.current }
        defer { closedir(d) }
        var names: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
