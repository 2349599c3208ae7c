import CordonPolicy
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The subordinate uid/gid ranges of /etc/subuid and /etc/subgid (`name:start:count` per line):
/// ids the system has delegated to users for their own user namespaces (rootless containers,
/// `newuidmap`). A root supervisor's worker uid that is also someone's subordinate id is shared with
/// that user's containers, whose processes could then signal, ptrace or read /proc of the worker.
/// So a root supervisor refuses to start when the built-in default policy's worker range overlaps
/// one, and refuses to load a policy whose range does.
struct SubordinateIDs {
    struct Entry {
        let file: String
        let line: Int
        let owner: String
        let range: UidRange
    }
    let entries: [Entry]

    /// Reads `files`; a file that does not exist delegates nothing. Anything else that keeps a file
    /// from being read, or a malformed line, is an error: an unknown delegation must not pass.
    init(files: [String]) throws(CordonError) {
        var entries: [Entry] = []
        for file in files {
            let fd = open(file, O_RDONLY | O_CLOEXEC)
            if fd < 0 {
                if errno == ENOENT { continue }
                throw .invalidConfiguration(field: "subordinateIDFiles", reason: "\(file): \(Errno.describe(errno))")
            }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0, errno == EINTR { continue }
                if n < 0 {
                    let e = errno
                    close(fd)
                    throw .invalidConfiguration(field: "subordinateIDFiles", reason: "\(file): \(Errno.describe(e))")
                }
                if n == 0 { break }
                bytes += chunk[0..<n]
                guard bytes.count <= 1 << 20 else {
                    close(fd)
                    throw .invalidConfiguration(field: "subordinateIDFiles", reason: "\(file): larger than 1 MiB")
                }
            }
            close(fd)
            for (index, raw) in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.isEmpty || line.hasPrefix("#") { continue }
                let fields = line.split(separator: ":", omittingEmptySubsequences: false)
                guard fields.count == 3, !fields[0].isEmpty, let start = UInt32(fields[1]), let count = UInt32(fields[2]),
                      count > 0, UInt64(start) + UInt64(count) <= 1 << 32 else {
                    throw .invalidConfiguration(field: "subordinateIDFiles", reason: "\(file) line \(index + 1): not name:start:count")
                }
                entries.append(Entry(file: file, line: index + 1, owner: String(fields[0]), range: UidRange(start: start, count: count)))
            }
        }
        self.entries = entries
    }

    /// Nil when no subordinate range overlaps `range`; otherwise the first overlap, described.
    func overlap(with range: UidRange, policy: String) -> String? {
        guard let e = entries.first(where: { $0.range.overlaps(range) }) else { return nil }
        return "worker uids \(range) of policy '\(policy)' overlap \(e.owner)'s subordinate ids \(e.range) (\(e.file) line \(e.line)); "
            + "give the policy an identity range no user namespace is delegated"
    }
}
