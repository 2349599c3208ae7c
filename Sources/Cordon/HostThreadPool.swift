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

    /// The number of threads; at most this many host calls block at once.
    public let threadCount: Int

    /// Starts `threads` threads (at least one) named `name-N`.
    public init(threads: Int, name: String = "cordon-host") {
        threadCount = max(1, threads)
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
        available.signal()
    }

    private func serve() -> Never {
        let executor = asUnownedTaskExecutor()
        while true {
            available.wait()
            // One signal per job, so a job is there; FIFO keeps a burst of calls in arrival order.
            guard let job = jobs.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { continue }
            job.runSynchronously(on: executor)
        }
    }

    public static func == (lhs: HostThreadPool, rhs: HostThreadPool) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
