import Foundation
import Synchronization

/// Fans `PluginEvent`s out to every subscriber of `Supervisor.events`. A slow subscriber loses the
/// oldest events beyond its buffer rather than stalling the reactor.
final class EventHub: Sendable {
    private let subscribers = Mutex<[UUID: AsyncStream<PluginEvent>.Continuation]>([:])

    func subscribe(buffer: Int = 10_000) -> AsyncStream<PluginEvent> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<PluginEvent>.makeStream(bufferingPolicy: .bufferingNewest(buffer))
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        subscribers.withLock { $0[id] = continuation }
        return stream
    }

    func emit(_ event: PluginEvent) {
        let targets = subscribers.withLock { Array($0.values) }
        for target in targets { target.yield(event) }
    }

    func finish() {
        let targets = subscribers.withLock { s -> [AsyncStream<PluginEvent>.Continuation] in
            let all = Array(s.values)
            s.removeAll()
            return all
        }
        for target in targets { target.finish() }
    }
}
