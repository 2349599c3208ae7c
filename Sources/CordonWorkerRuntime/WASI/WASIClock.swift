// The WASI clocks, served in the worker. Realtime and monotonic come from the vDSO (no system call);
// the CPU-time clocks fall back to the clock_gettime system call, which the default policy allows.
// Every reading is rounded down to the policy's resolution: coarse clocks blunt timing side channels
// (cache probing, Spectre-style gadgets) that a plugin could otherwise build from fine timestamps.
#if canImport(Glibc)
import Glibc
#endif

/// Reads WASI clocks at a fixed resolution.
struct WASIClock {
    /// Nanoseconds every reading is a multiple of (≥ 1).
    let resolution: UInt64

    init(resolutionNanoseconds: UInt64) {
        resolution = max(resolutionNanoseconds, 1)
    }

    /// The kernel clock for a WASI `clockid` (0 realtime, 1 monotonic, 2 process CPU, 3 thread CPU).
    static func kernelClock(_ id: UInt32) -> clockid_t? {
        switch id {
        case 0: CLOCK_REALTIME
        case 1: CLOCK_MONOTONIC
        case 2: CLOCK_PROCESS_CPUTIME_ID
        case 3: CLOCK_THREAD_CPUTIME_ID
        default: nil
        }
    }

    /// The unrounded time of a kernel clock in nanoseconds, or nil when the kernel refuses it.
    static func exactNanoseconds(_ clock: clockid_t) -> UInt64? {
        var spec = timespec()
        guard clock_gettime(clock, &spec) == 0, spec.tv_sec >= 0, spec.tv_nsec >= 0 else { return nil }
        let (seconds, overflow) = UInt64(spec.tv_sec).multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return nil }
        return seconds &+ UInt64(spec.tv_nsec)
    }

    /// The time of WASI clock `id`, rounded down to the resolution; nil for an unknown clock (EINVAL).
    func now(_ id: UInt32) -> UInt64? {
        guard let clock = Self.kernelClock(id), let exact = Self.exactNanoseconds(clock) else { return nil }
        return exact - exact % resolution
    }
}
