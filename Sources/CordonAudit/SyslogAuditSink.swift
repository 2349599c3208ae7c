#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Sends each record as an RFC 5424 message to a local syslog Unix datagram socket.
///
/// Message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG` where PRI uses `facility`
/// (default 13, "log audit") and a severity derived from the event (warning for denials and
/// violations, error for `audit.error`, notice otherwise), TIMESTAMP is the record's time at
/// microsecond precision (RFC 5424's maximum), MSGID the event type and MSG the record's JSON line
/// (without newline), so a collector can verify the chain exactly as from the file.
/// Syslog is best-effort transport; the file stays the authority for durability.
public final class SyslogAuditSink: AuditSink, Sendable {
    /// The datagram socket messages are sent to.
    public let socketPath: String
    /// RFC 5424 APP-NAME.
    public let appName: String
    /// RFC 5424 facility number (0–23).
    public let facility: Int
    private let hostname: String
    private let socket: Int32
    private let address: sockaddr_un

    /// Opens a datagram socket for `socketPath` (default `/dev/log`). Nothing is sent yet, so the
    /// socket need not exist until the first record.
    public init(socketPath: String = "/dev/log", appName: String = "cordon", facility: Int = 13) throws(AuditError) {
        guard (0...23).contains(facility) else { throw .invalidConfiguration("syslog facility \(facility)") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            throw .invalidConfiguration("syslog socket path too long")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .open(path: socketPath, errno: .current) }
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count - 1)
        var name = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if name.isEmpty { name = "-" }
        self.socketPath = socketPath
        self.appName = appName
        self.facility = facility
        self.hostname = name
        self.socket = fd
        self.address = addr
    }

    deinit { Glibc.close(socket) }

    /// RFC 5424 severity for an event type.
    static func severity(_ type: AuditEventType) -> Int {
        switch type {
        case .auditError: return 3
        case .capabilityDenied, .fsDenied, .limitBreach, .seccompViolation, .protocolViolation, .workerKill, .pluginCleanupFailed,
             .restartExhausted, .auditRecovered:
            return 4
        default: return 5
        }
    }

    /// The datagram for `line`/`record`.
    func message(_ line: [UInt8], record: AuditRecord) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(line.count + 96)
        out.append(contentsOf: "<\(facility * 8 + SyslogAuditSink.severity(record.type))>1 ".utf8)
        var ts = record.time.rfc3339Bytes()  // ....SS.nnnnnnnnnZ → keep six fractional digits
        ts.removeSubrange(26..<29)
        out.append(contentsOf: ts)
        out.append(contentsOf: " \(hostname) \(appName) \(getpid()) \(record.type.rawValue) - ".utf8)
        out.append(contentsOf: line.last == 0x0A ? line.dropLast() : line[...])
        return out
    }

    public func write(_ line: [UInt8], record: AuditRecord) throws {
        let msg = message(line, record: record)
        var addr = address
        let sent = msg.withUnsafeBytes { buf in
            withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(socket, buf.baseAddress, buf.count, Int32(MSG_NOSIGNAL), $0,
                           socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
        }
        if sent < 0 { throw AuditError.write(.current) }
    }

    public func sync() throws {}
}
