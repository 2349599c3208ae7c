import Foundation
import Synchronization

/// Fans `PluginEvent`s out to every subscriber of `Supervisor.events`. A slow subscriber loses the
/// oldest events beyond its buffer rather than stalling the reactor. Once finished (the supervisor
/// shut down), every stream has ended and new subscriptions end at once.
final class EventHub: Sendable {
    private struct State {
        var subscribers: [UUID: AsyncStream<PluginEvent>.Continuation] = [:]
        var finished = false
    }
    private let state = Mutex(State())
    /// The number of subscribers, readable without the lock: most supervisors have none, and then an
    /// event is not worth building.
    private let subscriberCount = Atomic<Int>(0)
    var hasSubscribers: Bool { subscriberCount.load(ordering: .relaxed) > 0 }

    func subscribe(buffer: Int = 10_000) -> AsyncStream<PluginEvent> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<PluginEvent>.makeStream(bufferingPolicy: .bufferingNewest(buffer))
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            self.state.withLock { state in
                state.subscribers[id] = nil
                self.subscriberCount.store(state.subscribers.count, ordering: .relaxed)
            }
        }
        let added = state.withLock { state -> Bool in
            guard !state.finished else { return false }
            state.subscribers[id] = continuation
            subscriberCount.store(state.subscribers.count, ordering: .relaxed)
            return true
        }
        if !added { continuation.finish() }
        return stream
    }

    func emit(_ event: PluginEvent) {
        let targets = state.withLock { Array($0.subscribers.values) }
        for target in targets { target.yield(event) }
    }

    func finish() {
        let targets = state.withLock { state -> [AsyncStream<PluginEvent>.Continuation] in
            let all = Array(state.subscribers.values)
            state.subscribers.removeAll()
            subscriberCount.store(0, ordering: .relaxed)
            state.finished = true
            return all
        }
        for target in targets { target.finish() }
    }
}
