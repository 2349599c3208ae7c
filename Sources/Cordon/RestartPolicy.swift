/// When and how a dead worker is replaced: OTP's intensity/period budget plus exponential backoff
/// with jitter, and a backoff reset after a healthy run (the part OTP and systemd lack).
public struct RestartPolicy: Sendable, Hashable {
    /// Which exits lead to a restart.
    public enum Mode: String, Sendable, Hashable { case never, onFailure = "on-failure", always }

    public var mode: Mode
    /// At most `intensity` restarts within `period`; one more and the plugin goes `failed`.
    public var intensity: Int
    public var period: Duration
    /// First backoff delay; doubled per consecutive restart up to `maximumBackoff`.
    public var initialBackoff: Duration
    public var maximumBackoff: Duration
    /// Fraction of the delay added at random (0…1), so restarts of many plugins do not align.
    public var jitter: Double
    /// A worker alive this long without failing resets the backoff to `initialBackoff`.
    public var healthyAfter: Duration

    public init(mode: Mode = .onFailure, intensity: Int = 5, period: Duration = .seconds(60),
                initialBackoff: Duration = .milliseconds(50), maximumBackoff: Duration = .seconds(10),
                jitter: Double = 0.2, healthyAfter: Duration = .seconds(30)) {
        self.mode = mode
        self.intensity = intensity
        self.period = period
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.jitter = min(max(jitter, 0), 1)
        self.healthyAfter = healthyAfter
    }

    /// The delay before restart number `consecutive` (1-based), before jitter.
    public func backoff(forConsecutiveRestart consecutive: Int) -> Duration {
        var delay = initialBackoff
        var n = 1
        while n < consecutive, delay < maximumBackoff {
            delay = delay * 2
            n += 1
        }
        return min(delay, maximumBackoff)
    }
}
