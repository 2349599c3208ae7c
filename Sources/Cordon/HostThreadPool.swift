import CCordonShims
import Foundation
import Synchronization

/// A fixed set of threads for host functions that block (blocking file or socket I/O, locks, long
/// computation): they hold these threads, never the supervisor's reactor or Swift's cooperative pool,
/// which has one thread per core and never grows. Use it with `HostExecution.threads(_:)`.
///
/// A task running here resumes here after every suspension. The threads run for the life of the
/// process, so create one pool per application (or per class of host), not one per plugin.
public final class HostThreadPool: TaskExecutor, Hashable, @unchecked Sendable {
    private let jobs = Mutex<[UnownedJob]>([])
    private let available = DispatchSemaphore(value: 0)

    /// Jobs queued and not yet taken: lets a spinning thread poll one word instead of the lock.
    private let queued = Atomic<Int>(0)

    /// The number of threads; at most this many host calls block at once.
    public let threadCount: Int
    /// How long a thread that ran a job polls for the next before it sleeps.
    public let spin: Duration

    /// Starts `threads` threads (at least one) named `name-N`. A thread that finished a job polls for
    /// the next one for `spin` before it sleeps: a plugin calling host functions in a loop sends the
    /// next call within microseconds, and catching it costs no thread wake-up (tens of µs on a VM).
    /// The price is up to `spin` of CPU per thread after each burst; zero never polls.
    public init(threads: Int, name: String = "cordon-host", spin: Duration = .microseconds(50)) {
        threadCount = max(1, threads)
        self.spin = max(.zero, spin)
        for index in 0..<threadCount {
            // The threads keep the pool alive: a job may still name it as its executor.
            let thread = Thread { [self] in self.serve() }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        jobs.withLock { $0.append(job) }
        queued.add(1, ordering: .releasing)
        // One signal per job. A spinning thread may take the job first; the waiter that this signal
        // then wakes finds the queue empty and waits again.
        available.signal()
    }

    private func serve() -> Never {
        let executor = asUnownedTaskExecutor()
        var ranJob = false
        while true {
            if !(ranJob && poll()) { available.wait() }
            // FIFO keeps a burst of calls in arrival order.
            guard let job = take() else { ranJob = false; continue }
            job.runSynchronously(on: executor)
            ranJob = true
        }
    }

    private func take() -> UnownedJob? {
        jobs.withLock { jobs -> UnownedJob? in
            guard !jobs.isEmpty else { return nil }
            queued.subtract(1, ordering: .relaxed)
            return jobs.removeFirst()
        }
    }

    /// Polls for a queued job for up to `spin`; true when one is there.
    private func poll() -> Bool {
        guard spin > .zero else { return false }
        let deadline = ContinuousClock.now + spin
        var polls = 0
        while queued.load(ordering: .acquiring) == 0 {
            cordon_cpu_relax()
            polls &+= 1
            if polls & 15 == 0, ContinuousClock.now >= deadline { return false }
        }
        return true
    }

    public static func == (lhs: HostThreadPool, rhs: HostThreadPool) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
