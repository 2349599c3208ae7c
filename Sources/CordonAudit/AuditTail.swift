#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// What `AuditTail.run` prints and whether it keeps following the log.
public struct AuditTailOptions: Sendable {
    /// Keep reading as records are appended, across rotations (like `tail -F`).
    public var follow: Bool
    /// Only these event types (raw values, e.g. `worker.spawn`); empty means all.
    public var types: Set<String>
    /// Only records of this plugin.
    public var plugin: String?
    /// Only records of this tenant.
    public var tenant: String?
    /// Only records at or after this instant.
    public var since: Date?
    /// One short human-readable line per record instead of the JSON line.
    public var human: Bool
    /// How often a followed file is polled for new bytes and rotation.
    public var pollInterval: Duration
    /// Polled between reads while following; returning true ends `run` (Ctrl-C handler, tests).
    public var shouldStop: @Sendable () -> Bool

    public init(follow: Bool = false, types: Set<String> = [], plugin: String? = nil, tenant: String? = nil,
                since: Date? = nil, human: Bool = false, pollInterval: Duration = .milliseconds(200),
                shouldStop: @escaping @Sendable () -> Bool = { false }) {
        self.follow = follow
        self.types = types
        self.plugin = plugin
        self.tenant = tenant
        self.since = since
        self.human = human
        self.pollInterval = pollInterval
        self.shouldStop = shouldStop
    }

    /// Whether `record` passes the filters.
    public func matches(_ record: AuditRecord) -> Bool {
        if !types.isEmpty, !types.contains(record.type.rawValue) { return false }
        if let plugin, record.plugin != plugin { return false }
        if let tenant, record.tenant != tenant { return false }
        if let since, record.time < AuditTimestamp(since) { return false }
        return true
    }
}

/// `cordon audit tail`: prints records of a log file, JSON lines unchanged (pipe to `jq`) or one
/// human-readable line each, optionally following appends and rotation.
public enum AuditTail {
    /// Prints the matching records of `file` via `output` (one call per record, no newline).
    /// Lines that are not valid records are skipped in JSON mode (so `jq` never sees them) and
    /// shown as `? unparsable line` in human mode. With `options.follow` it keeps polling until
    /// `options.shouldStop()` returns true; when the file is rotated away it drains the old file
    /// and continues with the new one at `file`.
    public static func run(file: String, options: AuditTailOptions, output: (String) -> Void) throws(AuditError) {
        var fd: Int32
        do { fd = try FileIO.open(file, O_RDONLY) } catch { throw .open(path: file, errno: error) }
        defer { close(fd) }
        var pending: [UInt8] = []
        var offset = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 16)

        var lastSeq: UInt64 = 0
        func emit(_ line: ArraySlice<UInt8>) {
            guard let record = try? AuditRecord(line: line) else {
                if options.human { output("? unparsable line: \(String(decoding: line.prefix(80), as: UTF8.self))") }
                return
            }
            lastSeq = record.seq
            guard options.matches(record) else { return }
            output(options.human ? humanLine(record) : String(decoding: line, as: UTF8.self))
        }

        /// Reads everything currently in `fd` and emits complete lines.
        func drain() throws(AuditError) {
            while true {
                let n = chunk.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress!, $0.count, off_t(offset)) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw .read(path: file, errno: .current)
                }
                if n == 0 { return }
                offset += n
                pending.append(contentsOf: chunk[0..<n])
                var start = 0
                while let nl = pending[start...].firstIndex(of: 0x0A) {
                    emit(pending[start..<nl])
                    start = nl + 1
                }
                pending.removeFirst(start)
            }
        }

        try drain()
        guard options.follow else { return }
        while !options.shouldStop() {
            sleep(options.pollInterval)
            try drain()
            var current = stat()
            var opened = stat()
            guard fstat(fd, &opened) == 0 else { throw .read(path: file, errno: .current) }
            if stat(file, &current) == 0 && (current.st_ino != opened.st_ino || current.st_dev != opened.st_dev) {
                // Rotated: the old file is complete (it ends with log.rotate). If several rotations
                // happened between polls, the chain continues in the archive named after the next
                // seq; walk those before switching to the new active file.
                try drain()
                while true {
                    let next = AuditLog.archivePath(file, firstSeq: lastSeq + 1)
                    guard lastSeq > 0, let archiveFD = try? FileIO.open(next, O_RDONLY) else { break }
                    close(fd)
                    fd = archiveFD
                    offset = 0
                    pending.removeAll()
                    let before = lastSeq
                    try drain()
                    if lastSeq == before { break }
                }
                let newFD: Int32
                do { newFD = try FileIO.open(file, O_RDONLY) } catch { continue }
                close(fd)
                fd = newFD
                offset = 0
                pending.removeAll()
                try drain()
            } else if Int(opened.st_size) < offset {
                // Cut back (recovery moved a torn tail aside): continue from the new end.
                offset = Int(opened.st_size)
                pending.removeAll()
            }
        }
    }

    private static func sleep(_ d: Duration) {
        let (s, atto) = d.components
        var request = timespec(tv_sec: Int(s), tv_nsec: Int(atto / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }

    /// `2026-11-25T12:00:00Z worker.spawn acme/thumbnailer pid=123 uid=200001 layers=userns,seccomp seq=42`
    public static func humanLine(_ r: AuditRecord) -> String {
        var parts = [r.time.secondsDescription, r.type.rawValue, "\(r.tenant ?? "-")/\(r.plugin ?? "-")"]
        if let pid = r.worker { parts.append("pid=\(pid)") }
        var data = r.data
        if r.type == .workerSpawn {
            // The interesting part of a spawn is which isolation layers are actually in force.
            if let uid = data.removeValue(forKey: "uid") { parts.append("uid=\(text(uid))") }
            let requested = data.removeValue(forKey: "layers_requested")?.arrayValue ?? []
            let achieved = data.removeValue(forKey: "layers_achieved")?.arrayValue ?? []
            parts.append("layers=\(text(.array(achieved)))")
            let missing = requested.filter { !achieved.contains($0) }
            if !missing.isEmpty { parts.append("MISSING=\(text(.array(missing)))") }
        }
        for key in data.keys.sorted() { parts.append("\(key)=\(text(data[key]!))") }
        parts.append("seq=\(r.seq)")
        return parts.joined(separator: " ")
    }

    private static func text(_ v: AuditValue) -> String {
        switch v {
        case .string(let s):
            return s.isEmpty || s.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline })
                ? v.canonicalJSON : s
        case .array(let a): return a.isEmpty ? "-" : a.map(text).joined(separator: ",")
        default: return v.canonicalJSON
        }
    }
}
