import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The `Date` header's value (RFC 9110's IMF-fixdate), formatted at most once a second and shared
/// by every connection.
final class HTTPDateHeader: Sendable {
    private let cached = Mutex<(second: time_t, text: String)>((-1, ""))

    var value: String {
        let now = time(nil)
        return cached.withLock { cache in
            if cache.second != now { cache = (now, Self.format(now)) }
            return cache.text
        }
    }

    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func format(_ t: time_t) -> String {
        var t = t
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
