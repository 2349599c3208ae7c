import CCordonShims
import Synchronization

/// Where a call's completion, produced on the reactor thread, meets the task that made the call.
///
/// A call to a warm worker usually completes within microseconds. Suspending the caller for that
/// long costs more than the call: the reactor resumes the continuation, the runtime wakes a parked
/// thread of the caller's executor, and on a VM that wake-up alone takes from a few to tens of
/// microseconds. So the caller first waits briefly on its own thread (`spin`), and suspends only if
/// the completion has not arrived by then (`wait`). Either way exactly one side delivers the result:
/// the state moves under a lock from `pending` to `finished` (the reactor came first) or to
/// `waiting` (the caller suspended first), and the one that finds the other's state hands over.
final class CallRendezvous<Value: Sendable>: Sendable {
    private enum State {
        case pending
        case finished(Value)
        case waiting(CheckedContinuation<Value, Never>)
        case taken
    }

    private let state = Mutex(State.pending)
    /// Set after `finished`, so the spinning caller polls one word instead of taking the lock.
    private let ready = Atomic<Bool>(false)

    init() {}

    /// The reactor's side: delivers the completion, resuming the caller if it already suspended.
    func complete(_ value: Value) {
        let continuation = state.withLock { state -> CheckedContinuation<Value, Never>? in
            if case .waiting(let continuation) = state {
                state = .taken
                return continuation
            }
            state = .finished(value)
            return nil
        }
        ready.store(true, ordering: .releasing)
        continuation?.resume(returning: value)
    }

    /// Polls for the completion until `budget` has passed; returns it if it arrived.
    func spin(for budget: Duration) -> Value? {
        guard budget > .zero else { return nil }
        let deadline = ContinuousClock.now + budget
        var polls = 0
        while !ready.load(ordering: .acquiring) {
            cordon_cpu_relax()
            polls &+= 1
            // Reading the clock costs more than a poll: look at it every 16 polls.
            if polls & 15 == 0, ContinuousClock.now >= deadline { return nil }
        }
        return take()
    }

    /// Suspends until the completion arrives (returns at once if it already has).
    func wait() async -> Value {
        await withCheckedContinuation { (continuation: CheckedContinuation<Value, Never>) in
            let value = state.withLock { state -> Value? in
                if case .finished(let value) = state {
                    state = .taken
                    return value
                }
                state = .waiting(continuation)
                return nil
            }
            if let value { continuation.resume(returning: value) }
        }
    }

    private func take() -> Value? {
        state.withLock { state -> Value? in
            guard case .finished(let value) = state else { return nil }
            state = .taken
            return value
        }
    }
}

/// How long callers spin for a completion before they suspend, adapted to what calls take.
///
/// A spin that catches its completion keeps the budget; one that misses wastes the whole budget on
/// a core the worker or the reactor may have needed, so a miss halves the budget, down to zero,
/// and every `probeInterval`-th call spins the full ceiling again to find out whether calls have
/// become short again. A workload of long calls thus stops spinning after a few of them, and a
/// workload of short ones pays no suspension.
final class CallSpinBudget: Sendable {
    /// What a caller may spin at most: a warm call's round trip plus a scheduling hiccup.
    static let ceiling: Duration = .microseconds(40)
    static let probeInterval = 64

    private let nanoseconds: Atomic<Int>
    private let calls = Atomic<Int>(0)
    private let ceilingNanoseconds: Int

    init(ceiling: Duration = CallSpinBudget.ceiling) {
        let (seconds, attoseconds) = ceiling.components
        ceilingNanoseconds = max(0, Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
        nanoseconds = Atomic(ceilingNanoseconds)
    }

    /// The budget for the next call.
    func next() -> Duration {
        let probe = calls.wrappingAdd(1, ordering: .relaxed).oldValue % Self.probeInterval == 0
        return .nanoseconds(probe ? ceilingNanoseconds : nanoseconds.load(ordering: .relaxed))
    }

    /// Records whether a spin of `budget` caught its completion.
    func record(caught: Bool, budget: Duration) {
        guard budget > .zero else { return }
        if caught {
            nanoseconds.store(ceilingNanoseconds, ordering: .relaxed)
        } else {
            let current = nanoseconds.load(ordering: .relaxed)
            nanoseconds.store(current < 2_000 ? 0 : current / 2, ordering: .relaxed)
        }
    }
}
