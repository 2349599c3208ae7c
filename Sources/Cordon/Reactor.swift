import CCordonShims
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The supervisor's one event-loop thread: epoll over every worker's doorbell eventfd, pidfd and
/// seccomp listener, plus timers and a job queue. All worker and plugin state is touched only on
/// this thread, so it needs no locks; other threads hand it work with `execute`.
///
/// It is also the thread that spawns workers: PR_SET_PDEATHSIG fires when the *thread* that forked
/// the child exits, so spawning from a short-lived pool thread would kill workers at random.
final class Reactor: TaskExecutor, @unchecked Sendable {
    private struct Job: @unchecked Sendable { let run: () -> Void }

    private let epollFD: CInt
    private let wakeFD: CInt
    private let queue = Mutex<[Job]>([])
    private let stopped = Atomic<Bool>(false)
    /// The loop thread's `pthread_self()`: comparing it costs no system call, unlike `gettid`.
    private let threadHandle = Atomic<UInt>(0)
    private var handlers: [UInt64: (UInt32) -> Void] = [:]
    private var timers = TimerQueue<() -> Void>()
    private var nextToken: UInt64 = 1
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    private let busyPoll: Duration
    /// Turns of the loop so far: what a test reads to tell an idle reactor from a spinning one.
    private let turnCount = Atomic<UInt64>(0)
    var turns: UInt64 { turnCount.load(ordering: .relaxed) }

    init(busyPoll: Duration = .zero) throws(CordonError) {
        self.busyPoll = busyPoll
        epollFD = epoll_create1(CInt(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw .spawnFailed(step: "epoll_create1", errno: errno) }
        wakeFD = eventfd(0, CInt(EFD_CLOEXEC | EFD_NONBLOCK))
        guard wakeFD >= 0 else { close(epollFD); throw .spawnFailed(step: "eventfd", errno: errno) }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = 0
        _ = epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event)
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "cordon-reactor"
        thread.stackSize = 1 << 20
        self.thread = thread
        thread.start()
    }

    deinit {
        close(epollFD)
        close(wakeFD)
    }

    /// As a `TaskExecutor`, the reactor runs a task's jobs among its own (`HostExecution.reactor`).
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        execute { [unowned self] in job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// Whether the caller is the reactor thread.
    var isCurrent: Bool { threadHandle.load(ordering: .acquiring) == UInt(pthread_self()) }

    /// Runs `job` on the reactor thread, soon. Safe from any thread.
    func execute(_ job: @escaping () -> Void) {
        queue.withLock { $0.append(Job(run: job)) }
        // The loop drains the queue before it sleeps again, so a job queued by the loop itself (a task
        // on `Supervisor.executor` resuming, a handler's follow-up) needs no wake-up write.
        if isCurrent { return }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    /// Runs `job` at once when the caller is the reactor thread, else queues it like `execute`.
    ///
    /// Running inline is safe because a caller on the reactor thread is already inside one reactor
    /// job (a handler, a timer, a drained job or a task step on the reactor executor), between two
    /// turns of the loop: nothing else touches the reactor's state meanwhile, so `job` sees what a
    /// queued job would, without the queue and the turn it waits for. It runs nested in the caller's
    /// job, so call this as that job's last step, with no state of the caller's left half-updated.
    func runNowOrQueue(_ job: @escaping () -> Void) {
        if isCurrent { job() } else { execute(job) }
    }

    /// Watches `fd` for `events` (EPOLLIN etc.); reactor thread only. Returns a token for `unwatch`.
    func watch(_ fd: CInt, events: UInt32, handler: @escaping (UInt32) -> Void) -> UInt64? {
        let token = nextToken
        nextToken += 1
        var event = epoll_event()
        event.events = events
        event.data.u64 = token
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) == 0 else { return nil }
        handlers[token] = handler
        return token
    }

    /// Gives a watched fd a new handler (no epoll_ctl); reactor thread only. False if `token` is not watched.
    func replaceHandler(_ token: UInt64?, handler: @escaping (UInt32) -> Void) -> Bool {
        guard let token, handlers[token] != nil else { return false }
        handlers[token] = handler
        return true
    }

    /// Stops watching; reactor thread only. Call before closing the fd.
    func unwatch(_ fd: CInt, token: UInt64?) {
        guard let token else { return }
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil)
        handlers[token] = nil
    }

