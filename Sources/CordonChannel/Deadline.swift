// Monotonic deadlines for waits. CLOCK_MONOTONIC is read through the vDSO, so the worker does not make
// a system call for it (the worker's seccomp allow-list is futex/write/getppid); the worker only reads
// the clock when it was given a finite timeout.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A point on CLOCK_MONOTONIC (nanoseconds), or "never" for waits without a timeout.
struct Deadline {
    /// Absolute nanoseconds, nil when the wait has no timeout.
    let nanoseconds: UInt64?

    /// Now on CLOCK_MONOTONIC in nanoseconds.
    static func now() -> UInt64 {
        var ts = timespec()
        _ = clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// A deadline `timeout` from now (nil: never); negative timeouts mean "already expired".
    init(_ timeout: Duration?) {
        guard let timeout else {
            nanoseconds = nil
            return
        }
        let (seconds, attoseconds) = timeout.components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) {
            nanoseconds = 0
            return
        }
        // Clamp absurd timeouts (centuries) instead of overflowing.
        let ns = seconds >= 1 << 32 ? UInt64(1) << 62
            : UInt64(seconds) * 1_000_000_000 + UInt64(max(0, attoseconds / 1_000_000_000))
        nanoseconds = Self.now() &+ ns
    }

    /// Nanoseconds left (0 when expired), or nil when the deadline is "never".
    func remaining() -> UInt64? {
        guard let nanoseconds else { return nil }
        let now = Self.now()
        return nanoseconds > now ? nanoseconds - now : 0
    }
}
