import Foundation
import Synchronization

/// The supervisor's second and last thread: it creates worker processes, one at a time, so the
/// reactor never sits in `clone(CLONE_VFORK)` + exec (about 1 ms each) while other workers wait for
/// replies. Results go back to the reactor with `Reactor.execute`.
///
/// It lives as long as the supervisor on purpose: PR_SET_PDEATHSIG fires when the *thread* that
/// cloned a child exits, so spawning from a short-lived pool thread would kill workers at random.
final class SpawnThread: @unchecked Sendable {
    private struct Job: @unchecked Sendable { let run: () -> Void }

    private let queue = Mutex<[Job]>([])
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let stopped = Atomic<Bool>(false)

    init() {
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "cordon-spawn"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Runs `job` on the spawn thread after the jobs queued before it. Safe from any thread.
    func execute(_ job: @escaping () -> Void) {
        queue.withLock { $0.append(Job(run: job)) }
        wake.signal()
    }

    /// Runs the jobs already queued, then ends the thread and waits for it. Workers it spawned and
    /// that are still alive get SIGKILL from the kernel (PDEATHSIG) when it ends.
    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        wake.signal()
        finished.wait()
    }

    private func run() {
        while true {
            wake.wait()
            while let job = queue.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { job.run() }
            if stopped.load(ordering: .acquiring) { break }
        }
        finished.signal()
    }
}