    /// Runs `job` on the reactor thread at `deadline`; reactor thread only. Returns a cancel token.
    @discardableResult
    func schedule(at deadline: ContinuousClock.Instant, _ job: @escaping () -> Void) -> UInt64 {
        let token = nextToken
        nextToken += 1
        timers.insert(token: token, deadline: deadline, job: job)
        return token
    }

    /// Cancels a timer; reactor thread only.
    func cancel(timer token: UInt64?) {
        if let token { timers.remove(token: token) }
    }

    /// Ends the loop after the jobs already queued, and waits for the thread to finish.
    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        execute {}
        if !isCurrent { finished.wait() }
    }

    private func run() {
        threadHandle.store(UInt(pthread_self()), ordering: .releasing)
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        var busy = false
        while true {
            turnCount.add(1, ordering: .relaxed)
            let ranJobs = drainJobs()
            fireTimers()
            let pending = !queue.withLock { $0.isEmpty }
            if stopped.load(ordering: .acquiring) && !pending { break }
            // Jobs queued by jobs (a drain that yielded) wait for this turn of epoll and the timers:
            // one chatty worker must not starve the others, nor the wall-time kill aimed at it.
            let timeout = pending ? 0 : nextTimeoutMilliseconds()
            var n: CInt = 0
            if timeout != 0, busy || ranJobs, busyPoll > .zero {
                // After a turn that did work, a reply is usually microseconds away (a worker answering
                // the message just sent): poll for it briefly rather than pay a sleep and a wake-up.
                let deadline = ContinuousClock.now + busyPoll
                repeat {
                    n = events.withUnsafeMutableBufferPointer { epoll_wait(epollFD, $0.baseAddress, 256, 0) }
                    if n != 0 { break }
                    cordon_cpu_relax()
                } while ContinuousClock.now < deadline && queue.withLock({ $0.isEmpty })
            }
            if n == 0 {
                n = events.withUnsafeMutableBufferPointer { epoll_wait(epollFD, $0.baseAddress, 256, timeout) }
            }
            busy = n > 0
            if n < 0 { continue }   // EINTR
            for i in 0..<Int(n) {
                let token = events[i].data.u64
                if token == 0 {
                    var value: UInt64 = 0
                    _ = read(wakeFD, &value, 8)
                    continue
                }
                // A handler may unwatch another token of this batch; a missing handler is skipped.
                handlers[token]?(events[i].events)
            }
        }
        // A later thread may get the same pthread_t: it must not pass for the reactor.
        threadHandle.store(0, ordering: .releasing)
        finished.signal()
    }

    /// Runs the jobs queued before this call (jobs they queue run on the next turn of the loop);
    /// returns whether there were any.
    private func drainJobs() -> Bool {
        let jobs = queue.withLock { q -> [Job] in
            let taken = q
            q.removeAll(keepingCapacity: true)
            return taken
        }
        for job in jobs { job.run() }
        return !jobs.isEmpty
    }

    /// Runs the timers due now, earliest first; at most as many as were armed when the turn began, so
    /// timers that keep arming due timers cannot hold the loop from epoll.
    private func fireTimers() {
        guard !timers.isEmpty else { return }
        let now = ContinuousClock.now
        var budget = timers.count
        while budget > 0, let job = timers.popDue(now: now) {
            budget -= 1
            job()
        }
    }

    private func nextTimeoutMilliseconds() -> CInt {
        guard let next = timers.nextDeadline() else { return 1000 }
        let remaining = ContinuousClock.now.duration(to: next)
        if remaining <= .zero { return 0 }
        let (seconds, attos) = remaining.components
        let ms = seconds * 1000 + attos / 1_000_000_000_000_000 + 1
        return CInt(min(ms, 1000))
    }
}
