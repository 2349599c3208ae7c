#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads just enough of an existing log file to continue its chain: the last complete, valid
/// record at the end, any torn bytes after it, and the file's first record.
struct LogFileScan {
    /// Last complete record whose hash verifies.
    var lastGood: AuditRecord?
    /// Offset just past `lastGood`'s newline (0 when there is none).
    var goodLength: Int
    /// Bytes after `goodLength`: an incomplete or unparsable tail.
    var tornBytes: Int
    /// The file's first record, if it parses (names the archive, starts the age clock).
    var first: AuditRecord?

    static func validRecord(_ line: ArraySlice<UInt8>) -> AuditRecord? {
        guard let r = try? AuditRecord(line: line), r.computeHash() == r.hash else { return nil }
        return r
    }

    /// Scans the file at `path`; nil if it does not exist.
    static func scan(path: String) throws(AuditError) -> LogFileScan? {
        let fd: Int32
        do { fd = try FileIO.open(path, O_RDONLY) } catch {
            if error.rawValue == ENOENT { return nil }
            throw .read(path: path, errno: error)
        }
        defer { close(fd) }
        do { return try scan(fd: fd, path: path) } catch {
            if error.rawValue == EBADMSG {
                throw .corrupt(path: path, reason: "the last two lines are not valid records (not a torn write)")
            }
            throw .read(path: path, errno: error)
        }
    }

    private static func scan(fd: Int32, path: String) throws(AuditErrno) -> LogFileScan {
        let size = try FileIO.size(fd)
        if size == 0 { return LogFileScan(lastGood: nil, goodLength: 0, tornBytes: 0, first: nil) }

        // Read backwards until the window holds three newlines (two complete lines with known
        // starts) or the whole file.
        var window = min(size, 1 << 16)
        var bytes: [UInt8] = []
        var newlines: [Int] = []
        while true {
            bytes = try FileIO.pread(fd, offset: size - window, count: window)
            newlines = bytes.indices.filter { bytes[$0] == 0x0A }
            if newlines.count >= 3 || window == size { break }
            window = min(size, window * 4)
        }
        let base = size - window
        let wholeFile = window == size

        func lineBounds(endingAt k: Int) -> Range<Int>? {
            if k > 0 { return (newlines[k - 1] + 1)..<newlines[k] }
            return wholeFile ? 0..<newlines[0] : nil
        }

        var result = LogFileScan(lastGood: nil, goodLength: 0, tornBytes: size, first: nil)
        var k = newlines.count - 1
        var attempts = 0
        while k >= 0 && attempts < 2, let bounds = lineBounds(endingAt: k) {
            if let r = validRecord(bytes[bounds]) {
                result.lastGood = r
                result.goodLength = base + newlines[k] + 1
                result.tornBytes = size - result.goodLength
                break
            }
            attempts += 1
            k -= 1
        }
        if result.lastGood == nil && attempts >= 2 {
            // Two bad complete lines in a row is not a torn write: refuse to guess.
            throw AuditErrno(rawValue: EBADMSG)
        }

        let head = try FileIO.pread(fd, offset: 0, count: min(size, 1 << 16))
        if let nl = head.firstIndex(of: 0x0A) { result.first = validRecord(head[0..<nl]) }
        return result
    }
}
