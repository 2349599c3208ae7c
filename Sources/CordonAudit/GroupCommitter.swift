import Dispatch
import Foundation
import Synchronization

/// The background thread that fsyncs batches in `.groupCommit` mode.
///
/// It holds the log weakly and wakes on a semaphore (signalled when a batch starts or fills) or on
/// a timeout (the batch's deadline), so an `AuditLog` that is dropped without `close()` still lets
/// the thread end.
final class GroupCommitter: Sendable {
    let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)

    /// Starts the thread; `commit` runs one commit if due and returns how long to sleep next, or
    /// nil when its log is gone.
    func start(_ commit: @escaping @Sendable () -> Duration?) {
        let thread = Thread { [self] in
            var sleep: Duration = .milliseconds(100)
            while !stopping.load(ordering: .acquiring) {
                let (s, atto) = sleep.components
                let nanos = max(0, s * 1_000_000_000 + atto / 1_000_000_000)
                _ = wake.wait(timeout: .now() + .nanoseconds(Int(min(nanos, 1_000_000_000))))
                if stopping.load(ordering: .acquiring) { break }
                guard let next = commit() else { break }
                sleep = next
            }
            finished.signal()
        }
        thread.name = "cordon-audit-commit"
        thread.start()
    }

    /// Nudges the thread to re-check (a batch started or became full).
    func signal() { wake.signal() }

    /// Stops the thread and waits for it to exit.
    func stop() {
        if stopping.exchange(true, ordering: .acquiringAndReleasing) { return }
        wake.signal()
        finished.wait()
    }

    /// Stops without waiting (from `deinit`, possibly on the committer thread itself).
    func stopDetached() {
        stopping.store(true, ordering: .releasing)
        wake.signal()
    }
}
