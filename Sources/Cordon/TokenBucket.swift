/// A token bucket: `rate` tokens per second, holding at most one second's worth. Reactor-thread only.
struct TokenBucket {
    let rate: Double
    private var tokens: Double
    private var last: ContinuousClock.Instant

    init(perSecond rate: UInt32) {
        self.rate = Double(rate)
        self.tokens = Double(rate)
        self.last = .now
    }

    /// Takes `amount` tokens if available.
    mutating func take(_ amount: Double = 1) -> Bool {
        let now = ContinuousClock.now
        let elapsed = last.duration(to: now)
        last = now
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        tokens = min(rate, tokens + seconds * rate)
        guard tokens >= amount else { return false }
        tokens -= amount
        return true
    }
}
