@testable import Cordon
import Testing

/// The reactor's timer heap: due timers in deadline order, cancellation, and a heap that stays
/// bounded however many timers are armed and cancelled.
@Suite struct TimerQueueTests {
    let origin = ContinuousClock.now

    @Test func dueTimersComeOutEarliestFirstAndOnlyWhenDue() {
        var queue = TimerQueue<Int>()
        for (token, ms) in [(1, 30), (2, 10), (3, 20), (4, 10), (5, 50)] {
            queue.insert(token: UInt64(token), deadline: origin + .milliseconds(ms), job: ms)
        }
        #expect(queue.nextDeadline() == origin + .milliseconds(10))
        var fired: [Int] = []
        while let ms = queue.popDue(now: origin + .milliseconds(30)) { fired.append(ms) }
        #expect(fired == [10, 10, 20, 30])
        #expect(queue.count == 1)
        #expect(queue.popDue(now: origin + .milliseconds(49)) == nil)
        #expect(queue.popDue(now: origin + .milliseconds(50)) == 50)
        #expect(queue.isEmpty && queue.nextDeadline() == nil)
    }

    @Test func aCancelledTimerNeverFiresNorDecidesTheNextDeadline() {
        var queue = TimerQueue<String>()
        queue.insert(token: 1, deadline: origin + .milliseconds(5), job: "cancelled")
        queue.insert(token: 2, deadline: origin + .milliseconds(8), job: "kept")
        queue.remove(token: 1)
        queue.remove(token: 1)     // twice: ignored
        queue.remove(token: 99)    // never armed: ignored
        #expect(queue.nextDeadline() == origin + .milliseconds(8))
        #expect(queue.popDue(now: origin + .seconds(1)) == "kept")
        #expect(queue.popDue(now: origin + .seconds(1)) == nil)
    }

    @Test func cancellingTheTopAfterItWasLookedAtIsSeen() {
        // The top, once looked up, is not looked up again until the heap changes: a cancel is a change.
        var queue = TimerQueue<String>()
        queue.insert(token: 1, deadline: origin + .milliseconds(5), job: "first")
        queue.insert(token: 2, deadline: origin + .milliseconds(9), job: "second")
        #expect(queue.nextDeadline() == origin + .milliseconds(5))
        #expect(queue.popDue(now: origin) == nil)
        queue.remove(token: 1)
        #expect(queue.nextDeadline() == origin + .milliseconds(9))
        #expect(queue.popDue(now: origin + .milliseconds(6)) == nil)
        queue.insert(token: 3, deadline: origin + .milliseconds(1), job: "earlier")
        #expect(queue.nextDeadline() == origin + .milliseconds(1))
        queue.remove(token: 3)
        queue.remove(token: 2)
        #expect(queue.nextDeadline() == nil && queue.popDue(now: origin + .seconds(1)) == nil)
    }

    @Test func armingAndCancellingManyTimersKeepsTheHeapSmall() {
        // Timers armed far in the future and cancelled long before they are due, as restarts and
        // idle releases do.
        var queue = TimerQueue<Int>()
        queue.insert(token: 0, deadline: origin + .seconds(3600), job: -1)
        for token in 1...200_000 {
            queue.insert(token: UInt64(token), deadline: origin + .seconds(30) + .nanoseconds(token), job: token)
            if token % 4 != 0 { queue.remove(token: UInt64(token)) }
        }
        #expect(queue.count == 50_001)
        #expect(queue.heapCount <= 2 * queue.count + 64)
        var last = 0
        var order = true
        while let token = queue.popDue(now: origin + .seconds(60)) {
            if token <= last { order = false }
            last = token
        }
        #expect(order && last == 200_000)
        #expect(queue.count == 1 && queue.nextDeadline() == origin + .seconds(3600))
    }
}
