@testable import Cordon
import Testing

/// The reactor's timer heap: due timers in deadline order, cancellation, and a heap that stays
/// bounded however many timers are armed and cancelled (one per call to a worker).
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

    @Test func armingAndCancellingManyCallsKeepsTheHeapSmall() {
        // Each call arms a wall-time timer far in the future and cancels it when it answers.
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
