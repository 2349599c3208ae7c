#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A wall-clock instant with nanosecond precision, written as RFC 3339 UTC
/// (`2026-11-25T12:00:00.123456789Z`: always nine fractional digits, always `Z`).
///
/// Formatting is done by hand because it runs on every append and `DateFormatter` both allocates
/// and rounds to milliseconds.
public struct AuditTimestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public var seconds: Int64
    /// Nanoseconds within the second, 0..<1_000_000_000.
    public var nanoseconds: UInt32

    public init(seconds: Int64, nanoseconds: UInt32) {
        precondition(nanoseconds < 1_000_000_000)
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// The current time from `CLOCK_REALTIME`.
    public static func now() -> AuditTimestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return AuditTimestamp(seconds: Int64(ts.tv_sec), nanoseconds: UInt32(ts.tv_nsec))
    }

    /// The instant of a Foundation `Date` (sub-microsecond precision is whatever `Date` holds).
    public init(_ date: Date) {
        let t = date.timeIntervalSince1970
        var s = Int64(t.rounded(.down))
        var ns = Int64(((t - Double(s)) * 1e9).rounded())
        if ns >= 1_000_000_000 { s += 1; ns -= 1_000_000_000 }
        self.init(seconds: s, nanoseconds: UInt32(max(0, ns)))
    }

    /// This instant as a Foundation `Date`.
    public var date: Date {
        Date(timeIntervalSince1970: Double(seconds) + Double(nanoseconds) / 1e9)
    }

    public static func < (a: AuditTimestamp, b: AuditTimestamp) -> Bool {
        (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
    }

    /// RFC 3339 with nine fractional digits.
    public var description: String { String(decoding: rfc3339Bytes(), as: UTF8.self) }

    /// RFC 3339 truncated to whole seconds, for human-readable output.
    public var secondsDescription: String {
        let b = rfc3339Bytes()
        return String(decoding: b[0..<19], as: UTF8.self) + "Z"
    }

    /// Appends the RFC 3339 form to `out` without allocating.
    func appendRFC3339(to out: inout [UInt8]) {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secOfDay = seconds - days * 86_400
        let (y, m, d) = AuditTimestamp.civil(fromDays: days)
        func put(_ v: Int64, _ width: Int) {
            var div: Int64 = 1
            for _ in 1..<width { div *= 10 }
            var v = v
            while div > 0 {
                out.append(UInt8(ascii: "0") + UInt8(v / div % 10))
                v %= div
                div /= 10
            }
        }
        put(y, 4); out.append(UInt8(ascii: "-"))
        put(m, 2); out.append(UInt8(ascii: "-"))
        put(d, 2); out.append(UInt8(ascii: "T"))
        put(secOfDay / 3600, 2); out.append(UInt8(ascii: ":"))
        put(secOfDay / 60 % 60, 2); out.append(UInt8(ascii: ":"))
        put(secOfDay % 60, 2); out.append(UInt8(ascii: "."))
        put(Int64(nanoseconds), 9); out.append(UInt8(ascii: "Z"))
    }

    func rfc3339Bytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(30)
        appendRFC3339(to: &out)
        return out
    }

    /// Parses RFC 3339 in UTC (`Z` or `+00:00`), with 0–9 fractional digits. When `strict` is true
    /// only the exact form Cordon writes is accepted (nine fractional digits and `Z`).
    public init?(rfc3339 text: String, strict: Bool = false) {
        let b = Array(text.utf8)
        func num(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var v: Int64 = 0
            for k in from..<(from + count) {
                guard b[k] >= UInt8(ascii: "0"), b[k] <= UInt8(ascii: "9") else { return nil }
                v = v * 10 + Int64(b[k] - UInt8(ascii: "0"))
            }
            return v
        }
        guard b.count >= 20,
              let y = num(0, 4), b[4] == UInt8(ascii: "-"), let mo = num(5, 2), b[7] == UInt8(ascii: "-"),
              let d = num(8, 2), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
              let h = num(11, 2), b[13] == UInt8(ascii: ":"), let mi = num(14, 2), b[16] == UInt8(ascii: ":"),
              let s = num(17, 2),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 60
        else { return nil }
        var k = 19
        var ns: Int64 = 0
        var fractionDigits = 0
        if k < b.count, b[k] == UInt8(ascii: ".") {
            k += 1
            while k < b.count, b[k] >= UInt8(ascii: "0"), b[k] <= UInt8(ascii: "9") {
                guard fractionDigits < 9 else { return nil }
                ns = ns * 10 + Int64(b[k] - UInt8(ascii: "0"))
                fractionDigits += 1
                k += 1
            }
            guard fractionDigits > 0 else { return nil }
            for _ in fractionDigits..<9 { ns *= 10 }
        }
        let rest = String(decoding: b[k...], as: UTF8.self)
        if strict {
            guard fractionDigits == 9, rest == "Z" else { return nil }
        } else {
            guard rest == "Z" || rest == "z" || rest == "+00:00" || rest == "-00:00" else { return nil }
        }
        let days = AuditTimestamp.days(fromCivil: y, mo, d)
        // Reject dates like Feb 30 that would silently roll over.
        guard AuditTimestamp.civil(fromDays: days) == (y, mo, d) else { return nil }
        self.init(seconds: days * 86_400 + h * 3600 + mi * 60 + s, nanoseconds: UInt32(ns))
    }

    // Proleptic Gregorian calendar conversions (days relative to 1970-01-01), era-based so they
    // need no tables and work for any year.
    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
