/// The durations of a plugin's most recent calls, in a fixed ring: `PluginMetrics.p99CallDuration`
/// is computed from it, and its memory stays `capacity` values however many calls a plugin serves.
struct CallDurations {
    static let capacity = 1024
    private var ring: [Duration] = []
    private var next = 0

    mutating func record(_ duration: Duration) {
        if ring.count < Self.capacity {
            ring.append(duration)
        } else {
            ring[next] = duration
        }
        next = (next + 1) % Self.capacity
    }

    /// The nearest-rank `fraction` quantile (0 < fraction ≤ 1), or zero without any call.
    func quantile(_ fraction: Double) -> Duration {
        guard !ring.isEmpty else { return .zero }
        let sorted = ring.sorted()
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}
