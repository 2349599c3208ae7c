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
    /// A queued job: a closure, or a step of a task on this executor (kept as it is: wrapping each
    /// step in a closure cost an allocation per resumption of a caller on `Supervisor.executor`).
    private enum Job: @unchecked Sendable {
        case closure(() -> Void)
        case task(UnownedJob)
    }

    private let epollFD: CInt
    private let wakeFD: CInt
    private let queue = Mutex<[Job]>([])
    /// The queue's other buffer, swapped in as each turn takes the jobs (reactor thread only): taking
    /// them by copy would allocate a new buffer on every turn.
    private var spareJobs: [Job] = []
    private let stopped = Atomic<Bool>(false)
    /// The loop thread's `pthread_self()`: comparing it costs no system call, unlike `gettid`.
    private let threadHandle = Atomic<UInt>(0)
    private var handlers: [UInt64: (UInt32) -> Void] = [:]
    /// Watched fds whose input is polled in memory until the loop next sleeps (`poll(_:ready:arm:)`).
    private var polled: [(token: UInt64, ready: () -> Bool, arm: () -> Bool)] = []
    private var readyTokens: [UInt64] = []
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
        push(.task(UnownedJob(job)))
    }

    /// Whether the caller is the reactor thread.
    var isCurrent: Bool { threadHandle.load(ordering: .acquiring) == UInt(pthread_self()) }

    /// Runs `job` on the reactor thread, soon. Safe from any thread.
    func execute(_ job: @escaping () -> Void) {
        push(.closure(job))
    }

    private func push(_ job: Job) {
        queue.withLock { $0.append(job) }
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
        polled.removeAll { $0.token == token }
    }

    /// Until the loop next sleeps, learns of input on the watched fd `token` by calling `ready` (a
    /// look at shared memory) on every turn and every busy poll, instead of from epoll; before it
    /// sleeps it calls `arm`, which makes the fd report input again and returns false if there already
    /// is some. Either way the fd's handler runs with no events (0). Reactor thread only.
    ///
    /// For a worker that owes an answer within microseconds: it need not ring a doorbell (a system
    /// call, and a wake-up of the loop) when the loop is looking anyway.
    /// Returns false, and polls nothing, when `token` is not watched.
    @discardableResult
    func poll(_ token: UInt64, ready: @escaping () -> Bool, arm: @escaping () -> Bool) -> Bool {
        guard handlers[token] != nil else { return false }
        if !polled.contains(where: { $0.token == token }) { polled.append((token, ready, arm)) }
        return true
    }

    /// Runs the handlers of polled fds that have input; returns whether any ran.
    private func runPolledReady() -> Bool {
        guard !polled.isEmpty else { return false }
        // Called on every busy poll: the list of ready tokens is touched only when one is ready.
        var found = false
        var index = 0
        while index < polled.count {
            if polled[index].ready() {
                if !found { readyTokens.removeAll(keepingCapacity: true); found = true }
                readyTokens.append(polled[index].token)
                polled.swapAt(index, polled.count - 1)
                polled.removeLast()
            } else {
                index += 1
            }
        }
        guard found else { return false }
        for token in readyTokens { handlers[token]?(0) }
        return true
    }

    /// Before a sleep: arms every polled fd; runs the handlers of those that already have input and
    /// returns whether any did (then the loop must not sleep).
    private func armPolled() -> Bool {
        guard !polled.isEmpty else { return false }
        readyTokens.removeAll(keepingCapacity: true)
        for entry in polled where !entry.arm() { readyTokens.append(entry.token) }
        polled.removeAll(keepingCapacity: true)
        for token in readyTokens { handlers[token]?(0) }
        return !readyTokens.isEmpty
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
            // One reading of the clock serves the timers and the timeout: the loop turns once or
            // twice per call to a worker, and every reading counts at that rate. It is read again
            // after timers that ran: their jobs take time, and a stale reading would sleep past the
            // next deadline.
            var now: ContinuousClock.Instant? = timers.isEmpty ? nil : ContinuousClock.now
            if let turnStart = now, fireTimers(now: turnStart) { now = timers.isEmpty ? nil : ContinuousClock.now }
            let pending = !queue.withLock { $0.isEmpty }
            if stopped.load(ordering: .acquiring) && !pending { break }
            // Jobs queued by jobs (a drain that yielded) wait for this turn of epoll and the timers:
            // one chatty worker must not starve the others, nor the wall-time kill aimed at it.
            let timeout = pending ? 0 : nextTimeoutMilliseconds(now: now)
            var n: CInt = 0
            var ranPolled = false
            if timeout != 0, busy || ranJobs, busyPoll > .zero {
                // After a turn that did work, a reply is usually microseconds away (a worker answering
                // the message just sent): poll for it briefly rather than pay a sleep and a wake-up.
                // The clock and the queue are looked at every eighth poll, not every one.
                // Polled fds (a worker that owes an answer) are looked at in memory first: an answer
                // there is seen without a system call on either side.
                let deadline = (now ?? ContinuousClock.now) + busyPoll
                var polls = 0
                repeat {
                    if runPolledReady() { ranPolled = true; break }
                    // With a polled answer due, epoll (a system call) is asked every fourth poll only.
                    if polled.isEmpty || polls & 3 == 0 {
                        n = events.withUnsafeMutableBufferPointer { epoll_wait(epollFD, $0.baseAddress, 256, 0) }
                        if n != 0 { break }
                    }
                    cordon_cpu_relax()
                    polls &+= 1
                } while polls & 7 != 0 || (ContinuousClock.now < deadline && queue.withLock({ $0.isEmpty }))
            }
            if n == 0, !ranPolled {
                if timeout == 0 {
                    n = events.withUnsafeMutableBufferPointer { epoll_wait(epollFD, $0.baseAddress, 256, 0) }
                } else if runPolledReady() || armPolled() {
                    // Input arrived before the polled fds could be armed: its handler ran instead of
                    // the sleep, and what it queued runs on the next turn.
                    ranPolled = true
                } else {
                    n = events.withUnsafeMutableBufferPointer { epoll_wait(epollFD, $0.baseAddress, 256, timeout) }
                }
            }
            busy = n > 0 || ranPolled
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
            // A busy loop (jobs pending every turn) never sleeps, so never arms: polled fds are
            // looked at on every turn too.
            if runPolledReady() { busy = true }
        }
        // A later thread may get the same pthread_t: it must not pass for the reactor.
        threadHandle.store(0, ordering: .releasing)
        finished.signal()
    }

    /// Runs the jobs queued before this call (jobs they queue run on the next turn of the loop);
    /// returns whether there were any.
    private func drainJobs() -> Bool {
        var jobs: [Job] = []
        swap(&jobs, &spareJobs)
        queue.withLock { swap(&$0, &jobs) }
        let ran = !jobs.isEmpty
        for job in jobs {
            switch job {
            case .closure(let run): run()
            case .task(let step): step.runSynchronously(on: asUnownedTaskExecutor())
            }
        }
        jobs.removeAll(keepingCapacity: true)
        spareJobs = jobs
        return ran
    }

    /// Runs the timers due at `now`, earliest first; at most as many as were armed when the turn began,
    /// so timers that keep arming due timers cannot hold the loop from epoll.
    /// Returns whether any ran.
    private func fireTimers(now: ContinuousClock.Instant) -> Bool {
        var budget = timers.count
        let armed = budget
        while budget > 0, let job = timers.popDue(now: now) {
            budget -= 1
            job()
        }
        return budget != armed
    }

    /// Milliseconds until the next timer (at most a second), from `now` (nil: no timers are armed).
    private func nextTimeoutMilliseconds(now: ContinuousClock.Instant?) -> CInt {
        guard let now, let next = timers.nextDeadline() else { return 1000 }
        let remaining = now.duration(to: next)
        if remaining <= .zero { return 0 }
        let (seconds, attos) = remaining.components
        let ms = seconds * 1000 + attos / 1_000_000_000_000_000 + 1
        return CInt(min(ms, 1000))
    }
}
