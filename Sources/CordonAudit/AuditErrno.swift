#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A POSIX error number from a failed audit I/O call (`EIO`, `ENOSPC`, …).
public struct AuditErrno: Error, RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's current `errno`.
    static var current: AuditErrno { AuditErrno(rawValue: errno) }

    public static let ioError = AuditErrno(rawValue: EIO)
    public static let noSpace = AuditErrno(rawValue: ENOSPC)
    public static let badFileDescriptor = AuditErrno(rawValue: EBADF)

    /// `strerror` text with the number, e.g. `No space left on device (28)`.
    public var description: String {
        guard let s = strerror(rawValue) else { return "errno \(rawValue)" }
        return "\(String(cString: s)) (\(rawValue))"
    }
}
