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

    func subscribe(buffer: Int = 10_000) -> AsyncStream<PluginEvent> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<PluginEvent>.makeStream(bufferingPolicy: .bufferingNewest(buffer))
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        let added = state.withLock { state -> Bool in
            guard !state.finished else { return false }
            state.subscribers[id] = continuation
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
            state.finished = true
            return all
        }
        for target in targets { target.finish() }
    }
}
