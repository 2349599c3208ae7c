// A minimal mutex for the channel's private per-direction state. Not `Synchronization.Mutex`: on Linux
// that one asks the kernel for the thread id (gettid) and uses PI-futex operations, and the worker side
// of the channel must run under a seccomp allow-list of futex, write and getppid only. This lock uses
// nothing but atomics and plain FUTEX_WAIT/FUTEX_WAKE on private memory (Drepper, "Futexes Are Tricky").
import CCordonShims

/// A three-state futex lock: 0 unlocked, 1 locked, 2 locked with waiters.
final class FutexLock: @unchecked Sendable {
    private let word: UnsafeMutablePointer<UInt32>

    /// Creates an unlocked lock.
    init() {
        word = .allocate(capacity: 1)
        word.initialize(to: 0)
    }

    deinit { word.deallocate() }

    /// Acquires the lock, sleeping in the kernel only under contention.
    func lock() {
        if cordon_compare_exchange_u32(word, 0, 1) == 1 { return }
        // Mark "contended" and sleep until we are the one that swapped 0 → 2.
        while cordon_exchange_u32(word, 2) != 0 {
            _ = cordon_futex_wait(word, 2, -1)
        }
    }

    /// Releases the lock and wakes one waiter if there may be any.
    func unlock() {
        if cordon_exchange_u32(word, 0) == 2 {
            _ = cordon_futex_wake(word, 1)
        }
    }
}
