/// The reactor's timers: a binary min-heap of deadlines beside a table of live timers by token.
///
/// The reactor asks for the next deadline on every turn of its loop, and wall-time, load, restart and
/// idle timers come and go by the thousand on a busy supervisor. A turn costs O(1) when nothing is
/// due, arming O(log n), and cancelling O(1): the cancelled entry stays in the heap and is dropped
/// when it reaches the top, or when stale entries outnumber the live ones and the heap is rebuilt
/// (amortised O(1) per cancel), so the heap never grows past about twice its live timers.
struct TimerQueue<Job> {
    private struct Entry {
        let deadline: ContinuousClock.Instant
        let token: UInt64
    }

    private var heap: [Entry] = []
    private var live: [UInt64: (deadline: ContinuousClock.Instant, job: Job)] = [:]
    /// Whether the top of the heap is known to be live: most turns change nothing, and then the top
    /// needs no lookup in the table.
    private var topChecked = false

    /// Live timers.
    var count: Int { live.count }
    var isEmpty: Bool { live.isEmpty }
    /// Heap entries, live and stale: what the bound on stale entries is about.
    var heapCount: Int { heap.count }

    /// Arms `job` for `deadline` under `token`, a token never armed before.
    mutating func insert(token: UInt64, deadline: ContinuousClock.Instant, job: Job) {
        live[token] = (deadline, job)
        heap.append(Entry(deadline: deadline, token: token))
        siftUp(heap.count - 1)
    }

    /// Disarms `token`; a token that is not live (fired, cancelled, never armed) is ignored.
    mutating func remove(token: UInt64) {
        guard live.removeValue(forKey: token) != nil else { return }
        topChecked = false
        if heap.count > 64, heap.count > 2 * live.count { rebuild() }
    }

    /// The earliest live deadline.
    mutating func nextDeadline() -> ContinuousClock.Instant? {
        dropStaleTop()
        return heap.first?.deadline
    }

    /// Removes and returns the earliest live timer if its deadline is at or before `now`.
    mutating func popDue(now: ContinuousClock.Instant) -> Job? {
        dropStaleTop()
        guard let top = heap.first, top.deadline <= now else { return nil }
        removeTop()
        return live.removeValue(forKey: top.token)?.job
    }

    private mutating func dropStaleTop() {
        guard !topChecked else { return }
        // Tokens are never reused, so a token still live is this entry's own timer.
        while let top = heap.first, live.index(forKey: top.token) == nil { removeTop() }
        topChecked = true
    }

    private mutating func rebuild() {
        topChecked = false
        heap = live.map { Entry(deadline: $0.value.deadline, token: $0.key) }
        var index = heap.count / 2
        while index > 0 {
            index -= 1
            siftDown(index)
        }
    }

    private mutating func removeTop() {
        topChecked = false
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(0)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var smallest = left
            let right = left + 1
            if right < heap.count, heap[right].deadline < heap[left].deadline { smallest = right }
            guard heap[smallest].deadline < heap[parent].deadline else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
