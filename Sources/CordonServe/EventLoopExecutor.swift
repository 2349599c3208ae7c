import NIOCore
import NIOPosix

/// A task executor backed by NIO's event loops: the daemon's request handling runs on the threads
/// that read and write its sockets, instead of on Swift's cooperative pool.
///
/// Why: on the cooperative pool, every request crosses threads twice more than it must — the event
/// loop that parsed it wakes a pool thread to run the handler, and the handler's response wakes the
/// event loop to write it. On a VM each wake-up costs tens of microseconds, which was most of what
/// HTTP added to a call (docs/performance.md, "Daemon"). Handlers never block: they await the
/// supervisor, the state database (GRDB's async API) and the request body.
final class EventLoopExecutor: TaskExecutor {
    /// nil: the event loop the job is enqueued from, if it is one of the group's, else the next.
    private let loop: (any EventLoop)?
    private let group: MultiThreadedEventLoopGroup

    /// Any loop of `group`: the current one when enqueued from one of them (no hand-off at all).
    init(group: MultiThreadedEventLoopGroup) {
        self.group = group
        self.loop = nil
    }

    /// Exactly `loop`: a handler that awaits the supervisor resumes on its connection's loop, which
    /// then writes the response without another hand-off.
    init(pinnedTo loop: any EventLoop, of group: MultiThreadedEventLoopGroup) {
        self.group = group
        self.loop = loop
    }

    /// The loop the caller runs on, pinned, in this executor's group; nil when the caller is not on
    /// one of the group's loops. Derived from the server-wide executor, so a pinned executor can
    /// never name a group other than the one whose loops serve the sockets.
    func pinnedToCurrentLoop() -> EventLoopExecutor? {
        guard let current = MultiThreadedEventLoopGroup.currentEventLoop,
              group.makeIterator().contains(where: { $0 === current }) else { return nil }
        return EventLoopExecutor(pinnedTo: current, of: group)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let target = loop ?? group.any()
        target.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
